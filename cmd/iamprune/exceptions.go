package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/render"
)

func (m *Main) exceptionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exceptions",
		Short: "Check, list and sync the approved-exceptions files",
		Long: `Exceptions live in git: one ARN per line (*.txt, the reference allowlist.txt)
or YAML with reason, owner and expiry (see docs/exceptions.md). Asking for one
is a pull request, 'exceptions check' is its gate, and after the merge
'exceptions sync' publishes the list and reconciles the analyzer's archive
rules. 'exceptions expiring' lists what is about to stop applying.`,
	}
	cmd.AddCommand(m.exceptionsCheckCommand(), m.exceptionsExpiringCommand(), m.exceptionsSyncCommand())
	return cmd
}

type exceptionsCheckOptions struct {
	configPath string
	against    string
	now        string
	strict     bool
	output     string
}

func (m *Main) exceptionsCheckCommand() *cobra.Command {
	var o exceptionsCheckOptions
	cmd := &cobra.Command{
		Use:   "check [FILE...]",
		Short: "Validate exception files: the pull-request gate",
		Long: `check validates exception files, *.txt and YAML, and reports every problem
of every file as FILE:LINE: FIELD: MESSAGE:

  - malformed principal ARNs; the account must be 12 digits or exactly *;
  - over-broad patterns: the resource type must be literally user/ or role/,
    and the name after it needs at least 3 literal (non-wildcard)
    characters, so *, arn:aws:iam::*:*, role/* and *:role/* are refused while
    arn:aws:iam::*:role/BreakGlass* passes;
  - unknown finding types and service namespaces;
  - duplicate entries, and entries whose patterns cover one another with a
    finding type (and, for UnusedPermission, a service) in common, across
    all the files given;
  - YAML only: missing reason or owner, and an expires date that is missing,
    in the past, or more than exceptions.max_days (default 365) ahead. A .txt
    line cannot carry these; use YAML to record them.

With no FILE, the exceptions file of --config is checked. With
GITHUB_ACTIONS=true each problem is also printed as an ::error annotation, so
that it shows on the pull request's diff.

--against reads the findings and principals of a snapshot folder, or of the
live analyzer and IAM ("live"), and prints what each entry covers. An entry
that matches no principal and no finding is stale: a warning, or a problem
with --strict.

Exit codes: 0 no problems, 1 problems found, 2 bad usage or a file that
cannot be read.`,
		Example: `  iamprune exceptions check exceptions.yaml allowlist.txt
  iamprune exceptions check --config iamprune.yaml
  iamprune exceptions check exceptions.yaml --against examples/demo/snapshot --strict
  iamprune exceptions check exceptions.yaml --now 2026-11-28 -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExceptionsCheck(cmd.Context(), &ExceptionsCheckOptions{IO: m.streams(), Flags: o, Files: args, Env: m.env(), Config: m.exceptionsConfig})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.configPath, "config", "", "YAML config: exceptions.max_days, and the exceptions file when no FILE is given (default: $IAMPRUNE_CONFIG)")
	f.StringVar(&o.against, "against", "", `also report what each entry covers, and stale entries, in this snapshot folder or "live" (the analyzer and IAM)`)
	f.StringVar(&o.now, "now", "", "judge expiry as of this time (RFC 3339 or YYYY-MM-DD) (default: the current time)")
	f.BoolVar(&o.strict, "strict", false, "with --against, count stale entries as problems (exit 1)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// ExceptionsCheckOptions are the flags, arguments, streams and
// dependencies of 'exceptions check'.
type ExceptionsCheckOptions struct {
	IO    *IOStreams
	Flags exceptionsCheckOptions
	Files []string
	Env   app.Env
	// Config reads the config of --config with its local exceptions path.
	Config func(ctx context.Context, flag string) (iamprune.Config, string, error)
}

func runExceptionsCheck(ctx context.Context, o *ExceptionsCheckOptions) error {
	f, files := o.Flags, o.Files
	if f.output != "text" && f.output != "json" {
		return usagef("--output: %q is not text or json", f.output)
	}
	if f.strict && f.against == "" {
		return usagef("--strict needs --against: stale entries are only known against findings")
	}
	now, err := app.ParseNow(f.now, o.Env.Now)
	if err != nil {
		return err
	}
	cfg, cfgExceptions, err := o.Config(ctx, f.configPath)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		if cfgExceptions == "" {
			return usagef("no exception files: give FILE arguments, or --config with exceptions set")
		}
		files = []string{cfgExceptions}
	}
	rep, err := app.CheckExceptions(ctx, app.CheckRequest{Files: files, Config: cfg, Now: now, Against: f.against,
		Strict: f.strict, LoadAWS: o.Env.LoadAWS, Logger: o.Env.Logger})
	if err != nil {
		return err
	}
	if err := render.Check(o.IO.Out, o.IO.ErrOut, rep, f.output, o.Env.Getenv("GITHUB_ACTIONS") == "true"); err != nil {
		return err
	}
	if len(rep.Problems) > 0 {
		return errProblems
	}
	return nil
}

// exceptionsConfig reads the config named by flag (else $IAMPRUNE_CONFIG,
// else the defaults) with its local exceptions path.
func (m *Main) exceptionsConfig(ctx context.Context, flag string) (iamprune.Config, string, error) {
	return app.ConfigExceptions(ctx, app.InputOptions{ConfigPath: flag, Getenv: m.Getenv, Objects: m.s3Objects, ConfigureAWS: m.configureAWS})
}

type exceptionsExpiringOptions struct {
	configPath string
	files      []string
	within     string
	now        string
	output     string
}

func (m *Main) exceptionsExpiringCommand() *cobra.Command {
	var o exceptionsExpiringOptions
	cmd := &cobra.Command{
		Use:   "expiring",
		Short: "List exceptions that expire soon or already expired",
		Long: `expiring lists the exceptions whose expiry falls within --within of now,
and those already expired, soonest first: principal, finding types,
services, owner, ticket, expiry date, days left and FILE:LINE.

An exception applies through the whole of its expiry day (UTC); days left is
0 on that day and negative once it expired. An expired exception no longer
applies in plan and apply. Only YAML entries expire; .txt lines never do.

The file is --exceptions (repeatable), else the config's exceptions.`,
		Example: `  iamprune exceptions expiring --exceptions exceptions.yaml --within 30d
  iamprune exceptions expiring --config iamprune.yaml --within 720h -o json
  iamprune exceptions expiring --exceptions exceptions.yaml --now 2026-11-28`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExceptionsExpiring(cmd.Context(), &ExceptionsExpiringOptions{IO: m.streams(), Flags: o, Clock: m.Now, Config: m.exceptionsConfig})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.configPath, "config", "", "YAML config whose exceptions file is listed (default: $IAMPRUNE_CONFIG)")
	f.StringArrayVar(&o.files, "exceptions", nil, "exceptions file, *.txt or YAML; repeatable; overrides the config's exceptions")
	f.StringVar(&o.within, "within", "30d", "window ahead of now: days (30d) or a Go duration (720h)")
	f.StringVar(&o.now, "now", "", "as of this time (RFC 3339 or YYYY-MM-DD) (default: the current time)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	return cmd
}

// ExceptionsExpiringOptions are the flags, streams and dependencies of
// 'exceptions expiring'.
type ExceptionsExpiringOptions struct {
	IO     *IOStreams
	Flags  exceptionsExpiringOptions
	Clock  func() time.Time
	Config func(ctx context.Context, flag string) (iamprune.Config, string, error)
}

func runExceptionsExpiring(ctx context.Context, o *ExceptionsExpiringOptions) error {
	f := o.Flags
	if f.output != "table" && f.output != "json" {
		return usagef("--output: %q is not table or json", f.output)
	}
	within, err := app.ParseWithin(f.within)
	if err != nil {
		return err
	}
	now, err := app.ParseNow(f.now, o.Clock)
	if err != nil {
		return err
	}
	files := f.files
	if len(files) == 0 {
		_, cfgExceptions, err := o.Config(ctx, f.configPath)
		if err != nil {
			return err
		}
		if cfgExceptions == "" {
			return usagef("no exceptions file: give --exceptions FILE, or --config with exceptions set")
		}
		files = []string{cfgExceptions}
	}
	rep, err := app.ExpiringExceptions(files, now, within, f.within)
	if err != nil {
		return err
	}
	if f.output == "json" {
		return render.ExceptionsJSON(o.IO.Out, rep)
	}
	return render.ExpiringTable(o.IO.Out, rep)
}
