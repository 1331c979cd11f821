package main

import (
	"context"

	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/catalog"
	"github.com/iamprune/iamprune/config"
	"github.com/iamprune/iamprune/decide"
	"github.com/iamprune/iamprune/exceptions"
	"github.com/iamprune/iamprune/notify"
	"github.com/iamprune/iamprune/render"
	"github.com/iamprune/iamprune/snapshot"
)

// planOptions holds the flags shared by every command that makes a plan.
type planOptions struct {
	snapshot   string
	analyzer   string
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
	f.StringVar(&o.configPath, "config", "", "YAML config file (default: $IAMPRUNE_CONFIG, else built-in defaults; see 'iamprune config reference')")
	f.StringVar(&o.exceptions, "exceptions", "", "exceptions file, *.txt (one ARN per line) or YAML; overrides the config's exceptions")
	f.StringVar(&o.now, "now", "", "evaluate as of this time (RFC 3339 or YYYY-MM-DD), for reproducible runs (default: the current time)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or markdown")
	f.StringVar(&o.state, "state", "", "state store recording what iamprune did: a SQLite file or dynamodb://TABLE (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
}

func (m *Main) planCommand() *cobra.Command {
	var (
		o   planOptions
		out string
	)
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what iamprune would do about each unused-access finding (changes nothing)",
		Long: `plan reads the unused-access findings, the IAM facts needed to age them, the
config and the exceptions, and prints one line per item that needs attention:

  notify                  unused past notify_after_days; the owner is warned
                          with the date remediation will happen (remediate_on)
  deactivate-access-key   remediations, for items unused past
  delete-access-key       remediate_after_days
  delete-login-profile
  quarantine-role
  deny-unused-services
  rewrite-policy          (with the policies' exact documents before and after)
  propose-policy          the same refinement, as a pull request instead of an
                          IAM change (UnusedPermission, action propose-policy)
  exempt                  an unexpired exception covers it
  protected               a protected principal: service-linked and Identity
                          Center roles, OrganizationAccountAccessRole, the
                          identity iamprune runs as, and the config's globs
  skip                    the finding is not ACTIVE, or the principal or key
                          no longer exists

Items still under notify_after_days produce no line. Each access key is aged
by its own last use; never-used things are aged from their own creation date.
Nothing is changed.

Findings come from the Access Analyzer API (ListFindingsV2 filtered to ACTIVE,
then GetFindingV2 with every page) and IAM (GetAccountAuthorizationDetails,
ListAccessKeys, GetLoginProfile, sts:GetCallerIdentity), through the standard
credential chain; AWS_ENDPOINT_URL points them at another endpoint such as
'iamprune emulator'. With --snapshot they come from a snapshot folder.
Findings about member accounts of an organisation are planned with the IAM
facts read through the role the config names (accounts.role_name); a member
that cannot be reached has its findings skipped with the reason. Policy
refinements are compared with Access Analyzer's recommendations when reading
the live analyzer (config: recommendations).`,
		Example: `  iamprune plan --snapshot examples/demo/snapshot --config examples/demo/iamprune.yaml --now 2026-11-28
  iamprune plan --profile audit --region eu-west-1 -o json > plan.json
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 iamprune plan -o markdown`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := render.ByName(o.output)
			if err != nil {
				return err
			}
			store, err := m.openStore(cmd.Context(), o.state, true)
			if err != nil {
				return err
			}
			if store != nil {
				defer store.Close()
			}
			res, err := m.makePlan(cmd.Context(), o, store)
			if err != nil {
				return err
			}
			if out != "" {
				if err := savePlan(out, res.plan); err != nil {
					return err
				}
				m.log().Info("plan saved; review it, then apply exactly it", "file", out, "apply", "iamprune apply "+out)
			}
			return r.Render(m.Stdout, res.plan)
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVar(&out, "out", "", "also save the plan as JSON to this file, for 'iamprune apply FILE'")
	return cmd
}

// planInputs is everything a decision needs besides the finding and fact sources.
type planInputs struct {
	// configPath is the config file's path, "" for the defaults.
	configPath string
	cfg        iamprune.Config
	exceptions []iamprune.Exception
	now        time.Time
	// warnings name the exception entries the gate refused, which the
	// plan ignores.
	warnings []iamprune.Warning
}

// loadInputs reads the config and exceptions named by the flags.
func (m *Main) loadInputs(ctx context.Context, o planOptions) (planInputs, error) {
	now, err := parseNow(o.now, m.Now)
	if err != nil {
		return planInputs{}, err
	}
	path := o.configPath
	if path == "" {
		path = m.Getenv("IAMPRUNE_CONFIG")
	}
	cfg := iamprune.DefaultConfig()
	if path != "" {
		if cfg, err = config.Load(path); err != nil {
			return planInputs{}, err
		}
	}
	m.configureAWS(cfg.AWS)
	cfg.Propose.Repo = relativeToConfig(cfg.Propose.Repo, path)
	excPath := o.exceptions
	if excPath == "" {
		excPath = relativeToConfig(cfg.Exceptions, path)
	}
	var excs []iamprune.Exception
	switch {
	case strings.HasPrefix(excPath, "s3://"):
		// The list the exceptions-sync pipeline publishes.
		awsCfg, _, err := awsapi.LoadConfig(ctx, m.awsOptions())
		if err != nil {
			return planInputs{}, err
		}
		if excs, err = exceptions.NewRemote(awsapi.NewCachedObjects(awsapi.NewS3Object(awsCfg))).Load(ctx, excPath); err != nil {
			return planInputs{}, err
		}
	case excPath != "":
		if excs, err = exceptions.Load(excPath); err != nil {
			return planInputs{}, err
		}
	}
	excs, warnings := m.gateExceptions(excs, cfg, now)
	return planInputs{cfg: cfg, exceptions: excs, now: now, configPath: path, warnings: warnings}, nil
}

// gateExceptions keeps the exception entries that "exceptions check" would
// accept on their own, so that plan and apply never honour an entry the
// gate refuses (no expiry, an expiry years ahead, role/* in a .txt file):
// each refused entry is ignored with a warning naming its file and line.
func (m *Main) gateExceptions(excs []iamprune.Exception, cfg iamprune.Config, now time.Time) ([]iamprune.Exception, []iamprune.Warning) {
	kept, refused := exceptions.Gate(excs, exceptions.CheckOptions{Now: now, MaxDays: cfg.ExceptionPolicy.MaxDays, KnownService: catalog.IsService})
	var warnings []iamprune.Warning
	for _, p := range refused {
		w := iamprune.Warning{Source: "exceptions", Message: p.String() + " (the entry is ignored: 'iamprune exceptions check' refuses it)"}
		m.log().Warn("exception entry ignored: "+p.Message, "file", p.File, "line", p.Line, "field", p.Field)
		warnings = append(warnings, w)
	}
	return kept, warnings
}

// planned is a plan with the live sources it was made from, which apply
// reuses so that no call is repeated.
type planned struct {
	plan     *iamprune.Plan
	in       planInputs
	aws      *awsSession // nil in snapshot mode
	facts    *iamprune.Facts
	caller   string
	snapshot bool
	// due are the notices the plan calls for, once selected, so that
	// consent and sending use one read of the notice log.
	due *[]notify.Delivery
}

func (m *Main) makePlan(ctx context.Context, o planOptions, store iamprune.Store) (*planned, error) {
	in, err := m.loadInputs(ctx, o)
	if err != nil {
		return nil, err
	}
	if o.snapshot != "" {
		if o.analyzer != "" {
			return nil, usagef("--snapshot and --analyzer cannot be used together")
		}
		snap, err := snapshot.LoadDir(o.snapshot)
		if err != nil {
			return nil, err
		}
		plan, facts, err := m.decide(ctx, snap, snap, in, store, "snapshot "+o.snapshot)
		if err != nil {
			return nil, err
		}
		m.warnNoChannels(in.cfg, plan)
		return &planned{plan: plan, in: in, facts: facts, caller: facts.Caller, snapshot: true}, nil
	}
	analyzer := o.analyzer
	if analyzer == "" {
		analyzer = in.cfg.Analyzer
	}
	sess, err := m.awsSession(ctx, analyzer)
	if err != nil {
		return nil, err
	}
	progress := m.progress(sess.counter)
	sess.findings.OnProgress = progress.findings
	defer progress.done()
	org, err := sess.orgFacts(ctx, in.cfg.CrossAccount)
	if err != nil {
		return nil, err
	}
	plan, facts, err := m.decide(ctx, sess.findings, org, in, store, "analyzer "+analyzer)
	if err != nil {
		return nil, err
	}
	m.logUnreachable(facts)
	if in.cfg.Recommendations {
		m.compareRecommendations(ctx, sess, plan)
	}
	m.log().Debug("AWS calls", "total", sess.counter.Total(), "by_operation", sess.counter.ByOperation())
	m.warnNoChannels(in.cfg, plan)
	return &planned{plan: plan, in: in, aws: sess, facts: facts, caller: facts.Caller}, nil
}

// awsSession holds the clients and caches of one run against AWS.
type awsSession struct {
	cfg      aws.Config
	counter  *awsapi.Counter
	findings *awsapi.FindingSource
	// facts reads the account of the credentials; org reads every account
	// findings name, the home one through facts (orgFacts).
	facts *awsapi.Facts
	org   *awsapi.OrgFacts
	// recommender asks Access Analyzer for its recommendations, once per
	// finding.
	recommender *awsapi.Recommender
}

// orgFacts returns the session's organisation-wide fact source, made on
// first use: member accounts are read through the role assumed there.
func (s *awsSession) orgFacts(ctx context.Context, ca iamprune.CrossAccount) (*awsapi.OrgFacts, error) {
	if s.org != nil {
		return s.org, nil
	}
	caller, _, err := s.facts.Caller(ctx)
	if err != nil {
		return nil, err
	}
	s.org = awsapi.NewOrgFacts(awsapi.NewAccounts(s.cfg, caller, ca))
	s.org.UseHome(s.facts)
	return s.org, nil
}

func (m *Main) awsSession(ctx context.Context, analyzer string) (*awsSession, error) {
	cfg, counter, err := awsapi.LoadConfig(ctx, m.awsOptions())
	if err != nil {
		return nil, err
	}
	return newAWSSession(cfg, counter, analyzer), nil
}

func newAWSSession(cfg aws.Config, counter *awsapi.Counter, analyzer string) *awsSession {
	return &awsSession{cfg: cfg, counter: counter, findings: awsapi.NewFindingSource(cfg, analyzer), facts: awsapi.NewFacts(cfg)}
}

// decide reads findings and facts from the sources, what the state store
// says was already done, and runs the engine.
func (m *Main) decide(ctx context.Context, fs iamprune.FindingSource, facts iamprune.FactSource, in planInputs, store iamprune.Store, source string) (*iamprune.Plan, *iamprune.Facts, error) {
	findings, warnings, err := fs.Findings(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range warnings {
		m.log().Warn(w.Message, "source", w.Source)
	}
	f, err := facts.Facts(ctx, findings)
	if err != nil {
		return nil, nil, err
	}
	done, deactivated, err := journalState(ctx, store, findingAccounts(f.Account, findings)...)
	if err != nil {
		return nil, nil, err
	}
	notices, err := sentNotices(ctx, store, f.Account)
	if err != nil {
		return nil, nil, err
	}
	holds, err := storedHolds(ctx, store, findingAccounts(f.Account, findings)...)
	if err != nil {
		return nil, nil, err
	}
	plan := decide.Plan(decide.Input{
		Findings:    findings,
		Facts:       f,
		Config:      in.cfg,
		Exceptions:  in.exceptions,
		Now:         in.now,
		Warnings:    append(warnings, in.warnings...),
		Source:      source,
		Done:        done,
		Deactivated: deactivated,
		Notices:     notices,
		Holds:       holds,
	})
	plan.Config = in.configPath
	return &plan, f, nil
}

// progress prints "findings read / total, calls made" on stderr, only when
// stderr is a terminal: logs and pipes stay clean.
type progress struct {
	m       *Main
	counter *awsapi.Counter
	shown   bool
}

func (m *Main) progress(c *awsapi.Counter) *progress {
	return &progress{m: m, counter: c}
}

func (p *progress) findings(done, total int) {
	if !p.m.StderrIsTerminal {
		return
	}
	p.shown = true
	fmt.Fprintf(p.m.Stderr, "\r\033[Kreading findings %d/%d (%d AWS calls)", done, total, p.counter.Total())
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.m.Stderr, "\r\033[K")
	}
}
