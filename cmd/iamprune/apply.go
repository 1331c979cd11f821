package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/notify"
	"github.com/iamprune/iamprune/remediate"
	"github.com/iamprune/iamprune/render"
)

// applyOptions are the flags of apply and rollback beyond the plan's.
type applyOptions struct {
	yes        bool
	maxActions int
	auditLog   string
	output     string
}

func (m *Main) applyCommand() *cobra.Command {
	var (
		o  planOptions
		ao applyOptions
	)
	cmd := &cobra.Command{
		Use:   "apply [PLAN_FILE]",
		Short: "Carry out the plan's remediations, after showing them and getting consent",
		Long: `apply makes the remediations of a plan, the way terraform apply does:

  iamprune apply                 plans now (same inputs as 'plan'), shows the plan,
                                 and applies it after consent
  iamprune plan --out plan.json  then, after review:
  iamprune apply plan.json       applies exactly that reviewed plan, and refuses
                                 it when the world changed since (stale plan)

Nothing changes without consent: --yes, or typing the account id at the
prompt on a terminal. Only remediation entries are applied; notify, exempt,
protected and skip entries never change IAM. propose-policy entries change
no IAM either: their refined policies are written into the repository named
by the config's propose: block, and one pull request per account is opened
or updated (the token comes from $GITHUB_TOKEN, or propose.token_env).
Member accounts are changed through the role the config names
(accounts.role_name), assumed once per account.

Guards, all re-checked at apply time, even for a saved plan:
  - the live state is read just before each change: a credential used since
    the finding, a finding no longer ACTIVE, a principal that became
    protected or exempt, a key or principal that is gone: the action is
    skipped with the reason;
  - protected principals are never touched, whatever the plan says;
  - limits.max_actions_per_run: a run that would make more changes applies
    nothing (--max-actions N overrides it explicitly);
  - the config's accounts allowlist;
  - one run per account at a time (a lock in the state store).

Every change is journaled in the state store with its exact pre-change state
before the AWS call, so that 'iamprune rollback RUN_ID' can undo it, and an
interrupted run is reconciled by the next one. Every change and skip is
also written as a JSON line to the audit log (stderr, or --audit-log FILE).

Exit code 1 when any action failed or the run was refused.`,
		Example: `  iamprune apply --config iamprune.yaml
  iamprune plan --out plan.json && iamprune apply plan.json --yes -o json
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 iamprune apply --yes`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ao.maxActions = -1
			if cmd.Flags().Changed("max-actions") {
				ao.maxActions, _ = cmd.Flags().GetInt("max-actions")
			}
			file := ""
			if len(args) == 1 {
				file = args[0]
			}
			return m.runApply(cmd.Context(), o, ao, file)
		},
	}
	o.bind(cmd)
	f := cmd.Flags()
	f.Lookup("output").Usage = "output format of the result: table or json ({\"run_id\", \"results\": [...], \"notifications\": [...], \"proposals\": [...]})"
	f.BoolVarP(&ao.yes, "yes", "y", false, "apply without asking (required when stdin is not a terminal)")
	f.Int("max-actions", 0, "override limits.max_actions_per_run for this run")
	f.StringVar(&ao.auditLog, "audit-log", "", "append the JSON-lines audit log to this file instead of stderr")
	return cmd
}

