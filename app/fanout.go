package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/notify"
	"github.com/iamprune/iamprune/trigger"
	"github.com/iamprune/iamprune/worker"
)

// Fan-out sweeps (docs/fan-out.md): Enqueue (enqueue.go) only lists where
// each account's findings are and sends one SQS message per account, or
// per page of a large account; the queue's consumers (the Lambda function's
// SQS event source, 'iamprune worker') plan and apply each message with
// SweepPart, one account at a time under its lock. The state store's
// SweepLog ties the messages together, and the consumer whose message
// completes the sweep sends the organisation digest.

// DefaultLockRetry is how long a sweep message whose account another run
// holds stays invisible before it is tried again.
const DefaultLockRetry = 30 * time.Second

func sweepLog(store iamprune.Store) (iamprune.SweepLog, error) {
	if l, ok := store.(iamprune.SweepLog); ok {
		return l, nil
	}
	return nil, iamprune.Errorf(iamprune.EINVALID, "sweep: the state store does not record sweeps")
}

// sweepExists checks a sweep the cheap way when the store has one (a
// DynamoDB sweep of thousands of parts is not read for every message).
func sweepExists(ctx context.Context, l iamprune.SweepLog, id string) error {
	if c, ok := l.(iamprune.SweepChecker); ok {
		return c.SweepExists(ctx, id)
	}
	_, _, err := l.Sweep(ctx, id)
	return err
}

// SweepPart plans and applies one message of a fanned-out sweep: the
// ACTIVE findings of its account (or of its page), decided and applied as
// 'apply --yes' does, in a run confined to that account (only its lock is
// taken, so other accounts proceed in parallel). An account locked by
// another run is not a failure: the error is a *worker.RetryLater, and the
// message comes back later. Any other outcome is recorded in the sweep
// log; the call that completes the sweep sends the organisation digest.
func (h *Handler) SweepPart(ctx context.Context, inv *Invocation, m *iamprune.SweepMessage) (*EventResult, error) {
	log := h.Env.log().With("sweep_id", m.SweepID, "account", m.Account, "page", m.Page, "pages", m.Pages)
	sweeps, err := sweepLog(inv.Store)
	if err != nil {
		return nil, err
	}
	// A sweep this store does not know (enqueued with another state
	// store) would be applied and then fail to be recorded, again at every
	// delivery: refuse it before any change.
	if err := sweepExists(ctx, sweeps, m.SweepID); iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
		// The store's own message names its adapter: say it in the user's terms.
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "sweep message for account %s: sweep %s is not in this state store (was the sweep enqueued with another state store?); nothing done", m.Account, m.SweepID)
	} else if err != nil {
		return nil, fmt.Errorf("sweep message for account %s: %w; nothing done", m.Account, err)
	}
	analyzer, err := messageAnalyzer(inv.Inputs.Config.Analyzer, m)
	if err != nil {
		// Failed as any message that cannot be applied, so that history
		// --sweep says why it keeps coming back.
		part := iamprune.SweepPart{SweepID: m.SweepID, Account: m.Account, Page: m.Page, Status: iamprune.SweepFailed, Detail: err.Error()}
		_, _, ferr := sweeps.FinishSweepPart(ctx, part, h.Env.now())
		return nil, errors.Join(err, ferr)
	}
	sess := NewSession(inv.AWS, inv.Counter, analyzer)
	scope := awsapi.FindingScope{Account: m.Account, PageToken: m.PageToken, PageSize: m.PageSize}
	if m.Chain {
		scope.Next = func(ctx context.Context, token string) error { return h.chain(ctx, inv, sweeps, m, token) }
	}
	sess.Findings.Scope(scope)
	run, err := h.sweepRun(ctx, inv, sess, m)
	if iamprune.ErrorCode(err) == iamprune.ECONFLICT {
		after := cmp.Or(h.LockRetry, DefaultLockRetry)
		log.Info("sweep: account busy; message put back", "retry_in", after.String(), "why", err.Error())
		return nil, &worker.RetryLater{After: after, Err: err}
	}
	if ctx.Err() != nil {
		return nil, errors.Join(err, ctx.Err()) // stopped: nothing to record, SQS redelivers
	}
	part := iamprune.SweepPart{SweepID: m.SweepID, Account: m.Account, Page: m.Page, Status: iamprune.SweepDone}
	res := &EventResult{Kind: trigger.KindSweep, Outcome: OutcomeSwept, Run: run}
	if run != nil {
		part.RunID = run.RunID
		for _, a := range run.Results {
			switch a.Status {
			case iamprune.ResultDone:
				part.Changes++
			case iamprune.ResultFailed:
				part.Failures++
			}
		}
		err = errors.Join(err, RunError(run))
	}
	if err != nil {
		part.Status, part.Detail = iamprune.SweepFailed, err.Error()
	}
	sw, last, ferr := sweeps.FinishSweepPart(ctx, part, h.Env.now())
	if ferr != nil {
		return res, errors.Join(err, ferr)
	}
	log.Info("sweep: message done", "status", part.Status, "run_id", part.RunID, "changes", part.Changes, "done", sw.Done, "expected", sw.Expected)
	if last {
		h.sweepDigest(ctx, inv, sess, sweeps, sw.ID)
	}
	return res, err
}

