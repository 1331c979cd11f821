package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/render"
)

// planOptions holds the flags shared by every command that makes a plan.
type planOptions struct {
	snapshot   string
	analyzer   string
	source     string
	configPath string
	exceptions string
	now        string
	output     string
	state      string
}

func (o *planOptions) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.snapshot, "snapshot", "", "read findings and IAM facts from this snapshot folder instead of AWS")
	f.StringVar(&o.analyzer, "analyzer", "", `analyzer ARN, or "auto" for the account's active unused-access analyzer (default: the config's analyzer, else auto)`)
	f.StringVar(&o.source, "source", "", `where findings come from: "analyzer" (Access Analyzer) or "iam" (IAM's own last-used data; with --snapshot only, for now) (default: the config's source, else analyzer)`)
	f.StringVar(&o.configPath, "config", "", "YAML config file (default: $IAMPRUNE_CONFIG, else built-in defaults; see 'iamprune config reference')")
	f.StringVar(&o.exceptions, "exceptions", "", "exceptions file, *.txt (one ARN per line) or YAML; overrides the config's exceptions")
	f.StringVar(&o.now, "now", "", "evaluate as of this time (RFC 3339 or YYYY-MM-DD), for reproducible runs (default: the current time)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json, markdown, or the exports csv, ocsf and asff (docs/exports.md)")
	f.StringVar(&o.state, "state", "", "state store recording what iamprune did: a SQLite file or dynamodb://TABLE (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
}

