package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/notify"
	"github.com/iamprune/iamprune/trigger"
	"github.com/iamprune/iamprune/worker"
)

// Fan-out sweeps (docs/fan-out.md): Enqueue only lists where each
// account's findings are and sends one SQS message per account, or per
// page of a large account; the queue's consumers (the Lambda function's
// SQS event source, 'iamprune worker') plan and apply each message with
// SweepPart, one account at a time under its lock. The state store's
// SweepLog ties the messages together, and the consumer whose message
// completes the sweep sends the organisation digest.

// OutcomeEnqueued is a scheduled sweep that fanned out to a queue.
const OutcomeEnqueued = "enqueued"

// DefaultLockRetry is how long a sweep message whose account another run
// holds stays invisible before it is tried again.
const DefaultLockRetry = 30 * time.Second

// EnqueueRequest is one fan-out: the queue and the largest message.
type EnqueueRequest struct {
	Queue    string
	PageSize int
	// DryRun lists the messages without recording or sending them.
	DryRun bool
}

// SQSSender sends message batches; *sqs.Client is one.
type SQSSender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// NewSweepID returns a fresh sweep id, sortable by time.
func NewSweepID(now time.Time) string { return "sweep-" + apply.NewRunID(now) }

// Enqueue fans a sweep out: the accounts are the config's accounts
// allowlist, else every account that owns an ACTIVE finding and the
// account of the credentials. Each account's findings are listed (only
// their summaries) in pages of req.PageSize; an account of one page is one
// message, a larger one a message per page carrying the ListFindingsV2
// nextToken that starts it. The sweep and its parts are recorded in the
// store before anything is sent. Enqueuing changes no IAM: the consumers
// apply, each with its own config's mode and guards.
func Enqueue(ctx context.Context, env Env, sess *Session, in Inputs, store iamprune.Store, send SQSSender, req EnqueueRequest) (*iamprune.SweepEnqueued, error) {
	if req.Queue == "" && !req.DryRun {
		return nil, iamprune.Errorf(iamprune.EINVALID, "sweep: no queue: pass --queue URL or set sweep.queue_url in the config")
	}
	if req.Queue != "" && !iamprune.IsQueueURL(req.Queue) {
		return nil, iamprune.Errorf(iamprune.EINVALID, "sweep: queue %q is not an SQS queue URL (%s)", req.Queue, queueURLExample)
	}
	size := cmp.Or(req.PageSize, in.Config.Sweep.PageSize, iamprune.DefaultSweepPageSize)
	if size < 1 || size > 1000 {
		return nil, iamprune.Errorf(iamprune.EINVALID, "sweep: page size %d is not from 1 to 1000", size)
	}
	caller, home, err := sess.Caller(ctx)
	if err != nil {
		return nil, err
	}
	accounts := slices.Clone(in.Config.Accounts)
	if len(accounts) == 0 {
		if accounts, err = sess.Findings.FindingAccounts(ctx); err != nil {
			return nil, err
		}
		if !slices.Contains(accounts, home) {
			accounts = append(accounts, home)
		}
	}
	slices.Sort(accounts)
	res := &iamprune.SweepEnqueued{SweepID: NewSweepID(env.now()), Queue: req.Queue, Caller: caller, DryRun: req.DryRun, Accounts: []iamprune.SweepAccount{}}
	listed, err := listPages(ctx, sess, slices.Compact(accounts), size)
	if err != nil {
		return nil, err
	}
	for _, pages := range listed {
		acct, n := pages.Account, len(pages.Tokens)
		for i, tok := range pages.Tokens {
			m := iamprune.SweepMessage{Version: iamprune.SweepMessageVersion, SweepID: res.SweepID, Account: acct, Page: i + 1, Pages: n, PageToken: tok}
			if n > 1 {
				m.PageSize = pages.Sizes[i]
			}
			res.Sent = append(res.Sent, m)
		}
		res.Accounts = append(res.Accounts, iamprune.SweepAccount{Account: acct, Findings: pages.Findings, Messages: n})
	}
	pageOrder(res.Sent)
	res.Messages = len(res.Sent)
	if req.DryRun {
		return res, nil
	}
	if err := startSweep(ctx, store, res, env.now()); err != nil {
		return nil, err
	}
	if err := sendMessages(ctx, send, req.Queue, res.Sent); err != nil {
		return nil, err
	}
	env.log().Info("sweep enqueued", "sweep_id", res.SweepID, "accounts", len(res.Accounts), "messages", res.Messages, "queue", req.Queue)
	return res, nil
}

// listConcurrency is how many accounts' findings Enqueue lists at once.
const listConcurrency = 8

