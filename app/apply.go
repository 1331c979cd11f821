package app

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/notify"
	"github.com/iamprune/iamprune/remediate"
)

// Consent is what a run is about to do, shown to whoever consents.
type Consent struct {
	// Account is the account of the credentials, which a person types to
	// consent.
	Account string
	// What lists the side effects ("apply 3 change(s)", "send 2
	// digest(s) to owners", ...); empty when nothing new is to be done,
	// and the run only confirms, with reads, that what was done still is.
	What []string
}

// ApplyRequest is one apply run of a plan.
type ApplyRequest struct {
	Planned *Planned
	Store   iamprune.Store
	// Saved is set when the plan was saved earlier and is applied as it is.
	Saved bool
	// MaxActions overrides limits.max_actions_per_run when not negative.
	MaxActions int
	// Consent is asked once the guards that need no change passed, before
	// any notice or change; an error stops the run with nothing changed.
	// nil consents (the Lambda function and the worker).
	Consent func(Consent) error
	// Audit receives the JSON-lines audit log.
	Audit io.Writer
	// Owner is this process, recorded with the run lock.
	Owner iamprune.LockOwner
	// Scope confines the run to one account (apply.Options.Scope).
	Scope string
}

// ApplyResult is what an apply run did, and what it could not reach.
type ApplyResult struct {
	// Run is nil when there was nothing to do (Nothing says why): no run
	// is recorded then.
	Run *iamprune.RunResult
	// Nothing says why the plan had nothing to apply, notice or propose.
	Nothing string
	// Account is the account of the credentials.
	Account string
	// Unreachable counts the member accounts whose findings were skipped.
	Unreachable int
	// OutsideAllowlist are the accounts of plan entries the config's
	// accounts allowlist excludes, sorted.
	OutsideAllowlist []string
}

// Problems reports whether the run failed, or left accounts unreached or
// outside the allowlist: something for the operator to look at.
func (r *ApplyResult) Problems() bool {
	return (r.Run != nil && r.Run.Failed()) || r.Unreachable > 0 || len(r.OutsideAllowlist) > 0
}

// Apply carries out a plan: the proposal preflight, consent, then notices
// to owners, the guarded changes (apply.Apply: lock, journal, live
// re-checks), the pull requests, and the digests of what was done.
func Apply(ctx context.Context, env Env, r ApplyRequest) (*ApplyResult, error) {
	p := r.Planned
	caller, acct, err := p.Session.Caller(ctx)
	if err != nil {
		return nil, err
	}
	p.Caller = cmp.Or(p.Caller, caller)
	// A proposal that cannot be made must stop the run before any change.
	if err := proposePreflight(env, p.Inputs.Config, p.Plan); err != nil {
		return nil, err
	}
	c, err := consent(ctx, p, r.Store, acct)
	if err != nil {
		return nil, err
	}
	if why := nothingToDo(p, c); why != "" {
		return reached(&ApplyResult{Account: acct, Nothing: why}, p), nil
	}
	if r.Consent != nil {
		if err := r.Consent(c); err != nil {
			return nil, err
		}
	}
	opts := RunOptions(env, p, r.Store, acct, r.Audit, r.Owner)
	if r.MaxActions >= 0 {
		opts.MaxActions = r.MaxActions
	}
	opts.Saved, opts.Scope = r.Saved, r.Scope
	res, err := applyAndNotify(ctx, env, p, r.Store, opts, acct)
	if err != nil {
		return nil, err
	}
	return reached(&ApplyResult{Run: res, Account: acct}, p), nil
}

// reached adds to r the accounts the plan could not reach or may not change.
func reached(r *ApplyResult, p *Planned) *ApplyResult {
	r.OutsideAllowlist = outsideAllowlist(p.Plan, p.Inputs.Config.Accounts)
	if p.Facts != nil {
		r.Unreachable = len(p.Facts.Unreachable)
	}
	return r
}

