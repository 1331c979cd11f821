// Package snapshot reads the offline snapshot folder (docs/snapshots.md):
// what `aws iam get-account-authorization-details`, `aws accessanalyzer
// get-finding-v2` and their siblings print, merged, one file each, and
// converts it to the domain's findings and facts. A snapshot is both a
// FindingSource and a FactSource, so a plan can be made offline, and the
// emulator serves one over the AWS wire protocols. Errors name the file and
// the line.
//
// It imports the root, policy and internal packages; the emulator, app and
// cmd import it.
package snapshot
