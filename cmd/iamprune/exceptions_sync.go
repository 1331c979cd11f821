package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/render"
)

type exceptionsSyncOptions struct {
	exceptions string
	configPath string
	analyzer   string
	publish    string
	now        string
	yes        bool
	dryRun     bool
	output     string
}

func (m *Main) exceptionsSyncCommand() *cobra.Command {
	var o exceptionsSyncOptions
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Publish the exceptions and reconcile the analyzer's archive rules with them",
		Long: `sync makes the outside world match the exceptions file, after a merge:

  archive rules   the analyzer gets one rule set, named iamprune-*, that
                  archives exactly the findings the unexpired exceptions
                  cover. Missing rules are created and changed ones updated,
                  and each is applied to the existing findings
                  (ApplyArchiveRule). Rules of removed or expired exceptions
                  are deleted, and the findings only they had archived are set
                  back to ACTIVE (UpdateFindings), so that remediation sees
                  them again. Rules not named iamprune-* are never touched.
  publish         with --publish s3://bucket/key or a path (default: the
                  config's exceptions when it is an s3:// URL), the file is
                  written there when its content changed, for the runtime.

How exceptions become rules (an exact ARN is one eq condition; a glob is
resolved to the account's users and roles at sync time; an UnusedPermission
entry limited to services cannot be a rule and is honoured at decision time;
20 principals to a rule, at most exceptions.max_archive_rules rules in all):
see docs/exceptions.md.

The file is validated first, with the checks of 'exceptions check' (expired
entries aside: sync removes their rules); a file with problems is not synced
(exit 1).

Without --yes nothing changes: the diff is printed and, on a terminal, you
are asked to type the account id; elsewhere, or with -o json, consent is
missing (exit 2). --dry-run only shows the diff (exit 0). A second run
reports no changes.`,
		Example: `  iamprune exceptions sync --exceptions exceptions.yaml
  iamprune exceptions sync --config iamprune.yaml --publish s3://security-config/iamprune/exceptions.yaml --yes
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 iamprune exceptions sync --exceptions exceptions.yaml -o json --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExceptionsSync(cmd.Context(), &ExceptionsSyncOptions{IO: m.streams(), Flags: o, Clock: m.Now, Config: m.exceptionsConfig, LoadAWS: m.loadAWS})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.exceptions, "exceptions", "", "the exceptions file to sync, *.txt or YAML (default: the config's exceptions)")
	f.StringVar(&o.configPath, "config", "", "YAML config: analyzer, exceptions and exceptions.max_archive_rules (default: $IAMPRUNE_CONFIG)")
	f.StringVar(&o.analyzer, "analyzer", "", `analyzer ARN, or "auto" (default: the config's analyzer, else auto)`)
	f.StringVar(&o.publish, "publish", "", "also publish the file to s3://bucket/key or a path (default: the config's exceptions when it is s3://)")
	f.StringVar(&o.now, "now", "", "judge expiry as of this time (RFC 3339 or YYYY-MM-DD) (default: the current time)")
	f.BoolVarP(&o.yes, "yes", "y", false, "make the changes without asking (required when stdin is not a terminal)")
	f.BoolVar(&o.dryRun, "dry-run", false, "only show the changes; make none and ask nothing")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// ExceptionsSyncOptions are the flags, streams and dependencies of
// 'exceptions sync'.
type ExceptionsSyncOptions struct {
	IO    *IOStreams
	Flags exceptionsSyncOptions
	Clock func() time.Time
	// Config reads the config of --config with its local exceptions path.
	Config  func(ctx context.Context, flag string) (iamprune.Config, string, error)
	LoadAWS app.LoadAWS
}

func runExceptionsSync(ctx context.Context, o *ExceptionsSyncOptions) error {
	f := o.Flags
	if f.output != "text" && f.output != "json" {
		return usagef("--output: %q is not text or json", f.output)
	}
	now, err := app.ParseNow(f.now, o.Clock)
	if err != nil {
		return err
	}
	cfg, path, err := o.Config(ctx, f.configPath)
	if err != nil {
		return err
	}
	path, target, err := app.SyncPaths(f.exceptions, f.publish, cfg, path)
	if err != nil {
		return err
	}
	excs, probs, err := app.ValidSyncExceptions(path, cfg, now)
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		render.SyncProblems(o.IO.ErrOut, path, probs)
		return errProblems
	}
	s, err := app.NewSync(ctx, o.LoadAWS, app.SyncOptions{Path: path, Exceptions: excs, Config: cfg, Now: now, Analyzer: f.analyzer, Target: target})
	if err != nil {
		return err
	}
	if s.Report.Changes() > 0 {
		if err := syncConsent(ctx, o, s); err != nil || f.dryRun {
			return err
		}
		if err := s.Apply(ctx); err != nil {
			return err
		}
	}
	if f.output == "json" {
		return render.ExceptionsJSON(o.IO.Out, s.Report)
	}
	return render.SyncEnd(o.IO.Out, s.Report)
}

// syncConsent shows the diff and asks for consent, unless --yes. Where
// nobody can be asked (no terminal, or -o json) the run ends there: the
// diff is shown, nothing changes, and consent is missing (exit 2).
func syncConsent(ctx context.Context, o *ExceptionsSyncOptions, s *app.Sync) error {
	f, rep := o.Flags, s.Report
	if f.output == "json" && (!f.yes || f.dryRun) {
		if err := render.ExceptionsJSON(o.IO.Out, rep); err != nil {
			return err
		}
	} else if f.output == "text" {
		render.SyncText(o.IO.Out, rep)
	}
	if f.yes || f.dryRun {
		return nil
	}
	what := "make " + render.CountOf(rep.Changes(), "change")
	if f.output == "json" {
		return usagef("nothing changed: --yes is required to %s with -o json", what)
	}
	_, acct, err := s.Session.Caller(ctx)
	if err != nil {
		return err
	}
	return confirm(o.IO, false, acct, what+" in account "+acct)
}