// consent says what the run would do: changes, digests (notices are a
// side effect too) and proposals.
func consent(ctx context.Context, p *Planned, store iamprune.Store, acct string) (Consent, error) {
	c := Consent{Account: acct}
	pending := 0
	for _, a := range p.Plan.Actions {
		if a.Kind.IsRemediation() && a.Done == nil {
			pending++
		}
	}
	if pending > 0 {
		c.What = append(c.What, fmt.Sprintf("apply %d change(s)", pending))
	}
	digests, err := digestsDue(ctx, p, store)
	if err != nil {
		return c, err
	}
	if digests > 0 {
		c.What = append(c.What, fmt.Sprintf("send %d digest(s) to owners", digests))
	}
	if props := proposals(p.Plan); len(props) > 0 {
		n := 0
		for _, as := range props {
			n += len(as)
		}
		c.What = append(c.What, fmt.Sprintf("propose the refined policies of %d principal(s) as pull request(s) against %s", n, p.Inputs.Config.Propose.Repo))
	}
	return c, nil
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

// digestsDue counts the digests a run would send, before any change, and
// keeps them for sending.
func digestsDue(ctx context.Context, p *Planned, store iamprune.Store) (int, error) {
	if len(p.Inputs.Config.Notifications.Channels) == 0 {
		return 0, nil
	}
	if err := ensureFacts(ctx, p); err != nil {
		return 0, err
	}
	ds, err := pendingNotifier(p.Inputs, store).Pending(ctx, p.Plan, p.Facts)
	if err != nil {
		return 0, err
	}
	p.due = &ds
	return len(ds), nil
}

// ensureFacts reads the facts of a saved plan: owners come from the live
// tags.
func ensureFacts(ctx context.Context, p *Planned) error {
	if p.Facts != nil {
		return nil
	}
	f, err := savedPlanFacts(ctx, p)
	if err != nil {
		return err
	}
	p.Facts = f
	return nil
}

// applyAndNotify runs apply with its notices: owners hear first (notify
// and remediation entries due a notice are sent before any change), then
// the changes made are reported with how to undo them, and a refused run
// goes to the default route. A failed channel never stops the run; it is
// reported in the result.
func applyAndNotify(ctx context.Context, env Env, p *Planned, store iamprune.Store, opts apply.Options, acct string) (*iamprune.RunResult, error) {
	nt, err := NewNotifier(ctx, env, p.Inputs, &p.Session.AWS, store, opts.Audit)
	if err != nil {
		return nil, err
	}
	var notices []iamprune.NotificationResult
	refused, err := apply.Refusal(p.Plan, opts)
	if err != nil {
		return nil, err
	}
	// A run the guards refuse sends no owner notice, only its refusal.
	if nt != nil && refused == "" {
		if err := ensureFacts(ctx, p); err != nil {
			return nil, err
		}
		if p.due == nil {
			ds, err := nt.Pending(ctx, p.Plan, p.Facts)
			if err != nil {
				return nil, err
			}
			p.due = &ds
		}
		notices = nt.Send(ctx, *p.due, acct, opts.RunID)
	}
	res, err := apply.Apply(ctx, p.Plan, opts)
	if err != nil {
		return nil, err
	}
	if res.Refused == "" {
		res.Proposals = propose(ctx, env, p, cmp.Or(res.RunID, opts.RunID), opts.Audit)
	}
	if nt != nil {
		notices = append(notices, doneNotices(ctx, nt, p, res, acct)...)
	}
	res.Notifications = notices
	return res, nil
}

// doneNotices reports a run to owners: what changed, or that it was
// refused (to the default route).
func doneNotices(ctx context.Context, nt *Notifier, p *Planned, res *iamprune.RunResult, acct string) []iamprune.NotificationResult {
	if res.Refused != "" {
		if d := notify.ErrorDigest([]string{"apply refused: " + res.Refused}, nt.cfg); d != nil {
			return nt.Send(ctx, []notify.Delivery{*d}, acct, res.RunID)
		}
		return nil
	}
	return nt.Send(ctx, notify.DoneDigest(res, p.Plan, p.Facts, nt.cfg), acct, res.RunID)
}

// RunOptions wires the live parts of one apply or rollback run together:
// executors (through the assumed role in member accounts), guards, the
// journal and the audit log.
func RunOptions(env Env, p *Planned, store iamprune.Store, account string, auditW io.Writer, owner iamprune.LockOwner) apply.Options {
	runID := apply.NewRunID(env.now())
	ropts := remediate.Options{Now: env.Now, Logger: env.log(), RunID: runID}
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
		Protection: iamprune.Protection{Globs: p.Inputs.Config.ProtectedGlobs(), Caller: p.Caller},
		Exceptions: p.Inputs.Exceptions,
		Account:    account,
		Accounts:   p.Inputs.Config.Accounts,
		MaxActions: p.Inputs.Config.Limits.MaxActionsPerRun,
		// Deleting a key also needs the journal to show iamprune
		// deactivated it at least this long ago.
		KeyDeleteAfterDays: p.Inputs.Config.Rule(iamprune.UnusedIAMUserAccessKey).KeyDeleteAfter(),
		Now:                env.Now,
		Audit:              audit.New(auditW, env.Now),
		Owner:              owner,
		Logger:             env.log(),
	}
}

