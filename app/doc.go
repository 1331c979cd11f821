// Package app holds iamprune's use cases: load the inputs, open a session
// across accounts, plan, apply (then notify, then propose), notify, and
// roll back. The CLI, the Lambda function and the queue worker share them.
//
// Its inputs and outputs are domain values and interfaces. It reads no
// flags and no process environment: Env injects Getenv, the clock, the
// logger and the AWS configuration loader, so that tests run in parallel;
// consent is a hook the caller supplies (the CLI shows the plan and asks),
// and the state store is opened by the caller.
//
// Who imports whom: only the commands (cmd/...) and demo import app. app
// imports the root package and the packages it orchestrates: decide, apply, remediate,
// awsapi, notify, gitops, snapshot, config, exceptions, catalog, policy,
// audit, and render only for the plan a pull request describes. It never
// imports cmd, nor anything that parses flags or reads the process
// environment, and no package below it imports app.
//
// One file per use case: inputs.go (config, exceptions, clock), session.go
// (credentials, caller, member accounts), plan.go, apply.go (with
// propose.go and notify.go), rollback.go, history.go, holds.go,
// unlock.go, handle.go (one finding event, with the de-duplication memory
// and the per-invocation fact cache, for the Lambda function and the
// worker), sweep.go, exceptions_check.go and exceptions_sync.go (behind
// the ArchiveRules and Publisher interfaces). function.go reads the Lambda
// function's environment into an invocation and queue.go processes the
// worker's messages, both through handle.go. store.go opens the state
// store, planfile.go saves and loads plans. env.go holds what a use case
// may take from the process.
package app