// listPages lists the pages of every account, several accounts at once
// (each listing is a chain of calls, each waiting for the one before),
// and returns them in the order of accounts.
func listPages(ctx context.Context, sess *Session, accounts []string, size int) ([]awsapi.AccountPages, error) {
	out := make([]awsapi.AccountPages, len(accounts))
	errs := make([]error, len(accounts))
	sem := make(chan struct{}, listConcurrency)
	var wg sync.WaitGroup
	for i, acct := range accounts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = sess.Findings.FindingPages(ctx, acct, firstPage(size), size)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// firstPage is the size of an account's first page when it has more than
// one: a quarter of the others, so that a consumer decides it quickly
// and starts writing in the account while the next pages are read.
func firstPage(size int) int { return max(size/4, 1) }

// pageOrder puts every account's first page first, then the second
// pages, and so on, each in account order: consumers start on all the
// accounts at once, and an account's next page comes while the one
// before is being applied.
func pageOrder(msgs []iamprune.SweepMessage) {
	slices.SortStableFunc(msgs, func(a, b iamprune.SweepMessage) int { return a.Page - b.Page })
}

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

func startSweep(ctx context.Context, store iamprune.Store, res *iamprune.SweepEnqueued, now time.Time) error {
	l, err := sweepLog(store)
	if err != nil {
		return err
	}
	parts := make([]iamprune.SweepPart, len(res.Sent))
	for i, m := range res.Sent {
		parts[i] = iamprune.SweepPart{SweepID: m.SweepID, Account: m.Account, Page: m.Page}
	}
	return l.StartSweep(ctx, iamprune.Sweep{ID: res.SweepID, Caller: res.Caller, StartedAt: now.UTC(), Expected: len(parts)}, parts)
}

// sendMessages sends in batches of ten, SQS's most.
func sendMessages(ctx context.Context, send SQSSender, queue string, msgs []iamprune.SweepMessage) error {
	for start := 0; start < len(msgs); start += 10 {
		batch := msgs[start:min(start+10, len(msgs))]
		entries := make([]sqstypes.SendMessageBatchRequestEntry, len(batch))
		for i, m := range batch {
			body, err := json.Marshal(m)
			if err != nil {
				return err
			}
			entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(start + i)), MessageBody: aws.String(string(body))}
		}
		out, err := send.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: entries})
		if err != nil {
			return fmt.Errorf("sweep: cannot enqueue to %s (%d of %d message(s) sent): %w", queue, start, len(msgs), err)
		}
		if len(out.Failed) > 0 {
			var why []string
			for _, f := range out.Failed {
				why = append(why, aws.ToString(f.Id)+": "+aws.ToString(f.Code)+" "+aws.ToString(f.Message))
			}
			return fmt.Errorf("sweep: %s refused %d message(s): %s", queue, len(out.Failed), strings.Join(why, "; "))
		}
	}
	return nil
}

// Enqueue fans a scheduled sweep out to the config's sweep queue.
func (h *Handler) Enqueue(ctx context.Context, inv *Invocation, s *trigger.Sweep) (*EventResult, error) {
	cfg := inv.Inputs.Config
	h.Env.log().Info("sweep: fanning out", "source", s.Source, "id", s.ID, "queue", cfg.Sweep.QueueURL)
	sess := NewSession(inv.AWS, inv.Counter, cmp.Or(cfg.Analyzer, iamprune.AnalyzerAuto))
	res, err := Enqueue(ctx, h.Env, sess, inv.Inputs, inv.Store, sqs.NewFromConfig(inv.AWS), EnqueueRequest{Queue: cfg.Sweep.QueueURL})
	if err != nil {
		return nil, err
	}
	return &EventResult{Kind: trigger.KindSweep, Outcome: OutcomeEnqueued, Enqueued: res}, nil
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
	if err := sweepExists(ctx, sweeps, m.SweepID); err != nil {
		return nil, fmt.Errorf("sweep message for account %s: %w (was the sweep enqueued with another state store?); nothing done", m.Account, err)
	}
	sess := NewSession(inv.AWS, inv.Counter, cmp.Or(inv.Inputs.Config.Analyzer, iamprune.AnalyzerAuto))
	sess.Findings.Scope(awsapi.FindingScope{Account: m.Account, PageToken: m.PageToken, PageSize: m.PageSize})
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

func (h *Handler) sweepRun(ctx context.Context, inv *Invocation, sess *Session, m *iamprune.SweepMessage) (*iamprune.RunResult, error) {
	log := h.Env.log()
	org, err := sess.OrgFacts(ctx, inv.Inputs.Config)
	if err != nil {
		return nil, err
	}
	sess.Findings.UseIAM(org)
	source := fmt.Sprintf("sweep %s: account %s, page %d of %d", m.SweepID, m.Account, m.Page, m.Pages)
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
	if d == nil {
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
