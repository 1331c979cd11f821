package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/internal/version"
)

// Exit codes, the same for every command.
const (
	exitOK       = 0
	exitProblems = 1
	exitInvalid  = 2
)

// Main holds the process's streams and dependencies, so that tests can run
// the whole CLI in-process.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Now    func() time.Time
	// StderrIsTerminal enables progress output.
	StderrIsTerminal bool
	// StdinIsTerminal allows apply and rollback to ask for consent.
	StdinIsTerminal bool
	// LoadAWS, when set, replaces the AWS configuration of the standard
	// chain (profile, region, AWS_* variables): tests reach an emulator
	// without touching the process environment, and so run in parallel.
	LoadAWS app.LoadAWS

	logger *slog.Logger
	// Global flags.
	logFormat string
	logLevel  string
	profile   string
	region    string
	// maxRetries is --max-retries, when maxRetriesSet.
	maxRetries    int
	maxRetriesSet bool
	// drained is set by a worker that stopped on a signal as it should, by
	// draining: that is its normal end, so it exits 0, not 130 or 143.
	drained bool

	// policy is the AWS retry policy and rate limiters of the process.
	policyOnce sync.Once
	policy     *awsapi.Policy
}

// NewMain returns a Main wired to the real process.
func NewMain() *Main {
	return &Main{
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		Getenv:           os.Getenv,
		Now:              time.Now,
		StderrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		StdinIsTerminal:  term.IsTerminal(int(os.Stdin.Fd())),
	}
}

// errProblems is returned by commands that ran but found problems (exit 1).
var errProblems = errors.New("problems found")

// interrupted is the cause of a context cancelled by a signal.
type interrupted struct{ sig syscall.Signal }

func (e *interrupted) Error() string {
	return fmt.Sprintf("interrupted by %s: stopped; what was done is journaled", signalName(e.sig))
}

// exitCode is the shell's convention: 128 + the signal number (130 for
// SIGINT, 143 for SIGTERM).
func (e *interrupted) exitCode() int { return 128 + int(e.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// Run executes the CLI with args and returns the process exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	root := m.rootCommand()
	root.SetArgs(args)
	root.SetIn(m.Stdin)
	err := root.ExecuteContext(ctx)
	// Interrupted: whatever the command made of it, the run stopped early.
	var intr *interrupted
	if errors.As(context.Cause(ctx), &intr) && !(err == nil && m.drained) {
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, errProblems) {
			fmt.Fprintf(m.Stderr, "iamprune: %v\n", err)
		}
		fmt.Fprintf(m.Stderr, "iamprune: %v\n", intr)
		return intr.exitCode()
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errProblems):
		return exitProblems
	}
	fmt.Fprintf(m.Stderr, "iamprune: %v\n", err)
	if hint := app.CredentialsHint(err); hint != "" {
		fmt.Fprintf(m.Stderr, "iamprune: %s\n", hint)
	}
	if iamprune.ErrorCode(err) == iamprune.EINVALID || isUsageError(err) {
		return exitInvalid
	}
	return exitProblems
}

// isUsageError recognises cobra's flag and argument errors, which are bad
// usage, by how they start: a run-time error that merely contains such
// words (a wrapped EINVAL says "invalid argument") is not one.
func isUsageError(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "required flag", "bad flag syntax"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

type usageError struct{ error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func (m *Main) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "iamprune",
		Short: "Close the loop on IAM Access Analyzer unused-access findings",
		Long: `iamprune reads IAM Access Analyzer unused-access findings (unused roles, access
keys, console passwords and permissions), ages every credential and service,
and plans what to do about each: notify the owner, honour approved exceptions,
leave protected principals alone, and remediate what stayed unused past the
tolerance.

It reads findings from the Access Analyzer API (standard AWS credential chain,
--profile, --region and AWS_ENDPOINT_URL) or from an offline snapshot folder.
Nothing is changed by 'plan'.

Exit codes, the same for every command (docs/exit-codes.md):
  0        success, or nothing to do
  1        it ran, and something failed or was refused: a failed action or
           notice, the blast-radius limit, a stale plan, a locked account,
           an unreachable account, problems found by a check
  2        bad usage or bad input, nothing done: an unknown flag, run id or
           account, a malformed file (the message names the file, line or
           field), consent missing (--yes off a terminal) or declined
  130/143  interrupted by SIGINT/SIGTERM (what was done is journaled)`,
		Example: `  iamprune demo
  iamprune plan --snapshot examples/demo/snapshot --config examples/demo/iamprune.yaml
  iamprune plan --analyzer auto -o markdown > plan.md
  iamprune emulator --snapshot examples/demo/snapshot --listen 127.0.0.1:4566`,
		Version:       version.Get().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if m.maxRetriesSet = cmd.Flags().Changed("max-retries"); m.maxRetriesSet && (m.maxRetries < 0 || m.maxRetries > 100) {
				return usagef("--max-retries: %d is not from 0 to 100", m.maxRetries)
			}
			return m.setupLogging()
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&m.logFormat, "log-format", "text", "log format on stderr: text or json (json suits CloudWatch)")
	pf.StringVar(&m.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVar(&m.profile, "profile", "", "AWS shared-config profile (default: AWS_PROFILE or the default chain)")
	pf.StringVar(&m.region, "region", "", "AWS region (default: AWS_REGION or the profile's region)")
	pf.IntVar(&m.maxRetries, "max-retries", iamprune.DefaultAWSMaxRetries, "retries of an AWS call that was throttled or failed transiently (overrides aws.max_retries of the config)")
	root.SetFlagErrorFunc(flagError)

	root.AddCommand(m.planCommand(), m.applyCommand(), m.rollbackCommand(), m.historyCommand(), m.holdsCommand(), m.unlockCommand(), m.notifyCommand(), m.emulatorCommand(), m.demoCommand(), m.configCommand(), m.exceptionsCommand(), m.policyCommand(), m.workerCommand(), m.sweepCommand(), m.snapshotCommand(), m.reportCommand(), m.exportCommand(), m.manCommand())
	// The completion scripts go to the writer set before this.
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	root.InitDefaultCompletionCmd()
	strictGroups(root)
	return root
}

// strictGroups makes each command group (config, exceptions, completion,
// ...) refuse an unknown subcommand as bad usage, where cobra would print
// the group's help and exit 0; without arguments it prints its help.
func strictGroups(c *cobra.Command) {
	var names []string
	for _, sub := range c.Commands() {
		strictGroups(sub)
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	if !c.HasParent() || c.Runnable() || len(names) == 0 {
		return
	}
	want := strings.Join(names, ", ")
	if n := len(names); n > 1 {
		want = strings.Join(names[:n-1], ", ") + " or " + names[n-1]
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("unknown command %q for %q (want %s)", args[0], cmd.CommandPath(), want)
		}
		return cmd.Help()
	}
}

func (m *Main) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(m.logLevel)); err != nil {
		return usagef("--log-level: %q is not one of debug, info, warn, error", m.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch m.logFormat {
	case "text":
		m.logger = slog.New(slog.NewTextHandler(m.Stderr, opts))
	case "json":
		m.logger = slog.New(slog.NewJSONHandler(m.Stderr, opts))
	default:
		return usagef("--log-format: %q is not text or json", m.logFormat)
	}
	return nil
}

func (m *Main) log() *slog.Logger {
	if m.logger == nil {
		return slog.New(slog.NewTextHandler(m.Stderr, nil))
	}
	return m.logger
}