func (m *Main) planCommand() *cobra.Command {
	var (
		o   planOptions
		out string
	)
	cmd := &cobra.Command{
		Use:     "plan",
		Short:   "Show what iamprune would do about each unused-access finding (changes nothing)",
		Long:    planLong,
		Example: planExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPlan(cmd.Context(), &PlanOptions{IO: m.streams(), Flags: o, Out: out, Store: m.openStore, MakePlan: m.makePlan, Log: m.log(), Export: m.exportOptions()})
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVar(&out, "out", "", "also save the plan as JSON to this file, for 'iamprune apply FILE'")
	return cmd
}

// PlanOptions are the flags, streams and dependencies of 'plan'.
type PlanOptions struct {
	IO    *IOStreams
	Flags planOptions
	// Out is --out: also save the plan there.
	Out      string
	Store    func(ctx context.Context, flag string, mustExist bool) (iamprune.Store, error)
	MakePlan func(context.Context, planOptions, iamprune.Store) (*app.Planned, error)
	Log      *slog.Logger
	Export   render.Options // -o ocsf and asff
	// Then, when set, takes the plan instead of rendering it.
	Then func(context.Context, *iamprune.Plan) error
}

func runPlan(ctx context.Context, o *PlanOptions) error {
	r, err := render.ByNameWith(o.Flags.output, o.Export)
	if err != nil {
		return err
	}
	store, err := o.Store(ctx, o.Flags.state, true)
	if err != nil {
		return err
	}
	if store != nil {
		defer store.Close()
	}
	res, err := o.MakePlan(ctx, o.Flags, store)
	if err != nil {
		return err
	}
	if o.Out != "" {
		if err := app.SavePlan(o.Out, res.Plan); err != nil {
			return err
		}
		apply := "iamprune apply " + render.ShellQuote(o.Out)
		for _, f := range [][2]string{{"--state", o.Flags.state}, {"--exceptions", o.Flags.exceptions}} {
			if f[1] != "" {
				apply += " " + f[0] + " " + render.ShellQuote(f[1])
			}
		}
		o.Log.Info("plan saved; review it, then apply exactly it", "file", o.Out, "apply", apply)
	}
	if o.Then != nil {
		if err := o.Then(ctx, res.Plan); err != nil {
			return err
		}
	} else if err := r.Render(o.IO.Out, res.Plan); err != nil {
		return err
	}
	if res.Facts != nil && len(res.Facts.Unreachable) > 0 {
		fmt.Fprintf(o.IO.ErrOut, "iamprune: %d member account(s) unreachable; their findings were skipped (see the plan)\n", len(res.Facts.Unreachable))
		return errProblems
	}
	return nil
}

// exportOptions: the version and --region (else AWS_REGION), for -o ocsf and asff.
func (m *Main) exportOptions() render.Options {
	return render.Options{ProductVersion: app.Version(), Region: cmp.Or(m.region, m.Getenv("AWS_REGION"))}
}

// inputOptions are the app.InputOptions of the CLI: the flags, the
// process environment and the AWS configuration for s3:// objects.
func (m *Main) inputOptions(o planOptions) (app.InputOptions, error) {
	now, err := app.ParseNow(o.now, m.Now)
	if err != nil {
		return app.InputOptions{}, err
	}
	return app.InputOptions{
		ConfigPath:   o.configPath,
		Exceptions:   o.exceptions,
		Now:          now,
		Getenv:       m.Getenv,
		Clock:        m.Now,
		Logger:       m.log(),
		Objects:      m.s3Objects,
		ConfigureAWS: m.configureAWS,
	}, nil
}

// loadInputs reads the config and exceptions named by the flags.
func (m *Main) loadInputs(ctx context.Context, o planOptions) (app.Inputs, error) {
	opts, err := m.inputOptions(o)
	if err != nil {
		return app.Inputs{}, err
	}
	return app.LoadInputs(ctx, opts)
}

// loadConfig reads the config alone: path, else $IAMPRUNE_CONFIG, else
// the defaults.
func (m *Main) loadConfig(ctx context.Context, path string) (iamprune.Config, error) {
	cfg, _, err := app.LoadConfig(ctx, app.InputOptions{ConfigPath: path, Getenv: m.Getenv, Objects: m.s3Objects, ConfigureAWS: m.configureAWS})
	return cfg, err
}

// s3Objects reads S3 objects with the CLI's AWS configuration.
func (m *Main) s3Objects(ctx context.Context) (*awsapi.S3Object, error) {
	cfg, _, err := m.loadAWS(ctx)
	if err != nil {
		return nil, err
	}
	return awsapi.NewS3Object(cfg), nil
}

// loadAWS loads the CLI's AWS configuration: profile, region, logger and
// the shared retry policy.
func (m *Main) loadAWS(ctx context.Context) (aws.Config, *awsapi.Counter, error) {
	if m.LoadAWS != nil {
		return m.LoadAWS(ctx)
	}
	return awsapi.LoadConfig(ctx, m.awsOptions())
}

func (m *Main) makePlan(ctx context.Context, o planOptions, store iamprune.Store) (*app.Planned, error) {
	in, err := m.loadInputs(ctx, o)
	if err != nil {
		return nil, err
	}
	return app.MakePlan(ctx, in, app.PlanOptions{
		Snapshot: o.snapshot,
		Analyzer: o.analyzer,
		Source:   o.source,
		Store:    store,
		LoadAWS:  m.loadAWS,
		Logger:   m.log(),
		Progress: app.TerminalProgress(m.Stderr, m.StderrIsTerminal),
	})
}

const planLong = `plan reads the unused-access findings, the IAM facts needed to age them, the
config and the exceptions, and prints one line per item that needs attention.
Its kind says what iamprune does about it (docs/plan-format.md): notify (unused
past notify_after_days: the owner is warned of remediate_on); a remediation
(deactivate-access-key, delete-access-key, delete-login-profile, quarantine-role,
deny-unused-services, rewrite-policy with the documents before and after);
propose-policy (the same refinement as a pull request); exempt (an exception
or a hold); protected (service-linked and Identity Center roles,
OrganizationAccountAccessRole, the caller, the config's globs); skip (finding
not ACTIVE, principal or key gone). Items under notify_after_days produce no
line; each key is aged by its own last use, never-used things from creation.
Nothing is changed. -o csv, ocsf and asff export the plan to the security
stack (docs/exports.md).

Findings come from the Access Analyzer API (ListFindingsV2, GetFindingV2) and
IAM (GetAccountAuthorizationDetails, the credential report, ListAccessKeys,
GetLoginProfile, sts:GetCallerIdentity) through the standard credential chain;
AWS_ENDPOINT_URL points them at another endpoint such as 'iamprune emulator'.
With --snapshot they come from a snapshot folder; with --source iam, from IAM's
own data (docs/without-analyzer.md). Member accounts of an organisation are
read through the config's role (accounts.role_name); an unreachable member's
findings are skipped with the reason. Refinements are compared with Access
Analyzer's recommendations when reading the live analyzer (recommendations).`

const planExample = `  iamprune plan --snapshot examples/demo/snapshot --config examples/demo/iamprune.yaml --now 2026-11-28
  iamprune plan --profile audit --region eu-west-1 -o json > plan.json
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 iamprune plan -o markdown`
