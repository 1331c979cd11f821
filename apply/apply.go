// Package apply carries out a reviewed plan against IAM the way terraform
// apply does for infrastructure: it guards the account, re-checks every
// action against the live state just before acting, refuses a stale saved
// plan or one that exceeds the blast-radius limit as a whole, journals the
// intent before each change and the outcome after it, and undoes a run on
// request (Rollback). A run that died is reconciled by the next one from
// the live state, so no change goes unrecorded and none is made twice.
//
// It imports only the root, audit and policy: it acts through the root
// Executor and Store interfaces, never an adapter. app and cmd import it.
package apply

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
)

// Crash-injection points, in the order an action passes them.
const (
	HookBeforeIntent = "before-intent"
	HookAfterIntent  = "after-intent"
	HookAfterApply   = "after-apply"
	HookAfterOutcome = "after-outcome"
)

// HookPoints lists the crash-injection points in order.
var HookPoints = []string{HookBeforeIntent, HookAfterIntent, HookAfterApply, HookAfterOutcome}

// Options are the dependencies and guards of Apply, Rollback and Reconcile.
type Options struct {
	Store     iamprune.Store
	Executors map[iamprune.ActionKind]iamprune.Executor
	// Members returns the executors that act in another account of the
	// organisation (through the role assumed there), or why it cannot be
	// reached: then that account's actions fail and the others go on. nil
	// means only Account can be changed.
	Members func(ctx context.Context, account string) (map[iamprune.ActionKind]iamprune.Executor, error)
	// Findings re-reads findings (status, updatedAt); nil skips those
	// checks (snapshot mode).
	Findings iamprune.FindingGetter
	// Protection and Exceptions are re-checked at apply time, even for a
	// saved plan.
	Protection iamprune.Protection
	Exceptions []iamprune.Exception
	// Account is the account the credentials act in (sts caller account).
	Account string
	// Accounts is the config's allowlist; empty allows any account.
	Accounts []string
	// Scope, when set, confines a run to one account (a fanned-out
	// sweep's message): only that account is locked and reconciled, the
	// run is recorded under it, and an action in another account refuses
	// the run. Runs of other accounts proceed alongside.
	Scope string
	// MaxActions is the blast radius: how many changes one run may make.
	// 0 allows none.
	MaxActions int
	// Saved: the plan came from a file and is refused when stale.
	Saved bool
	// KeyDeleteAfterDays is the rule's grace period: a key is deleted only
	// when the journal shows iamprune deactivated it at least this many
	// days ago. 0 never deletes a key.
	KeyDeleteAfterDays int
	Now                func() time.Time
	Audit              *audit.Logger
	// Owner is the lock holder (host, pid, user, start) recorded with the
	// lock, for the message a concurrent run gets.
	Owner   iamprune.LockOwner
	LockTTL time.Duration
	// Logger receives the warnings of lock handling (a stale lock broken,
	// a lock lost); nil discards them.
	Logger *slog.Logger
	// HoldDays is how long Rollback holds each item it undid, so that it
	// is not remediated again meanwhile; 0 sets no hold.
	HoldDays int
	// RunID names the new run; empty generates one (NewRunID). Set it when
	// the executors must know it in advance (they tag what they change).
	RunID string
	// Hook injects crashes in tests: an error at a point makes Apply (or
	// Rollback) return at once, as if the process died there. nil in
	// production.
	Hook func(point string, a iamprune.Action) error
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LockTTL <= 0 {
		o.LockTTL = DefaultLockTTL
	}
	if o.Owner.Host == "" {
		o.Owner.Host = "iamprune"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) now() time.Time { return o.Now().UTC() }

// executor returns the executor of kind acting in account, or why there is
// none.
func (o Options) executor(ctx context.Context, account string, kind iamprune.ActionKind) (iamprune.Executor, error) {
	execs := o.Executors
	if account != "" && account != o.Account {
		if o.Members == nil {
			return nil, fmt.Errorf("account %s is not the account of the credentials (%s) and no member role is configured (accounts.role_name)", account, o.Account)
		}
		var err error
		if execs, err = o.Members(ctx, account); err != nil {
			return nil, err
		}
	}
	if ex := execs[kind]; ex != nil {
		return ex, nil
	}
	return nil, fmt.Errorf("no executor for %s", kind)
}

// accountsOf returns home and the accounts of actions, sorted: the order
// runs take their locks in.
func accountsOf(actions []iamprune.Action, home string) []string {
	out := actionAccounts(append([]iamprune.Action{{Account: home}}, actions...))
	out = slices.DeleteFunc(out, func(a string) bool { return a == "" })
	slices.Sort(out)
	return out
}

// NewRunID returns a fresh run id: the UTC time, sortable, and a random
// suffix so that two runs in the same second differ.
func NewRunID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Apply applies the remediations of plan (see the package comment). A
// refusal by a guard (account, allowlist, stale plan, blast radius) is a
// RunResult with Refused set and no error; a held lock, a bad plan or a
// failing state store is an error. Non-remediation entries (notify,
// exempt, ...) are not acted on and not reported.
func Apply(ctx context.Context, plan *iamprune.Plan, o Options) (*iamprune.RunResult, error) {
	o = o.withDefaults()
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	actions, err := remediations(plan)
	if err != nil {
		return nil, err
	}
	if why := accountGuard(plan, actions, o); why != "" {
		o.Audit.Log(audit.Event{Event: audit.RunRefused, Account: o.Account, Kind: string(iamprune.RunApply), Status: iamprune.RunRefused, Detail: why})
		return &iamprune.RunResult{Results: []iamprune.ActionResult{}, Refused: why}, nil
	}
	r := iamprune.Run{ID: o.RunID, Kind: iamprune.RunApply, Account: cmp.Or(o.Scope, o.Account), Caller: o.Protection.Caller, Status: iamprune.RunRunning, StartedAt: o.now()}
	if r.ID == "" {
		r.ID = NewRunID(r.StartedAt)
	}
	o = o.forRun(r.ID)
	// Every account the run changes is locked, in a fixed order so that two
	// runs cannot deadlock, and what died there is reconciled first. The
	// run acts under the locks' context: losing a lock stops it.
	lk := newLocks(ctx, o, "apply")
	defer lk.release(ctx)
	ctx = lk.ctx
	locked := accountsOf(actions, o.Account)
	if o.Scope != "" {
		locked = []string{o.Scope}
	}
	for _, account := range locked {
		if err := lk.take(account); err != nil {
			return nil, err
		}
		if _, err := reconcile(ctx, account, o); err != nil {
			return nil, err
		}
	}

	if !plan.GeneratedAt.IsZero() {
		at := plan.GeneratedAt.UTC()
		r.PlanGeneratedAt = &at
	}
	r.PlanCounts = plan.PendingCounts()
	if err := startRun(ctx, o, r); err != nil {
		return nil, err
	}
	res := &iamprune.RunResult{RunID: r.ID, Results: []iamprune.ActionResult{}}

	checks := prepass(ctx, actions, o)
	if why := staleReason(checks); why != "" {
		return refuse(ctx, o, r, res, why)
	}
	if why := blastRadius(checks, o.MaxActions); why != "" {
		return refuse(ctx, o, r, res, why)
	}

	return runEach(ctx, o, r, res, checks, "", func(c *check) (iamprune.ActionResult, error) {
		if err := lk.stopped(ctx, o, r); err != nil {
			return iamprune.ActionResult{}, err
		}
		return execute(ctx, o, r.ID, c)
	})
}

// runEach carries out each item in order, collecting the results, and
// closes the run as succeeded or failed. An error from do means the run
// must stop at once (a crash was injected or the journal cannot be written)
// and leaves it open, for the next run to reconcile.
func runEach[T any](ctx context.Context, o Options, r iamprune.Run, res *iamprune.RunResult, items []T, detailPrefix string,
	do func(T) (iamprune.ActionResult, error)) (*iamprune.RunResult, error) {
	failed := false
	for _, it := range items {
		ar, err := do(it)
		if err != nil {
			return nil, err
		}
		failed = failed || ar.Status == iamprune.ResultFailed
		res.Results = append(res.Results, ar)
	}
	status := iamprune.RunSucceeded
	if failed {
		status = iamprune.RunFailed
	}
	if err := finishRun(ctx, o, r, status, detailPrefix+summary(res.Results)); err != nil {
		return nil, err
	}
	return res, nil
}

// execute journals and carries out one checked action. An error means the
// run must stop: a crash was injected or the journal cannot be written.
func execute(ctx context.Context, o Options, runID string, c *check) (iamprune.ActionResult, error) {
	a := c.action
	rec := record(runID, a, c.pre.PreImage, o.now())
	if c.status != "" {
		// Nothing to change: journal the decision in one write, for history.
		rec.Status, rec.Detail, rec.FinishedAt = c.status, c.detail, &rec.StartedAt
		if err := o.Store.BeginAction(ctx, rec); err != nil {
			return iamprune.ActionResult{}, journalError(ctx, o, runID, a, err)
		}
		o.Audit.Log(audit.ForAction(actionEvent[c.status], runID, a, c.status, c.detail))
		return result(a, c.status, c.detail), nil
	}
	if err := hook(o, HookBeforeIntent, a); err != nil {
		return iamprune.ActionResult{}, err
	}
	if err := o.Store.BeginAction(ctx, rec); err != nil {
		return iamprune.ActionResult{}, journalError(ctx, o, runID, a, err)
	}
	o.Audit.Log(audit.ForAction(audit.ActionStarted, runID, a, iamprune.ResultPending, ""))
	if err := hook(o, HookAfterIntent, a); err != nil {
		return iamprune.ActionResult{}, err
	}
	post, applyErr := c.executor.Apply(withSteps(ctx, o, runID, a.ID), a, c.pre)
	if err := hook(o, HookAfterApply, a); err != nil {
		return iamprune.ActionResult{}, err
	}
	if applyErr != nil && ctx.Err() != nil {
		return iamprune.ActionResult{}, stopped(ctx, o, runID, a)
	}
	status, detail := iamprune.ResultDone, describe(a)+c.note
	if applyErr != nil {
		// The post-image is kept: it says what a failed change made
		// before it stopped, for rollback.
		status, detail = iamprune.ResultFailed, applyErr.Error()
	}
	// The outcome is known: journal it even if the run is being stopped.
	if err := o.Store.FinishAction(context.WithoutCancel(ctx), runID, a.ID, status, detail, post, o.now()); err != nil {
		return iamprune.ActionResult{}, journalError(ctx, o, runID, a, err)
	}
	o.Audit.Log(audit.ForAction(actionEvent[status], runID, a, status, detail))
	if err := hook(o, HookAfterOutcome, a); err != nil {
		return iamprune.ActionResult{}, err
	}
	return result(a, status, detail), nil
}

// withSteps has the executor journal each of its writes under the
// action's record.
func withSteps(ctx context.Context, o Options, runID, actionID string) context.Context {
	return iamprune.WithStepJournal(ctx, func(ctx context.Context, s iamprune.Step) error {
		if err := o.Store.RecordStep(ctx, runID, actionID, s); err != nil {
			return fmt.Errorf("apply: cannot journal step %d of action %s of run %s: %w", s.Seq, actionID, runID, err)
		}
		return nil
	})
}

var actionEvent = map[string]string{
	iamprune.ResultDone:        audit.ActionDone,
	iamprune.ResultAlreadyDone: audit.ActionAlreadyDone,
	iamprune.ResultSkipped:     audit.ActionSkipped,
	iamprune.ResultFailed:      audit.ActionFailed,
}

func hook(o Options, point string, a iamprune.Action) error {
	if o.Hook == nil {
		return nil
	}
	if err := o.Hook(point, a); err != nil {
		return fmt.Errorf("apply: stopped at %s of action %s: %w", point, a.ID, err)
	}
	return nil
}

// journalError stops the run when the journal cannot be written: acting
// without a journal would break the promise that nothing goes unrecorded.
// The run is marked failed if the store still answers; otherwise the next
// run finds it running and closes it as interrupted.
func journalError(ctx context.Context, o Options, runID string, a iamprune.Action, err error) error {
	if ctx.Err() != nil {
		return stopped(ctx, o, runID, a)
	}
	err = fmt.Errorf("apply: cannot journal action %s of run %s: %w", a.ID, runID, err)
	_ = o.Store.FinishRun(context.WithoutCancel(ctx), runID, iamprune.RunFailed, err.Error(), o.now())
	return err
}

// stopped closes a run whose context was cancelled (SIGINT, SIGTERM, or a
// lost lock) in the middle of action a. Whether a change in flight was
// made is unknown, so its intent stays pending: the next apply or rollback
// resolves it from the live state, as for a run that died.
func stopped(ctx context.Context, o Options, runID string, a iamprune.Action) error {
	cause := context.Cause(ctx)
	detail := fmt.Sprintf("stopped during action %s (%v); the next apply or rollback resolves it from the live state", a.ID, cause)
	if err := o.Store.FinishRun(context.WithoutCancel(ctx), runID, iamprune.RunInterrupted, detail, o.now()); err == nil {
		o.Audit.Log(audit.Event{Event: audit.RunInterrupted, RunID: runID, Account: o.Account, Status: iamprune.RunInterrupted, Detail: detail})
	}
	return fmt.Errorf("apply: run %s %s: %w", runID, detail, cause)
}

func record(runID string, a iamprune.Action, pre []byte, at time.Time) iamprune.ActionRecord {
	return iamprune.ActionRecord{
		RunID: runID, ActionID: a.ID, Account: a.Account, FindingID: a.FindingID, Principal: a.Principal,
		FindingType: a.FindingType, Kind: a.Kind, Target: a.Target, Services: a.Services,
		Status: iamprune.ResultPending, PreImage: pre, StartedAt: at,
	}
}

func result(a iamprune.Action, status, detail string) iamprune.ActionResult {
	return iamprune.ActionResult{ActionID: a.ID, Principal: a.Principal, Kind: a.Kind, Target: a.Target, Status: status, Detail: detail}
}

// describe says what a successful change did, for the journal and output.
func describe(a iamprune.Action) string {
	switch a.Kind {
	case iamprune.KindDeactivateAccessKey:
		return "access key " + a.Target + " deactivated"
	case iamprune.KindDeleteAccessKey:
		return "access key " + a.Target + " deleted"
	case iamprune.KindDeleteLoginProfile:
		return "login profile of " + a.Target + " deleted"
	case iamprune.KindQuarantineRole:
		return "role " + a.Target + " quarantined"
	case iamprune.KindDenyUnusedServices:
		return fmt.Sprintf("denied %s to %s", strings.Join(a.Services, ", "), a.Target)
	case iamprune.KindRewritePolicy:
		var names []string
		for _, c := range a.Policies {
			names = append(names, fmt.Sprintf("%s (%s)", c.Name, c.Method))
		}
		return fmt.Sprintf("rewrote the policies of %s without %s: %s", a.Target, strings.Join(a.Services, ", "), strings.Join(names, ", "))
	}
	return string(a.Kind) + " " + a.Target + " done"
}

// summary is the run's detail: how many actions ended in each status.
func summary(rs []iamprune.ActionResult) string {
	n := map[string]int{}
	for _, r := range rs {
		n[r.Status]++
	}
	return fmt.Sprintf("%d done, %d already done, %d skipped, %d failed",
		n[iamprune.ResultDone], n[iamprune.ResultAlreadyDone], n[iamprune.ResultSkipped], n[iamprune.ResultFailed])
}

func startRun(ctx context.Context, o Options, r iamprune.Run) error {
	if err := o.Store.CreateRun(ctx, r); err != nil {
		return fmt.Errorf("apply: cannot record run %s: %w", r.ID, err)
	}
	// The audit trail is part of the safety case: if its first line cannot
	// be written, change nothing.
	if err := o.Audit.Log(audit.ForRun(audit.RunStarted, r)); err != nil {
		_ = o.Store.FinishRun(ctx, r.ID, iamprune.RunRefused, err.Error(), o.now())
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}

func finishRun(ctx context.Context, o Options, r iamprune.Run, status, detail string) error {
	if err := o.Store.FinishRun(ctx, r.ID, status, detail, o.now()); err != nil {
		return fmt.Errorf("apply: cannot finish run %s: %w", r.ID, err)
	}
	r.Status, r.Detail = status, detail
	event := audit.RunFinished
	if status == iamprune.RunRefused {
		event = audit.RunRefused
	}
	o.Audit.Log(audit.ForRun(event, r))
	return nil
}

// refuse closes a run that a guard stopped before any change.
func refuse(ctx context.Context, o Options, r iamprune.Run, res *iamprune.RunResult, why string) (*iamprune.RunResult, error) {
	if err := finishRun(ctx, o, r, iamprune.RunRefused, why); err != nil {
		return nil, err
	}
	res.Refused = why
	return res, nil
}
