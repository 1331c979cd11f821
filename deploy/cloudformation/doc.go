// Package cloudformation holds iamprune's CloudFormation templates
// (iamprune.yaml, the stack; member-role.yaml, the member-account role a
// StackSet deploys) and, in actions.go, the table of AWS calls the code
// makes with the IAM actions that authorise them.
//
// The templates are data, not code; the package's tests are what keeps
// them honest. They parse both templates, resolve every reference, check
// the security-relevant properties, and require the roles to allow exactly
// the actions of the table, which other tests derive from the code: the
// methods of remediate.IAMAPI and notify.SNSPublisher by reflection, and
// the calls the readers make against the emulator.
package cloudformation
