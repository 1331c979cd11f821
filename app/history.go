package app

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/render"
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

// HistoryQuery is what 'history' shows: one run's journal (RunID), one
// sweep's progress (Sweep), else the runs of Account, at most Limit.
type HistoryQuery struct {
	RunID, Sweep, Account string
	Limit                 int
}

// ShowHistory writes what q asks for in format; store may be nil (no
// state store yet).
func ShowHistory(ctx context.Context, w io.Writer, store iamprune.Store, q HistoryQuery, format string) error {
	switch {
	case q.RunID != "" && q.Sweep != "":
		return iamprune.Errorf(iamprune.EINVALID, "history: give a run id or --sweep, not both")
	case q.Account != "" && !iamprune.IsAccountID(q.Account):
		return iamprune.Errorf(iamprune.EINVALID, "--account: %q is not a 12-digit AWS account id", q.Account)
	case store == nil && q.RunID != "":
		return NoSuchRun(q.RunID, "no state store yet")
	case store == nil && q.Sweep != "":
		return iamprune.Errorf(iamprune.EINVALID, "no sweep %s: no state store yet ('iamprune sweep' starts one)", q.Sweep)
	case store == nil:
		return render.Runs(w, nil, format)
	case q.Sweep != "":
		l, err := sweepLog(store)
		if err != nil {
			return err
		}
		sw, parts, err := l.Sweep(ctx, q.Sweep)
		if iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
			return iamprune.Errorf(iamprune.EINVALID, "no sweep %s in the state store: 'iamprune sweep' prints the id of the sweep it starts", q.Sweep)
		}
		if err != nil {
			return err
		}
		if q.Account != "" { // that account's messages; the sweep's counts stay whole
			parts = slices.DeleteFunc(parts, func(p iamprune.SweepPart) bool { return p.Account != q.Account })
		}
		return render.SweepProgress(w, sw, parts, format)
	case q.RunID != "":
		run, recs, err := Journal(ctx, store, q.RunID)
		if err != nil {
			return err
		}
		return render.RunDetail(w, run, recs, format)
	}
	runs, err := History(ctx, store, q.Account, q.Limit)
	if err != nil {
		return err
	}
	return render.Runs(w, runs, format)
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
