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
	"github.com/iamprune/iamprune/trigger"
)

// OutcomeEnqueued is a scheduled sweep that fanned out to a queue.
const OutcomeEnqueued = "enqueued"

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
// nextToken that starts it.
//
// Messages go out while the listing goes on, so that consumers start at
// once rather than after the whole organisation is listed: the accounts
// are listed a page each in turn, and each message is recorded in the
// store's sweep, then sent, as soon as it is known (accountPager). The sweep is
// recorded open first and sealed at its final size before its last
// message is sent, so that a consumer, never Enqueue, completes it.
// Enqueuing changes no IAM: the consumers apply, each with its own
// config's mode and guards.
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
	var sweeps iamprune.SweepLog
	if !req.DryRun {
		var err error
		if sweeps, err = sweepLog(store); err != nil {
			return nil, err
		}
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
	analyzer, err := sess.Findings.AnalyzerARN(ctx)
	if err != nil {
		return nil, err
	}
	res := &iamprune.SweepEnqueued{SweepID: NewSweepID(env.now()), Queue: req.Queue, Caller: caller, DryRun: req.DryRun, Accounts: []iamprune.SweepAccount{}}
	out := &outbox{sweeps: sweeps, send: send, queue: req.Queue, res: res,
		start: iamprune.Sweep{ID: res.SweepID, Caller: caller, StartedAt: env.now().UTC()}}
	pagers := make([]*accountPager, 0, len(accounts))
	for _, a := range slices.Compact(accounts) {
		base := iamprune.SweepMessage{Version: iamprune.SweepMessageVersion, SweepID: res.SweepID, Account: a, Queue: req.Queue, Analyzer: analyzer}
		pagers = append(pagers, &accountPager{base: base, size: size})
	}
	if err := listInTurns(ctx, sess.Findings, pagers, out); err != nil {
		return nil, out.stopped(err)
	}
	if err := out.finish(ctx); err != nil {
		return nil, out.stopped(err)
	}
	for _, p := range pagers {
		res.Accounts = append(res.Accounts, iamprune.SweepAccount{Account: p.base.Account, Findings: p.findings, Messages: p.pages, Chained: p.chained})
	}
	res.Messages = len(res.Sent)
	if !req.DryRun {
		env.log().Info("sweep enqueued", "sweep_id", res.SweepID, "accounts", len(res.Accounts), "messages", res.Messages, "queue", req.Queue)
	}
	return res, nil
}

// pageCounter lists one page of an account's findings (awsapi.FindingSource).
type pageCounter interface {
	CountPage(ctx context.Context, account, token string, size int) (n int, next string, err error)
}

// listConcurrency is how many accounts' pages Enqueue lists at once.
const listConcurrency = 8