// messageAnalyzer is the analyzer a sweep message is read from: the one
// the sweep listed, whose page tokens the message carries, unless the
// consumer's config names another, which is refused.
func messageAnalyzer(configured string, m *iamprune.SweepMessage) (string, error) {
	configured = cmp.Or(configured, iamprune.AnalyzerAuto)
	switch {
	case m.Analyzer == "":
		return configured, nil
	case configured == iamprune.AnalyzerAuto || configured == m.Analyzer:
		return m.Analyzer, nil
	}
	return "", iamprune.Errorf(iamprune.EINVALID, "sweep message for account %s: the sweep listed analyzer %s, but this consumer's config names %s; nothing done", m.Account, m.Analyzer, configured)
}

// chain enqueues the page after m's, which token starts ("" when m's is
// the account's last): recorded in the sweep before it is sent, and sent
// only by the consumer that claims it, so a message delivered twice does
// not double the rest of the account.
func (h *Handler) chain(ctx context.Context, inv *Invocation, sweeps iamprune.SweepLog, m *iamprune.SweepMessage, token string) error {
	if token == "" {
		return nil
	}
	next := m.NextPage(token)
	claimed, err := sweeps.ExtendSweep(ctx, next.Part())
	if err != nil || !claimed {
		return err
	}
	send := h.Queue
	if send == nil {
		send = sqs.NewFromConfig(inv.AWS)
	}
	if _, err := sendBatch(ctx, send, next.Queue, []iamprune.SweepMessage{next}, 0); err != nil {
		return err
	}
	h.Env.log().Debug("sweep: next page enqueued", "sweep_id", m.SweepID, "account", m.Account, "page", next.Page)
	return sweeps.SweepPartSent(ctx, next.Part())
}

func (h *Handler) sweepRun(ctx context.Context, inv *Invocation, sess *Session, m *iamprune.SweepMessage) (*iamprune.RunResult, error) {
	log := h.Env.log()
	org, err := sess.OrgFacts(ctx, inv.Inputs.Config)
	if err != nil {
		return nil, err
	}
	sess.Findings.UseIAM(org)
	source := fmt.Sprintf("sweep %s: account %s, page %d of %s", m.SweepID, m.Account, m.Page, m.PagesText())
	plan, facts, err := DecideAnalyzer(ctx, sess.Findings, org, inv.Inputs, inv.Store, source, log)
	if err != nil {
		return nil, err
	}
	LogUnreachable(facts, log)
	// Decided while an earlier message of the account may still be
	// applying in this process: wait for it rather than fail to lock.
	leave, err := h.gates.enter(ctx, m.Account)
	if err != nil {
		return nil, err
	}
	defer leave()
	applied, err := Apply(ctx, h.Env, ApplyRequest{Planned: &Planned{Plan: plan, Inputs: inv.Inputs, Session: sess, Facts: facts, Caller: facts.Caller},
		Store: inv.Store, MaxActions: -1, Audit: h.Audit, Owner: h.Owner, Scope: m.Account})
	if err != nil {
		return nil, err
	}
	// The message's account could not be reached (its role not assumed):
	// its findings were skipped, so the part failed, and the message is
	// retried, then dead-lettered, as docs/fan-out.md says.
	if why := facts.Unreachable[m.Account]; why != "" {
		err = fmt.Errorf("account %s unreachable, its findings skipped: %s", m.Account, why)
	}
	if len(applied.OutsideAllowlist) > 0 { // as apply: a problem, not a silent skip
		err = errors.Join(err, fmt.Errorf("account(s) %s not in this consumer's accounts allowlist: their findings skipped", strings.Join(applied.OutsideAllowlist, ", ")))
	}
	return applied.Run, err
}

// sweepDigest sends the organisation digest of a completed sweep: every
// change its runs made, to the default route. A failure is logged, never
// fails the message: its own run is done and recorded.
func (h *Handler) sweepDigest(ctx context.Context, inv *Invocation, sess *Session, sweeps iamprune.SweepLog, id string) {
	log := h.Env.log().With("sweep_id", id)
	sw, parts, err := sweeps.Sweep(ctx, id)
	if err != nil {
		log.Error("sweep complete, but its digest cannot be made", "error", err.Error())
		return
	}
	var recs []iamprune.ActionRecord
	for _, p := range parts {
		if p.RunID == "" {
			continue
		}
		r, err := inv.Store.Actions(ctx, p.RunID)
		if err != nil {
			log.Error("sweep complete, but a run's journal cannot be read for its digest", "run_id", p.RunID, "error", err.Error())
			return
		}
		recs = append(recs, r...)
	}
	_, home, _ := sess.Caller(ctx)
	d := notify.SweepDigest(*sw, parts, recs, home, inv.Inputs.Config.Notifications)
	switch {
	case d == nil && len(inv.Inputs.Config.Notifications.Default) == 0:
		log.Info("sweep complete: no organisation digest, the config's notifications.default names no channel", "messages", sw.Expected)
		return
	case d == nil:
		log.Info("sweep complete: nothing to tell", "messages", sw.Expected)
		return
	}
	nt, err := NewNotifier(ctx, h.Env, inv.Inputs, &inv.AWS, inv.Store, audit.New(h.Audit, h.Env.Now))
	if err != nil || nt == nil {
		log.Error("sweep complete, but no notifier for its digest", "error", fmt.Sprint(err))
		return
	}
	for _, r := range nt.Send(ctx, []notify.Delivery{*d}, home, id) {
		log.Info("sweep digest", "route", r.Route, "channel", r.Channel, "status", r.Status, "error", r.Error)
	}
}