// SavedPlan opens what applying a saved plan needs: a session for
// analyzer, the caller, and the member accounts through their role. The
// plan is refused, before anything is done, when a decision made now
// would not make one of its changes (notDecided).
func SavedPlan(ctx context.Context, env Env, plan *iamprune.Plan, in Inputs, analyzer string, store iamprune.Store) (*Planned, error) {
	sess, err := OpenSession(ctx, env.LoadAWS, cmp.Or(analyzer, in.Config.Analyzer))
	if err != nil {
		return nil, err
	}
	caller, _, err := sess.Caller(ctx)
	if err != nil {
		return nil, err
	}
	// Member accounts the plan names are reached through their role.
	org, err := sess.OrgFacts(ctx, in.Config)
	if err != nil {
		return nil, err
	}
	now, facts, err := Decide(ctx, sess.Findings, org, in, store, "analyzer "+cmp.Or(analyzer, in.Config.Analyzer), env.log())
	if err != nil {
		return nil, err
	}
	if why := notDecided(plan, now); len(why) > 0 {
		return nil, fmt.Errorf("nothing was applied: the saved plan makes changes a plan made now would not: %s; run iamprune plan again", strings.Join(why, "; "))
	}
	return &Planned{Plan: plan, Inputs: in, Session: sess, Caller: caller, Facts: facts}, nil
}

// savedPlanFacts reads the facts a saved plan's notices need (owner tags),
// in every account the plan names.
func savedPlanFacts(ctx context.Context, p *Planned) (*iamprune.Facts, error) {
	org, err := p.Session.OrgFacts(ctx, p.Inputs.Config)
	if err != nil {
		return nil, err
	}
	return org.Facts(ctx, findingsOf(p.Plan))
}

// memberExecutors returns apply's executors for member accounts: each acts
// with the credentials of the role assumed there, made once per account
// and run, like the facts that planned them.
func memberExecutors(org *awsapi.OrgFacts, opts remediate.Options) func(context.Context, string) (map[iamprune.ActionKind]iamprune.Executor, error) {
	var (
		mu    sync.Mutex
		cache = map[string]map[iamprune.ActionKind]iamprune.Executor{}
	)
	return func(ctx context.Context, account string) (map[iamprune.ActionKind]iamprune.Executor, error) {
		mu.Lock()
		defer mu.Unlock()
		if e, ok := cache[account]; ok {
			return e, nil
		}
		cfg, err := org.Accounts().Config(ctx, account)
		if err != nil {
			return nil, err
		}
		e := remediate.Executors(iam.NewFromConfig(cfg), opts)
		cache[account] = e
		return e, nil
	}
}

// findingsOf names, for a saved plan, the principals and accounts whose
// facts are needed to notify their owners: the facts are read for these.
func findingsOf(p *iamprune.Plan) []iamprune.Finding {
	seen := map[string]bool{}
	var out []iamprune.Finding
	for _, a := range p.Actions {
		if seen[a.Principal] {
			continue
		}
		seen[a.Principal] = true
		out = append(out, iamprune.Finding{ID: a.FindingID, Type: a.FindingType, Resource: a.Principal, Account: a.Account, Status: iamprune.StatusActive})
	}
	return out
}