func (m *Main) runApply(ctx context.Context, o planOptions, ao applyOptions, file string) error {
	if o.output != "table" && o.output != "json" {
		return usagef("--output: %q is not table or json", o.output)
	}
	if o.snapshot != "" {
		return usagef("apply changes AWS and cannot act on a snapshot; serve it with 'iamprune emulator' and point AWS_ENDPOINT_URL at it to try apply offline")
	}
	store, err := m.openStore(ctx, o.state, false)
	if err != nil {
		return err
	}
	defer store.Close()

	var (
		p      *app.Planned
		saved  bool
		plan   *iamprune.Plan
		caller string
		acct   string
	)
	if file != "" {
		saved = true
		if plan, err = loadPlan(file); err != nil {
			return err
		}
		// The guards a saved plan is re-checked against (protection,
		// exceptions, allowlist, member role, propose) come from the config
		// it was made with, unless another is named.
		if o.configPath == "" && m.Getenv("IAMPRUNE_CONFIG") == "" && plan.Config != "" {
			if _, err := os.Stat(plan.Config); err != nil {
				return iamprune.Errorf(iamprune.EINVALID, "%s was planned with --config %s, which cannot be read (%v); pass --config", file, plan.Config, err)
			}
			o.configPath = plan.Config
			m.log().Info("using the config the plan was made with", "config", plan.Config)
		}
		in, err := m.loadInputs(ctx, o)
		if err != nil {
			return err
		}
		sess, err := m.awsSession(ctx, firstNonEmpty(o.analyzer, in.Config.Analyzer))
		if err != nil {
			return err
		}
		if caller, acct, err = sess.Facts.Caller(ctx); err != nil {
			return err
		}
		// Member accounts the plan names are reached through their role.
		if _, err := sess.OrgFacts(ctx, in.Config.CrossAccount); err != nil {
			return err
		}
		p = &app.Planned{Plan: plan, Inputs: in, Session: sess, Caller: caller}
	} else {
		if p, err = m.makePlan(ctx, o, store); err != nil {
			return err
		}
		plan, caller = p.Plan, p.Caller
		if _, acct, err = p.Session.Facts.Caller(ctx); err != nil {
			return err
		}
	}

	// Show the plan: on stdout for people, on stderr when stdout is JSON.
	shown := m.Stdout
	if o.output == "json" {
		shown = m.Stderr
	}
	if err := (render.Table{}).Render(shown, plan); err != nil {
		return err
	}
	pending := 0
	for _, a := range plan.Actions {
		if a.Kind.IsRemediation() && a.Done == nil {
			pending++
		}
	}
	// A proposal that cannot be made must stop the run before any change.
	if err := m.proposePreflight(p.Inputs.Config, plan); err != nil {
		return err
	}
	// Notices are a side effect too: they need consent like changes do.
	digests, err := m.digestsDue(ctx, p, store)
	if err != nil {
		return err
	}
	var what []string
	if pending > 0 {
		what = append(what, fmt.Sprintf("apply %d change(s)", pending))
	}
	if digests > 0 {
		what = append(what, fmt.Sprintf("send %d digest(s) to owners", digests))
	}
	if props := proposals(plan); len(props) > 0 {
		n := 0
		for _, as := range props {
			n += len(as)
		}
		what = append(what, fmt.Sprintf("propose the refined policies of %d principal(s) as pull request(s) against %s", n, p.Inputs.Config.Propose.Repo))
	}
	// With nothing to do there is nothing to consent to: the run only
	// confirms, with reads, that what was done is still done.
	if len(what) == 0 {
		fmt.Fprintln(shown, "\nNothing new to apply: every remediation of the plan is already done.")
	} else if err := m.confirm(ao.yes, acct, strings.Join(what, " and ")+" in account "+acct); err != nil {
		return err
	}
	fmt.Fprintln(shown)

	auditW, closeAudit, err := m.auditWriter(ao.auditLog)
	if err != nil {
		return err
	}
	defer closeAudit()
	maxActions := p.Inputs.Config.Limits.MaxActionsPerRun
	if ao.maxActions >= 0 {
		maxActions = ao.maxActions
	}
	opts := m.applyOptions(p, store, acct, caller, auditW)
	opts.MaxActions = maxActions
	opts.Saved = saved

	res, err := m.applyAndNotify(ctx, p, store, opts, acct)
	if err != nil {
		return err
	}
	nt := len(p.Inputs.Config.Notifications.Channels) > 0
	if err := render.Run(m.Stdout, res, o.output, "applied"); err != nil {
		return err
	}
	if nt && o.output == "table" {
		fmt.Fprintln(m.Stdout, summarizeNotices(res.Notifications))
	}
	if o.output == "table" && res.RunID != "" && res.Refused == "" && undoable(res) {
		undo := "iamprune rollback " + res.RunID
		if cfg := firstNonEmpty(o.configPath, m.Getenv("IAMPRUNE_CONFIG")); cfg != "" && p.Inputs.Config.CrossAccount.RoleName != "" {
			undo += " --config " + cfg // the member role
		}
		fmt.Fprintf(m.Stdout, "Undo with: %s --yes\n", undo)
	}
	if res.Failed() {
		return errProblems
	}
	// Accounts that could not be reached, or may not be changed, are
	// problems to report, even though nothing failed there.
	if p.Facts != nil && len(p.Facts.Unreachable) > 0 {
		fmt.Fprintf(m.Stderr, "iamprune: %d member account(s) unreachable; their findings were skipped (see the plan)\n", len(p.Facts.Unreachable))
		return errProblems
	}
	if out := outsideAllowlist(plan, p.Inputs.Config.Accounts); len(out) > 0 {
		fmt.Fprintf(m.Stderr, "iamprune: findings in account(s) %s were skipped: not in the config's accounts allowlist\n", strings.Join(out, ", "))
		return errProblems
	}
	return nil
}

