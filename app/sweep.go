package app

import (
	"cmp"
	"context"
	"slices"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/trigger"
)

// Sweep plans every ACTIVE finding of the analyzer and applies the plan,
// as 'apply --yes' does: reconciliation, reminders, expiring exceptions
// and delayed deletes. With sweep.queue_url set it only fans out to that
// queue instead (Enqueue). A sweep runs in the account of the credentials: a
// schedule of another account (not in the config's accounts allowlist)
// routed here is refused with nothing done.
func (h *Handler) Sweep(ctx context.Context, inv *Invocation, s *trigger.Sweep) (*EventResult, error) {
	if inv.Inputs.Config.Sweep.QueueURL != "" {
		return h.Enqueue(ctx, inv, s) // fan out (fanout.go)
	}
	log := h.Env.log()
	log.Info("sweep", "source", s.Source, "id", s.ID)
	analyzer := cmp.Or(inv.Inputs.Config.Analyzer, iamprune.AnalyzerAuto)
	sess := NewSession(inv.AWS, inv.Counter, analyzer)
	_, acct, err := sess.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if s.Account != "" && s.Account != acct && !slices.Contains(inv.Inputs.Config.Accounts, s.Account) {
		return nil, iamprune.Errorf(iamprune.EINVALID, "lambda: sweep event %s is for account %s, but iamprune runs in account %s (and %s is not in the config's accounts allowlist): nothing done", s.ID, s.Account, acct, s.Account)
	}
	org, err := sess.OrgFacts(ctx, inv.Inputs.Config)
	if err != nil {
		return nil, err
	}
	// As plan and apply: roles and passwords need no GetFindingV2 where
	// IAM gives their last use, and accounts are read in parallel.
	sess.Findings.UseIAM(org)
	plan, facts, err := DecideAnalyzer(ctx, sess.Findings, org, inv.Inputs, inv.Store, "analyzer "+analyzer, log)
	if err != nil {
		return nil, err
	}
	LogUnreachable(facts, log)
	WarnNoChannels(inv.Inputs.Config, plan, log)
	planned := &Planned{Plan: plan, Inputs: inv.Inputs, Session: sess, Facts: facts, Caller: facts.Caller}
	run, err := h.apply(ctx, inv, planned)
	if err != nil {
		return nil, err
	}
	h.PublishSweepReport(ctx, inv, planned)
	return &EventResult{Kind: trigger.KindSweep, Outcome: OutcomeSwept, Run: run}, RunError(run)
}
