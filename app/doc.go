// Package app holds iamprune's use cases: load the inputs, open a session
// across accounts, plan, apply (then notify, then propose), notify, and
// roll back. The CLI, the Lambda function and the queue worker share them.
//
// Its inputs and outputs are domain values and interfaces. It reads no
// flags and no process environment: the environment (Getenv, the clock,
// the logger, the AWS configuration loader and retry policy, the streams
// consent is asked on) is injected, so that tests run in parallel.
//
// Who imports whom: only the commands (cmd/...) import app. app imports the
// root package and the packages it orchestrates (decide, apply, remediate,
// awsapi, notify, gitops, snapshot, config, exceptions, catalog, policy,
// audit); it never imports cmd, and nothing below it imports app.
package app