// outsideAllowlist returns the accounts of the plan's entries that the
// allowlist excludes, sorted.
func outsideAllowlist(plan *iamprune.Plan, allow []string) []string {
	var out []string
	for _, a := range plan.Actions {
		if len(allow) > 0 && a.Account != "" && !slices.Contains(allow, a.Account) && !slices.Contains(out, a.Account) {
			out = append(out, a.Account)
		}
	}
	slices.Sort(out)
	return out
}

// undoable reports whether a run changed anything to roll back.
func undoable(res *iamprune.RunResult) bool {
	for _, a := range res.Results {
		if a.Status == iamprune.ResultDone || (a.Status == iamprune.ResultFailed && a.Kind == iamprune.KindRewritePolicy) {
			return true
		}
	}
	return false
}

// digestsDue counts the digests a run would send before any change.
func (m *Main) digestsDue(ctx context.Context, p *app.Planned, store iamprune.Store) (int, error) {
	if len(p.Inputs.Config.Notifications.Channels) == 0 {
		return 0, nil
	}
	facts := p.Facts
	if facts == nil {
		var err error
		if facts, err = m.savedPlanFacts(ctx, p); err != nil {
			return 0, err
		}
		p.Facts = facts
	}
	nt := &notifier{cfg: p.Inputs.Config.Notifications, excs: p.Inputs.Exceptions, now: p.Inputs.Now}
	nt.log, _ = store.(iamprune.NoticeLog)
	ds, err := nt.pending(ctx, p.Plan, facts)
	if err != nil {
		return 0, err
	}
	p.Due = &ds
	return len(ds), nil
}

// applyAndNotify runs apply with its notices: owners hear first (notify
// and remediation entries due a notice are sent before any change), then
// the changes made are reported with how to undo them, and a refused run
// goes to the default route. A failed channel never stops the run; it is
// reported in the result.
func (m *Main) applyAndNotify(ctx context.Context, p *app.Planned, store iamprune.Store, opts apply.Options, acct string) (*iamprune.RunResult, error) {
	plan := p.Plan
	nt, err := m.newNotifier(ctx, p.Inputs, &p.Session.AWS, store, opts.Audit)
	if err != nil {
		return nil, err
	}
	var notices []iamprune.NotificationResult
	if nt != nil {
		if p.Facts == nil { // a saved plan: owners come from the live tags
			if p.Facts, err = m.savedPlanFacts(ctx, p); err != nil {
				return nil, err
			}
		}
		if p.Due == nil {
			ds, err := nt.pending(ctx, plan, p.Facts)
			if err != nil {
				return nil, err
			}
			p.Due = &ds
		}
		notices = nt.send(ctx, *p.Due, acct, opts.RunID)
	}
	res, err := apply.Apply(ctx, plan, opts)
	if err != nil {
		return nil, err
	}
	if res.Refused == "" {
		res.Proposals = m.propose(ctx, p, cmp.Or(res.RunID, opts.RunID), opts.Audit)
	}
	if nt != nil {
		if res.Refused != "" {
			if d := notify.ErrorDigest([]string{"apply refused: " + res.Refused}, nt.cfg); d != nil {
				notices = append(notices, nt.send(ctx, []notify.Delivery{*d}, acct, res.RunID)...)
			}
		} else {
			notices = append(notices, nt.send(ctx, notify.DoneDigest(res, plan, p.Facts, nt.cfg), acct, res.RunID)...)
		}
	}
	res.Notifications = notices
	return res, nil
}

