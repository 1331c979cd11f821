package app

import (
	"context"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
)

// History lists the runs of the state store, newest first (account ""
// means all, limit <= 0 all), a run whose process died shown as
// interrupted.
func History(ctx context.Context, store iamprune.Store, account string, limit int) ([]iamprune.Run, error) {
	runs, err := store.Runs(ctx, account, limit)
	if err != nil {
		return nil, err
	}
	for i := range runs {
		if err := showInterrupted(ctx, store, &runs[i]); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// Journal returns one run, shown as History shows it, with its actions.
func Journal(ctx context.Context, store iamprune.Store, runID string) (*iamprune.Run, []iamprune.ActionRecord, error) {
	run, err := FindRun(ctx, store, runID)
	if err != nil {
		return nil, nil, err
	}
	recs, err := store.Actions(ctx, run.ID)
	if err != nil {
		return nil, nil, err
	}
	if err := showInterrupted(ctx, store, run); err != nil {
		return nil, nil, err
	}
	return run, recs, nil
}

// showInterrupted shows a run recorded as running whose process died as
// interrupted, which is what the next apply or rollback will record.
func showInterrupted(ctx context.Context, store iamprune.Store, r *iamprune.Run) error {
	why, err := apply.Interrupted(ctx, store, *r)
	if err != nil || why == "" {
		return err
	}
	r.Status = iamprune.RunInterrupted
	r.Detail = strings.TrimPrefix(r.Detail+"; ", "; ") + "interrupted: " + why + "; the next apply or rollback reconciles it"
	return nil
}

// FindRun reads a run the user named. An unknown id is bad input
// (EINVALID), pointing to history, whatever the store's own words.
func FindRun(ctx context.Context, store iamprune.Store, runID string) (*iamprune.Run, error) {
	run, err := store.Run(ctx, runID)
	if iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
		return nil, NoSuchRun(runID, "")
	}
	return run, err
}

// NoSuchRun is the error for a run id that names no run; why adds to it.
func NoSuchRun(runID, why string) error {
	if why != "" {
		why = " (" + why + ")"
	}
	return iamprune.Errorf(iamprune.EINVALID, "no run %s in the state store%s: 'iamprune history' lists the runs", runID, why)
}
