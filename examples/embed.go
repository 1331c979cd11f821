// Package examples embeds the demo account that `iamprune demo` runs
// offline: an Access Analyzer snapshot of account 111122223333 in the
// snapshot folder format of docs/snapshots.md (demo/snapshot), with its configuration
// (demo/iamprune.yaml), exceptions (demo/exceptions.yaml), a
// reference-workshop allowlist (demo/allowlist.txt) and the configuration of
// the least-privilege walkthrough (demo/least-privilege.yaml). README.md lists the
// plan entry each principal is expected to produce.
package examples

import "embed"

// Demo holds the demo directory; paths inside start with "demo/".
//
//go:embed demo
var Demo embed.FS

// Paths of the demo files inside Demo.
const (
	DemoSnapshotDir = "demo/snapshot"
	DemoConfig      = "demo/iamprune.yaml"
	DemoExceptions  = "demo/exceptions.yaml"
	DemoAllowlist   = "demo/allowlist.txt"
)
