package app

import (
	"context"
	"fmt"
	"io"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
)

// RollbackRequest is one rollback of an apply run.
type RollbackRequest struct {
	Store iamprune.Store
	RunID string
	// Actions limits the rollback to these action ids; nil undoes the run.
	Actions []string
	// Config says how to reach member accounts the run changed, and
	// holds.days.
	Config iamprune.Config
	// HoldDays overrides holds.days when not negative.
	HoldDays int
	// Consent is asked before anything changes; nil consents.
	Consent func(Consent) error
	Audit   io.Writer
	Owner   iamprune.LockOwner
}

// RollbackResult is what a rollback did.
type RollbackResult struct {
	Run *iamprune.RunResult
	// HoldDays is how long each rolled-back item is held; 0: no hold.
	HoldDays int
}

// Rollback undoes an apply run, newest change first, from the journal's
// pre-images, and holds what it undid. A result is returned with the
// error when holds could not be recorded: it may carry a one-time
// password that must be shown.
func Rollback(ctx context.Context, env Env, r RollbackRequest) (*RollbackResult, error) {
	run, err := FindRun(ctx, r.Store, r.RunID)
	if err != nil {
		return nil, err
	}
	if run.Kind != iamprune.RunApply {
		return nil, iamprune.Errorf(iamprune.EINVALID, "run %s is a %s run; only apply runs can be rolled back", run.ID, run.Kind)
	}
	sess, err := OpenSession(ctx, env.LoadAWS, iamprune.AnalyzerAuto)
	if err != nil {
		return nil, err
	}
	caller, acct, err := sess.Caller(ctx)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("roll back run %s in account %s", run.ID, run.Account)
	if len(r.Actions) > 0 {
		what = fmt.Sprintf("roll back %d action(s) of run %s in account %s", len(r.Actions), run.ID, run.Account)
	}
	if r.Consent != nil {
		if err := r.Consent(Consent{Account: acct, What: []string{what}}); err != nil {
			return nil, err
		}
	}
	if _, err := sess.OrgFacts(ctx, r.Config); err != nil {
		return nil, err
	}
	opts := RunOptions(env, &Planned{Inputs: Inputs{Config: r.Config}, Session: sess, Caller: caller}, r.Store, acct, r.Audit, r.Owner)
	opts.HoldDays = r.Config.Holds.Days
	if r.HoldDays >= 0 {
		opts.HoldDays = r.HoldDays
	}
	res, err := apply.Rollback(ctx, run.ID, r.Actions, opts)
	if res == nil {
		return nil, err
	}
	return &RollbackResult{Run: res, HoldDays: opts.HoldDays}, err
}
