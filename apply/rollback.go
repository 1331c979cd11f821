package apply

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
)

// Rollback undoes the changes of apply run runID, or only those of
// actionIDs, newest first, restoring each pre-image through its executor.
// It is itself a journaled run (kind rollback) and idempotent: a change
// already rolled back is reported already-done without an executor call.
// A secret an executor returns (a recreated login profile's one-time
// password) appears only in the returned result's Detail, never in the
// store or the audit log. Rollback is not limited by MaxActions: undoing
// must always be possible. o.Findings, Protection and Exceptions are
// unused.
func Rollback(ctx context.Context, runID string, actionIDs []string, o Options) (*iamprune.RunResult, error) {
	o = o.withDefaults()
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	orig, err := o.Store.Run(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("rollback: %w", err)
	}
	if orig.Kind != iamprune.RunApply {
		return nil, iamprune.Errorf(iamprune.EINVALID, "rollback: run %s is a %s run; only apply runs can be rolled back", runID, orig.Kind)
	}
	if orig.Account != o.Account && !confinedFrom(orig, o.Account) {
		why := fmt.Sprintf("run %s changed account %s, credentials act in %s", runID, orig.Account, o.Account)
		o.Audit.Log(audit.Event{Event: audit.RunRefused, Account: o.Account, Kind: string(iamprune.RunRollback), Status: iamprune.RunRefused, Detail: why})
		return &iamprune.RunResult{Results: []iamprune.ActionResult{}, Refused: why}, nil
	}
	r := iamprune.Run{ID: o.RunID, Kind: iamprune.RunRollback, Account: o.Account, Caller: o.Protection.Caller,
		Status: iamprune.RunRunning, StartedAt: o.now(), Detail: "rollback of run " + runID}
	if r.ID == "" {
		r.ID = NewRunID(r.StartedAt)
	}
	o = o.forRun(r.ID)
	lk := newLocks(ctx, o, "rollback")
	defer lk.release(ctx)
	ctx = lk.ctx
	if err := lk.take(o.Account); err != nil {
		return nil, err
	}
	recs, why, err := reconciledJournal(ctx, o, lk, runID)
	if err != nil {
		return nil, err
	}
	if why != "" {
		o.Audit.Log(audit.Event{Event: audit.RunRefused, Account: o.Account, Kind: string(iamprune.RunRollback), Status: iamprune.RunRefused, Detail: why})
		return &iamprune.RunResult{Results: []iamprune.ActionResult{}, Refused: why}, nil
	}
	todo, err := selectUndo(runID, recs, actionIDs)
	if err != nil {
		return nil, err
	}

	if err := startRun(ctx, o, r); err != nil {
		return nil, err
	}
	res := &iamprune.RunResult{RunID: r.ID, Results: []iamprune.ActionResult{}}
	res, err = runEach(ctx, o, r, res, todo, "rollback of run "+runID+": ", func(rec iamprune.ActionRecord) (iamprune.ActionResult, error) {
		if err := lk.stopped(ctx, o, r); err != nil {
			return iamprune.ActionResult{}, err
		}
		return undo(ctx, o, r.ID, rec)
	})
	if err != nil {
		return nil, err
	}
	// The changes are undone whatever happens to the holds: the result
	// (with any one-time password) is returned with the error.
	if err := recordHolds(context.WithoutCancel(ctx), o, r, runID, todo, res); err != nil {
		return res, err
	}
	return res, nil
}

// confinedFrom reports whether run was confined to a member account (a
// fanned-out sweep's message, recorded under that account) by credentials
// of account, which reach the member through its role as the run did.
func confinedFrom(run *iamprune.Run, account string) bool {
	a, ok := iamprune.ParseARN(run.Caller)
	return ok && a.Account == account
}

