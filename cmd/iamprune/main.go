// Command iamprune closes the loop on IAM Access Analyzer unused-access
// findings: it plans, and later applies and rolls back, remediation.
//
// It parses flags, builds the app package's use cases and renders their
// results; nothing imports it (docs/architecture.md).
package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iamprune/iamprune/internal/yamlnode"
)

func main() {
	ctx, stop := signalContext(context.Background())
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

// signalContext returns a context cancelled by the first SIGINT or SIGTERM,
// with an *interrupted cause naming the signal, so that Run can stop the
// command and exit 130 or 143. A second signal exits at once.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			sig, _ := s.(syscall.Signal)
			cancel(&interrupted{sig: sig})
		case <-done:
			return
		}
		select {
		case s := <-ch:
			sig, _ := s.(syscall.Signal)
			os.Exit(128 + int(sig))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// flagError makes a flag error bad usage, suggesting the nearest flag of
// the command for an unknown one: --confg -> did you mean --config?
func flagError(c *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return usageError{err}
	}
	var names []string
	c.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	c.InheritedFlags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	if s := yamlnode.Suggest(name, names); s != "" {
		return usagef("%v (did you mean --%s?)", err, s)
	}
	return usagef("%v ('%s --help' lists the flags)", err, c.CommandPath())
}