// applyOptions wires the live parts of one run together.
func (m *Main) applyOptions(p *app.Planned, store iamprune.Store, account, caller string, auditW io.Writer) apply.Options {
	runID := apply.NewRunID(m.Now())
	ropts := remediate.Options{Now: m.Now, Logger: m.log(), RunID: runID}
	execs := remediate.Executors(iam.NewFromConfig(p.Session.AWS), ropts)
	var members func(context.Context, string) (map[iamprune.ActionKind]iamprune.Executor, error)
	if p.Session.Org() != nil && p.Inputs.Config.CrossAccount.RoleName != "" {
		members = memberExecutors(p.Session.Org(), ropts)
	}
	return apply.Options{
		RunID:      runID,
		Store:      store,
		Executors:  execs,
		Members:    members,
		Findings:   p.Session.Findings,
		Protection: iamprune.Protection{Globs: p.Inputs.Config.ProtectedGlobs(), Caller: caller},
		Exceptions: p.Inputs.Exceptions,
		Account:    account,
		Accounts:   p.Inputs.Config.Accounts,
		MaxActions: p.Inputs.Config.Limits.MaxActionsPerRun,
		// Deleting a key also needs the journal to show iamprune
		// deactivated it at least this long ago.
		KeyDeleteAfterDays: p.Inputs.Config.Rule(iamprune.UnusedIAMUserAccessKey).KeyDeleteAfter(),
		Now:                m.Now,
		Audit:              audit.New(auditW, m.Now),
		Owner:              lockOwner(),
		Logger:             m.log(),
	}
}

// savedPlanFacts reads the facts a saved plan's notices need (owner tags),
// in every account the plan names.
func (m *Main) savedPlanFacts(ctx context.Context, p *app.Planned) (*iamprune.Facts, error) {
	org, err := p.Session.OrgFacts(ctx, p.Inputs.Config.CrossAccount)
	if err != nil {
		return nil, err
	}
	return org.Facts(ctx, findingsOf(p.Plan))
}

// confirm asks for consent: --yes, or the account id typed at a terminal.
func (m *Main) confirm(yes bool, account, what string) error {
	if yes {
		return nil
	}
	if !m.StdinIsTerminal {
		return usagef("nothing changed: --yes is required to %s when stdin is not a terminal", what)
	}
	fmt.Fprintf(m.Stderr, "\nTo %s, type the account id (%s): ", what, account)
	line, err := bufio.NewReader(m.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("nothing changed: no confirmation read: %w", err)
	}
	if strings.TrimSpace(line) != account {
		return iamprune.Errorf(iamprune.EINVALID, "nothing changed: %q is not the account id %s", strings.TrimSpace(line), account)
	}
	return nil
}

// auditWriter opens the audit log: the file given, appended to, or stderr.
func (m *Main) auditWriter(path string) (io.Writer, func(), error) {
	if path == "" {
		return m.Stderr, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, iamprune.Errorf(iamprune.EINVALID, "--audit-log: cannot open %s: %v", path, err)
	}
	return f, func() { f.Close() }, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