// listInTurns lists the accounts a page each in turn (every account's
// first page, then every second page...), several accounts at once, and
// hands each turn's ready messages to out in page order: consumers start
// on every account at once, and an account's next page comes while the
// one before is being applied.
func listInTurns(ctx context.Context, lister pageCounter, pagers []*accountPager, out *outbox) error {
	for {
		var turn []*accountPager
		for _, p := range pagers {
			if !p.done {
				turn = append(turn, p)
			}
		}
		if len(turn) == 0 {
			return nil
		}
		ready := make([][]iamprune.SweepMessage, len(turn))
		errs := make([]error, len(turn))
		sem := make(chan struct{}, listConcurrency)
		var wg sync.WaitGroup
		for i, p := range turn {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				ready[i], errs[i] = p.step(ctx, lister)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		msgs := slices.Concat(ready...)
		pageOrder(msgs)
		if err := out.add(ctx, msgs); err != nil {
			return err
		}
	}
}

// firstPage is the size of an account's first page when it has more than
// one: a quarter of the others, so that a consumer decides it quickly
// and starts writing in the account while the next pages are read.
func firstPage(size int) int { return max(size/4, 1) }

// pageOrder puts every account's first page first, then the second
// pages, and so on, each in account order.
func pageOrder(msgs []iamprune.SweepMessage) {
	slices.SortStableFunc(msgs, func(a, b iamprune.SweepMessage) int { return a.Page - b.Page })
}

// accountPager lists one account's first pages and says which messages
// each page makes ready. An account of at most size findings is one
// message (its consumer lists it whole), so its pages are held until
// either it ends or more than size findings are listed. Then the account
// is split: its messages listed so far are ready, and if a page remains,
// the last of them is chained (SweepMessage.Chain): its consumer
// enqueues the next page, whose consumer enqueues the next, and so on.
// Enqueuing is so a couple of calls per account however large it is, and
// each further page is listed once, by its consumer, just when the
// account needs it.
type accountPager struct {
	base iamprune.SweepMessage // version, sweep, account, queue, analyzer
	size int

	next     string // the token of the next page to list
	listed   int    // pages listed
	findings int
	held     []iamprune.SweepMessage
	pages    int  // messages made
	chained  bool // the consumers enqueue the rest
	done     bool
}

func (p *accountPager) step(ctx context.Context, lister pageCounter) ([]iamprune.SweepMessage, error) {
	size := p.size
	if p.listed == 0 {
		size = firstPage(p.size)
	}
	token := p.next
	n, next, err := lister.CountPage(ctx, p.base.Account, token, size)
	if err != nil {
		return nil, err
	}
	p.listed++
	p.findings += n
	p.next, p.done = next, next == ""
	// An empty page after the first (a last token that leads nowhere)
	// makes no message.
	if n > 0 || p.listed == 1 {
		p.pages++
		m := p.base
		m.Page, m.PageToken, m.PageSize = p.pages, token, size
		p.held = append(p.held, m)
	}
	switch {
	case p.findings > p.size: // split
		ready := p.held
		p.held = nil
		if p.done {
			for i := range ready {
				ready[i].Pages = p.pages
			}
		} else {
			ready[len(ready)-1].Chain, p.chained, p.done = true, true, true
		}
		return ready, nil
	case p.done: // at most size findings: the account whole, one message
		p.held, p.pages = nil, 1
		m := p.base
		m.Page, m.Pages = 1, 1
		return []iamprune.SweepMessage{m}, nil
	}
	return nil, nil
}

// outbox records and sends a sweep's messages as they become ready,
// always holding the last one back: the sweep is sealed at its size
// before that one goes, so that no consumer can finish every part of a
// sweep that does not know its size yet. The sweep is recorded (open)
// with the first message, so that a sweep that fails before it sends
// anything leaves no trace. A dry run (no sweeps) only collects them.
type outbox struct {
	sweeps  iamprune.SweepLog
	send    SQSSender
	queue   string
	res     *iamprune.SweepEnqueued
	start   iamprune.Sweep
	started bool
	held    []iamprune.SweepMessage
	sent    int
}

func (o *outbox) add(ctx context.Context, msgs []iamprune.SweepMessage) error {
	o.held = append(o.held, msgs...)
	if len(o.held) < 2 {
		return nil
	}
	last := len(o.held) - 1
	if err := o.flush(ctx, o.held[:last], true); err != nil {
		return err
	}
	o.held = slices.Delete(o.held, 0, last)
	return nil
}

// finish records the parts held, seals the sweep at its size, and sends
// them.
func (o *outbox) finish(ctx context.Context) error {
	if o.sweeps != nil {
		if err := o.record(ctx, o.held); err != nil {
			return err
		}
		if _, err := o.sweeps.SealSweep(ctx, o.res.SweepID, o.sent+len(o.held)); err != nil {
			return err
		}
	}
	err := o.flush(ctx, o.held, false)
	o.held = nil
	return err
}

// flush sends msgs in batches of ten, SQS's most; with record, each
// batch's parts are recorded before it is sent.
func (o *outbox) flush(ctx context.Context, msgs []iamprune.SweepMessage, record bool) error {
	for start := 0; start < len(msgs); start += 10 {
		batch := msgs[start:min(start+10, len(msgs))]
		if o.sweeps != nil {
			if record {
				if err := o.record(ctx, batch); err != nil {
					return err
				}
			}
			n, err := sendBatch(ctx, o.send, o.queue, batch, o.sent)
			if err != nil {
				o.sent += n // taken in part: those are applied
				return err
			}
		}
		o.sent += len(batch)
		o.res.Sent = append(o.res.Sent, batch...)
	}
	return nil
}

// record adds the messages' parts to the sweep, recording the sweep
// first if it is not yet.
func (o *outbox) record(ctx context.Context, msgs []iamprune.SweepMessage) error {
	if !o.started {
		if err := o.sweeps.StartSweep(ctx, o.start, nil); err != nil {
			return err
		}
		o.started = true
	}
	if len(msgs) == 0 {
		return nil
	}
	parts := make([]iamprune.SweepPart, len(msgs))
	for i, m := range msgs {
		parts[i] = iamprune.SweepPart{SweepID: m.SweepID, Account: m.Account, Page: m.Page}
	}
	return o.sweeps.AddSweepParts(ctx, o.res.SweepID, parts)
}

// stopped says what a failed enqueue leaves behind: the messages sent are
// applied by the consumers, but the sweep never completes: it stays open,
// or, when its last message failed, is sealed with that part pending.
func (o *outbox) stopped(err error) error {
	switch {
	case o.sweeps == nil || !o.started:
		return err
	case o.sent == 0:
		return fmt.Errorf("%w (sweep %s was recorded, but no message was sent: nothing will be applied, and 'history --sweep' shows it open; fix the cause and enqueue a new sweep)", err, o.res.SweepID)
	}
	return fmt.Errorf("%w (sweep %s stopped after %d message(s) were sent: they are still applied, but the sweep never completes and sends no digest; enqueue a new sweep)", err, o.res.SweepID, o.sent)
}

// sendBatch sends up to ten messages and returns how many the queue took,
// which SQS may do in part; before is how many were sent before them, for
// the error.
func sendBatch(ctx context.Context, send SQSSender, queue string, batch []iamprune.SweepMessage, before int) (int, error) {
	entries := make([]sqstypes.SendMessageBatchRequestEntry, len(batch))
	for i, m := range batch {
		body, err := json.Marshal(m)
		if err != nil {
			return 0, err
		}
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(before + i)), MessageBody: aws.String(string(body))}
	}
	out, err := send.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: entries})
	if err != nil {
		return 0, fmt.Errorf("sweep: cannot enqueue to %s (%d message(s) sent before): %w", queue, before, err)
	}
	if len(out.Failed) > 0 {
		var why []string
		for _, f := range out.Failed {
			why = append(why, aws.ToString(f.Id)+": "+aws.ToString(f.Code)+" "+aws.ToString(f.Message))
		}
		return len(batch) - len(out.Failed), fmt.Errorf("sweep: %s refused %d message(s): %s", queue, len(out.Failed), strings.Join(why, "; "))
	}
	return len(batch), nil
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