// reconciledJournal reconciles the accounts run runID changed, under their
// locks, and returns its journal; why is set when an account it changed is
// not allowed.
func reconciledJournal(ctx context.Context, o Options, lk *locks, runID string) (recs []iamprune.ActionRecord, why string, err error) {
	// Reconcile first: an intent the original run left pending may turn
	// out done, and then it must be undone too.
	if _, err := reconcile(ctx, o.Account, o); err != nil {
		return nil, "", err
	}
	recs, err = o.Store.Actions(ctx, runID)
	if err != nil {
		return nil, "", fmt.Errorf("rollback: cannot read the journal of run %s: %w", runID, err)
	}
	// The accounts the run changed must be allowed; the member accounts
	// among them are locked and reconciled like the home account, and the
	// journal read again.
	var touched []iamprune.Action
	for _, rec := range recs {
		touched = append(touched, iamprune.Action{Account: cmp.Or(rec.Account, o.Account)})
	}
	for _, account := range actionAccounts(touched) {
		if why := allowlistGuard(account, o); why != "" {
			return nil, why, nil
		}
	}
	members := slices.DeleteFunc(actionAccounts(touched), func(a string) bool { return a == o.Account })
	if len(members) > 0 {
		slices.Sort(members)
		for _, account := range members {
			if err := lk.take(account); err != nil {
				return nil, "", err
			}
			if _, err := reconcile(ctx, account, o); err != nil {
				return nil, "", err
			}
		}
		if recs, err = o.Store.Actions(ctx, runID); err != nil {
			return nil, "", fmt.Errorf("rollback: cannot read the journal of run %s: %w", runID, err)
		}
	}
	return recs, "", nil
}

