package apply

import (
	"context"
	"fmt"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
)

// Reconcile closes what runs that died left open in account, under the
// account's lock: every intent still pending is resolved from the live
// state (the change was made, or it was not), and every run still marked
// running is closed as interrupted. Apply and Rollback do this first on
// their own; this entry point serves commands that only read (history).
func Reconcile(ctx context.Context, account string, o Options) ([]iamprune.ActionResult, error) {
	o = o.withDefaults()
	if o.Store == nil || account == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "apply: reconcile needs a state store and an account")
	}
	lk := newLocks(ctx, o, "reconcile")
	defer lk.release(ctx)
	if err := lk.take(account); err != nil {
		return nil, err
	}
	return reconcile(lk.ctx, account, o)
}

// reconcile does the work of Reconcile; the caller holds the lock, so any
// run still running belongs to a process that died. An intent that cannot
// be resolved (the live state cannot be read) is an error: acting before
// knowing whether it happened could make the change twice.
func reconcile(ctx context.Context, account string, o Options) ([]iamprune.ActionResult, error) {
	pending, err := o.Store.FindActions(ctx, iamprune.ActionFilter{Account: account, Status: iamprune.ResultPending})
	if err != nil {
		return nil, fmt.Errorf("apply: cannot read interrupted actions: %w", err)
	}
	results := []iamprune.ActionResult{}
	for _, rec := range pending {
		status, detail, err := resolve(ctx, o, rec)
		if err != nil {
			return nil, fmt.Errorf("apply: cannot reconcile action %s of interrupted run %s: %w", rec.ActionID, rec.RunID, err)
		}
		if err := o.Store.FinishAction(ctx, rec.RunID, rec.ActionID, status, detail, nil, o.now()); err != nil {
			return nil, fmt.Errorf("apply: cannot reconcile action %s of interrupted run %s: %w", rec.ActionID, rec.RunID, err)
		}
		a := actionOf(rec)
		o.Audit.Log(audit.ForAction(audit.ActionReconciled, rec.RunID, a, status, detail))
		results = append(results, result(a, status, detail))
	}
	runs, err := o.Store.Runs(ctx, account, 0)
	if err != nil {
		return nil, fmt.Errorf("apply: cannot read interrupted runs: %w", err)
	}
	for _, r := range runs {
		if r.Status != iamprune.RunRunning {
			continue
		}
		detail := "interrupted; closed by a later run at " + o.now().Format(time.RFC3339)
		if err := o.Store.FinishRun(ctx, r.ID, iamprune.RunInterrupted, detail, o.now()); err != nil {
			return nil, fmt.Errorf("apply: cannot close interrupted run %s: %w", r.ID, err)
		}
		r.Status, r.Detail = iamprune.RunInterrupted, detail
		o.Audit.Log(audit.ForRun(audit.RunInterrupted, r))
	}
	return results, nil
}

// resolve decides the outcome of an intent whose process died. For a
// change, the live state says whether it happened. An interrupted rollback
// is recorded as failed, so that the original change still counts as not
// undone and the next rollback (idempotent) finishes the job.
func resolve(ctx context.Context, o Options, rec iamprune.ActionRecord) (status, detail string, err error) {
	if rec.RollbackOf != "" {
		return iamprune.ResultFailed, "rollback interrupted; run iamprune rollback again to finish it", nil
	}
	if rec.Kind == iamprune.KindRewritePolicy {
		// Several writes, judged against the plan's documents, which the
		// journal does not hold. Failed, it is planned again (and the
		// executor finishes what is missing) and rollback still restores
		// the pre-image, whatever part was made.
		return iamprune.ResultFailed, fmt.Sprintf("interrupted during the policy rewrite: plan and apply again to finish it, or 'iamprune rollback %s' to restore the policies as they were", rec.RunID), nil
	}
	ex, err := o.executor(ctx, rec.Account, rec.Kind)
	if err != nil {
		return "", "", fmt.Errorf("cannot read its live state: %w", err)
	}
	in, err := ex.Inspect(ctx, actionOf(rec))
	if err != nil {
		return "", "", err
	}
	if in.AlreadyDone {
		return iamprune.ResultDone, "completed before the run was interrupted", nil
	}
	detail = "interrupted before the change; it will be planned again"
	if n := doneSteps(rec); n > 0 {
		detail = fmt.Sprintf("interrupted after %d of its writes; apply again to finish it, or 'iamprune rollback %s' to undo them", n, rec.RunID)
	}
	if in.Skip != "" {
		detail += " (now: " + in.Skip + ")"
	}
	return iamprune.ResultFailed, detail, nil
}

// doneSteps counts the writes an action journaled as made.
func doneSteps(rec iamprune.ActionRecord) int {
	n := 0
	for _, s := range rec.Steps {
		if s.Status == iamprune.StepDone {
			n++
		}
	}
	return n
}

// actionOf rebuilds the action a journal entry was made for.
func actionOf(rec iamprune.ActionRecord) iamprune.Action {
	return iamprune.Action{
		ID: rec.ActionID, FindingID: rec.FindingID, Account: rec.Account, Principal: rec.Principal,
		FindingType: rec.FindingType, Kind: rec.Kind, Target: rec.Target, Services: rec.Services,
	}
}
