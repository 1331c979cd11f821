// Command iamprune closes the loop on IAM Access Analyzer unused-access
// findings: it plans, and later applies and rolls back, remediation.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// In Lambda the binary is the bootstrap: serve the runtime, not the CLI.
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		NewMain().serveLambda(ctx) // returns only if the runtime fails
		stop()
		os.Exit(exitProblems)
	}
	code := NewMain().Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