// selectUndo returns the journal entries to undo, newest first: every
// change the run made, or the listed actions (an id the run does not have
// is bad input; one it did not change is reported skipped).
func selectUndo(runID string, recs []iamprune.ActionRecord, actionIDs []string) ([]iamprune.ActionRecord, error) {
	byID := map[string]bool{}
	for _, rec := range recs {
		byID[rec.ActionID] = true
	}
	for _, id := range actionIDs {
		if !byID[id] {
			return nil, iamprune.Errorf(iamprune.EINVALID, "rollback: run %s has no action %s", runID, id)
		}
	}
	var out []iamprune.ActionRecord
	for _, rec := range slices.Backward(recs) {
		if len(actionIDs) == 0 && !undoable(rec) {
			continue
		}
		if len(actionIDs) > 0 && !slices.Contains(actionIDs, rec.ActionID) {
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}

// undoable reports whether a journal entry may hold changes to undo: a
// change made, or one that failed or was interrupted part-way, which its
// journaled steps or partial post-image describe. A failed policy rewrite
// or quarantine needs only its pre-image: their executors restore it from
// the live state, removing only iamprune's own marks, whatever part was
// made, and report already-done when nothing was.
func undoable(rec iamprune.ActionRecord) bool {
	switch {
	case rec.Status == iamprune.ResultDone:
		return true
	case rec.Status != iamprune.ResultFailed || rec.RollbackOf != "":
		return false
	case len(rec.Steps) > 0 || len(rec.PostImage) > 0:
		return len(rec.PreImage) > 0
	case rec.Kind == iamprune.KindRewritePolicy, rec.Kind == iamprune.KindQuarantineRole:
		return len(rec.PreImage) > 0
	}
	return false
}

// undo rolls back one journal entry of the original run, journaling the
// rollback like any change: intent (with the original's pre-image), the
// executor call, outcome.
func undo(ctx context.Context, o Options, runID string, orig iamprune.ActionRecord) (iamprune.ActionResult, error) {
	a := actionOf(orig)
	of := orig.RunID + "/" + orig.ActionID
	rec := record(runID, a, orig.PreImage, o.now())
	rec.RollbackOf = of

	final := func(status, detail string) (iamprune.ActionResult, error) {
		rec.Status, rec.Detail, rec.FinishedAt = status, detail, &rec.StartedAt
		if err := o.Store.BeginAction(ctx, rec); err != nil {
			return iamprune.ActionResult{}, journalError(ctx, o, runID, a, err)
		}
		o.Audit.Log(audit.ForAction(rollbackEvent[status], runID, a, status, detail))
		return result(a, status, detail), nil
	}
	if !undoable(orig) {
		return final(iamprune.ResultSkipped, fmt.Sprintf("run %s did not change it (%s)", orig.RunID, orig.Status))
	}
	by, err := rolledBackBy(ctx, o.Store, orig)
	if err != nil {
		return iamprune.ActionResult{}, fmt.Errorf("rollback: %w", err)
	}
	if by != "" {
		return final(iamprune.ResultAlreadyDone, "already rolled back by run "+by)
	}
	later, err := completedLater(ctx, o.Store, orig)
	if err != nil {
		return iamprune.ActionResult{}, fmt.Errorf("rollback: %w", err)
	}
	if later != "" {
		// Refused, so the rollback exits 1: a script must not take the
		// change as undone.
		return final(iamprune.ResultFailed, fmt.Sprintf("not undone: run %s failed part-way and run %s completed the change; roll back run %s first (that undoes all of it), then this run again", orig.RunID, later, later))
	}
	ex, err := o.executor(ctx, orig.Account, orig.Kind)
	if err != nil {
		return final(iamprune.ResultFailed, err.Error())
	}

	if err := hook(o, HookBeforeIntent, a); err != nil {
		return iamprune.ActionResult{}, err
	}
	if err := o.Store.BeginAction(ctx, rec); err != nil {
		return iamprune.ActionResult{}, journalError(ctx, o, runID, a, err)
	}
	o.Audit.Log(audit.ForAction(audit.RollbackStarted, runID, a, iamprune.ResultPending, "rollback of "+of))
	if err := hook(o, HookAfterIntent, a); err != nil {
		return iamprune.ActionResult{}, err
	}
	out, rbErr := ex.Rollback(ctx, orig)
	if err := hook(o, HookAfterApply, a); err != nil {
		return iamprune.ActionResult{}, err
	}
	if rbErr != nil && ctx.Err() != nil {
		return iamprune.ActionResult{}, stopped(ctx, o, runID, a)
	}
	status, detail := iamprune.ResultDone, out.Detail
	switch {
	case rbErr != nil:
		status, detail = iamprune.ResultFailed, rbErr.Error()
	case out.AlreadyDone:
		status = iamprune.ResultAlreadyDone
	}
	if detail == "" {
		detail = "rollback of " + of
	}
	// The secret must never reach the journal or the audit log, even if an
	// executor echoed it in its detail or error.
	detail = redact(detail, out.Secret)
	if err := o.Store.FinishAction(context.WithoutCancel(ctx), runID, a.ID, status, detail, nil, o.now()); err != nil {
		return iamprune.ActionResult{}, journalError(ctx, o, runID, a, err)
	}
	o.Audit.Log(audit.ForAction(rollbackEvent[status], runID, a, status, detail))
	if err := hook(o, HookAfterOutcome, a); err != nil {
		return iamprune.ActionResult{}, err
	}
	if out.Secret != "" {
		detail += "; one-time password (shown once, never stored): " + out.Secret
	}
	return result(a, status, detail), nil
}

var rollbackEvent = map[string]string{
	iamprune.ResultDone:        audit.RollbackDone,
	iamprune.ResultAlreadyDone: audit.RollbackAlreadyDone,
	iamprune.ResultSkipped:     audit.RollbackSkipped,
	iamprune.ResultFailed:      audit.RollbackFailed,
}

// rolledBackBy returns the run that already undid orig, or "". A rollback
// that failed or was interrupted does not count: the next one retries.
func rolledBackBy(ctx context.Context, st iamprune.Store, orig iamprune.ActionRecord) (string, error) {
	recs, err := st.FindActions(ctx, iamprune.ActionFilter{Account: orig.Account, ActionID: orig.ActionID})
	if err != nil {
		return "", fmt.Errorf("cannot read the rollbacks of %s/%s: %w", orig.RunID, orig.ActionID, err)
	}
	of := orig.RunID + "/" + orig.ActionID
	for _, r := range recs {
		if r.RollbackOf == of && (r.Status == iamprune.ResultDone || r.Status == iamprune.ResultAlreadyDone) {
			return r.RunID, nil
		}
	}
	return "", nil
}

// completedLater returns the run that completed, after orig failed
// part-way, the change orig began, and that is not rolled back; or "". The
// rollbacks of quarantine-role and rewrite-policy work from the live
// state, so undoing the failed run alone would lift the later run's
// complete change while the journal still counts it as made: the later
// run must be rolled back first. (deny-unused-services undoes exactly the
// policies each run wrote, in any order.)
func completedLater(ctx context.Context, st iamprune.Store, orig iamprune.ActionRecord) (string, error) {
	if orig.Status != iamprune.ResultFailed || (orig.Kind != iamprune.KindQuarantineRole && orig.Kind != iamprune.KindRewritePolicy) {
		return "", nil
	}
	recs, err := st.FindActions(ctx, iamprune.ActionFilter{Account: orig.Account, ActionID: orig.ActionID})
	if err != nil {
		return "", fmt.Errorf("cannot read the later runs of %s/%s: %w", orig.RunID, orig.ActionID, err)
	}
	for _, r := range recs {
		if r.RollbackOf != "" || r.RunID == orig.RunID || r.Status != iamprune.ResultDone || r.StartedAt.Before(orig.StartedAt) {
			continue
		}
		by, err := rolledBackBy(ctx, st, r)
		if err != nil {
			return "", err
		}
		if by == "" {
			return r.RunID, nil
		}
	}
	return "", nil
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}
