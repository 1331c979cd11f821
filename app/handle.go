package app

import (
	"container/list"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/trigger"
)

// Outcomes of one event.
const (
	OutcomeApplied   = "applied"   // decided and applied (possibly with nothing to change)
	OutcomeDeleted   = "deleted"   // isDeleted: ignored
	OutcomeDuplicate = "duplicate" // this finding version was handled by this process
	OutcomeSwept     = "swept"
)

// DedupCapacity bounds a warm process's memory of handled finding versions.
const DedupCapacity = 4096

// EventResult is what handling one event did; the Lambda function returns
// it as JSON.
type EventResult struct {
	Kind      trigger.Kind        `json:"kind"`
	FindingID string              `json:"finding_id,omitempty"`
	Outcome   string              `json:"outcome"`
	Run       *iamprune.RunResult `json:"run,omitempty"`
	// Enqueued is what a fanned-out sweep sent.
	Enqueued *iamprune.SweepEnqueued `json:"enqueued,omitempty"`
}

// Handler handles finding events and sweeps the way 'apply --yes' handles
// their findings, guards included: consent is the deployment itself. The
// Lambda function and the queue worker share it. It remembers the finding
// versions it handled (per warm process). Finding events are not safe
// to handle concurrently (callers serialise them); sweep messages are
// (SweepPart), the applies of one account's messages taking turns.
type Handler struct {
	Env Env
	// Audit receives the JSON-lines audit log; Owner is recorded with the
	// run lock.
	Audit io.Writer
	Owner iamprune.LockOwner
	// LockRetry is how long a sweep message whose account is locked
	// waits; 0 means DefaultLockRetry.
	LockRetry time.Duration
	// Queue sends the next page of a chained sweep message; nil sends with
	// the invocation's AWS config.
	Queue SQSSender
	seen  *lru
	// gates take turns among the sweep messages of one account that this
	// process handles at once (see Queue).
	gates accountGates
}

// NewHandler returns a handler with an empty de-duplication memory.
func NewHandler(env Env, audit io.Writer, owner iamprune.LockOwner) *Handler {
	return &Handler{Env: env, Audit: audit, Owner: owner, seen: newLRU(DedupCapacity)}
}

// Invocation is what one invocation reads its inputs from and writes to,
// with its fact cache: the accounts' IAM facts are read once per
// invocation, not once per record of a batch.
type Invocation struct {
	Inputs  Inputs
	AWS     aws.Config
	Counter *awsapi.Counter
	Store   iamprune.Store
	// facts and org cache the accounts' IAM facts (and assumed roles).
	facts *awsapi.Facts
	org   *awsapi.OrgFacts
	// changed are the principals this invocation changed: their cached
	// facts are stale.
	changed map[string]bool
}

// ForgetFacts drops the cached facts, so that the next finding reads IAM
// afresh (the worker makes every message its own run).
func (inv *Invocation) ForgetFacts() { inv.facts, inv.org, inv.changed = nil, nil, nil }

// Close releases the state store.
func (inv *Invocation) Close() error { return inv.Store.Close() }

// Skip answers, without any AWS call, the events that need none: deleted
// findings and versions this process handled already. nil means f needs
// handling.
func (h *Handler) Skip(f *trigger.Finding) *EventResult {
	log := h.Env.log().With("finding_id", f.FindingID, "version", f.Version, "event_id", f.EventID)
	switch {
	case f.IsDeleted:
		log.Info("finding deleted: ignored")
		return &EventResult{Kind: trigger.KindFinding, FindingID: f.FindingID, Outcome: OutcomeDeleted}
	case h.seen.contains(f.DedupKey()):
		log.Info("finding version already handled by this process: ignored")
		return &EventResult{Kind: trigger.KindFinding, FindingID: f.FindingID, Outcome: OutcomeDuplicate}
	}
	return nil
}

// HandleFinding decides and applies the one finding an event names, read
// as it is now. A failed or refused run is an error, so that EventBridge
// or SQS retries it (apply is idempotent); the result is returned with it.
// Only a handled version is remembered.
func (h *Handler) HandleFinding(ctx context.Context, inv *Invocation, f *trigger.Finding) (*EventResult, error) {
	if res := h.Skip(f); res != nil {
		return res, nil
	}
	sess := NewSession(inv.AWS, inv.Counter, f.AnalyzerARN)
	inv.useCache(ctx, sess, f.FindingID)
	// An analyzer's findings are readable only from its own account: an
	// event from another one was routed here by mistake, and must fail
	// loudly rather than pass as a finding that no longer exists.
	_, acct, err := sess.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if p, _ := iamprune.ParseARN(f.AnalyzerARN); p.Account != acct {
		return nil, iamprune.Errorf(iamprune.EINVALID, "lambda: event %s names analyzer %s of account %s, but iamprune runs in account %s", f.EventID, f.AnalyzerARN, p.Account, acct)
	}
	org, err := sess.OrgFacts(ctx, inv.Inputs.Config)
	if err != nil {
		return nil, err
	}
	inv.org = org
	src := &oneFinding{get: sess.Findings, id: f.FindingID, analyzer: f.AnalyzerARN}
	plan, facts, err := Decide(ctx, src, org, inv.Inputs, inv.Store, fmt.Sprintf("event %s: finding %s of %s", f.EventID, f.FindingID, f.AnalyzerARN), h.Env.log())
	if err != nil {
		return nil, err
	}
	run, err := h.apply(ctx, inv, &Planned{Plan: plan, Inputs: inv.Inputs, Session: sess, Facts: facts, Caller: facts.Caller})
	if err != nil {
		return nil, err
	}
	inv.noteChanges(run)
	res := &EventResult{Kind: trigger.KindFinding, FindingID: f.FindingID, Outcome: OutcomeApplied, Run: run}
	if err := RunError(run); err != nil {
		return res, err
	}
	h.seen.add(f.DedupKey())
	return res, nil
}

// useCache makes sess read facts through the invocation's cache, unless
// an earlier finding of the invocation changed the principal this one
// names: then its facts are stale, and all are read afresh.
func (inv *Invocation) useCache(ctx context.Context, sess *Session, findingID string) {
	if len(inv.changed) > 0 {
		// The live finding names the principal (read once: decide reuses
		// it).
		if live, err := sess.Findings.Finding(ctx, findingID); err == nil && inv.changed[live.Resource] {
			inv.ForgetFacts()
		}
	}
	if inv.facts != nil {
		sess.UseCache(inv.facts, inv.org)
	} else {
		inv.facts = sess.Facts
	}
}

// noteChanges marks the principals a run changed (or may have), whose
// cached facts are stale now.
func (inv *Invocation) noteChanges(run *iamprune.RunResult) {
	changed := false
	for _, a := range run.Results {
		if a.Status == iamprune.ResultDone || a.Status == iamprune.ResultFailed {
			changed = true
		}
	}
	if !changed {
		return
	}
	if inv.changed == nil {
		inv.changed = map[string]bool{}
	}
	for _, a := range run.Results {
		inv.changed[a.Principal] = true
	}
}

// HandleBatch handles the records of an SQS batch (finding events and
// fanned-out sweep messages), each on its own, and returns the message ids
// to redeliver: malformed records, failed runs and sweep messages whose
// account is locked. setup opens the invocation once, when a record first needs
// it; the invocation is closed on return.
func (h *Handler) HandleBatch(ctx context.Context, recs []trigger.Record, setup func(context.Context) (*Invocation, error)) []string {
	var (
		failed   = []string{}
		inv      *Invocation
		setupErr error
	)
	fail := func(r trigger.Record, err error) {
		h.Env.log().Error("record failed", "message_id", r.MessageID, "error", err.Error())
		failed = append(failed, r.MessageID)
	}
	defer func() {
		if inv != nil {
			inv.Close()
		}
	}()
	for _, r := range recs {
		if r.Err != nil {
			fail(r, r.Err)
			continue
		}
		if r.Part == nil && h.Skip(r.Finding) != nil {
			continue
		}
		if inv == nil && setupErr == nil {
			inv, setupErr = setup(ctx)
		}
		if setupErr != nil {
			fail(r, setupErr)
			continue
		}
		var err error
		if r.Part != nil {
			// A busy account is reported too: SQS makes it visible again
			// after the queue's visibility timeout.
			_, err = h.SweepPart(ctx, inv, r.Part)
		} else {
			_, err = h.HandleFinding(ctx, inv, r.Finding)
		}
		if err != nil {
			fail(r, err)
		}
	}
	h.Env.log().Info("batch done", "records", len(recs), "failed", len(failed))
	return failed
}

// apply runs what 'apply --yes' runs after its plan.
func (h *Handler) apply(ctx context.Context, inv *Invocation, p *Planned) (*iamprune.RunResult, error) {
	applied, err := Apply(ctx, h.Env, ApplyRequest{Planned: p, Store: inv.Store, MaxActions: -1, Audit: h.Audit, Owner: h.Owner})
	if err != nil {
		return nil, err
	}
	res := applied.Run
	if res == nil {
		h.Env.log().Info("nothing to do", "account", applied.Account, "why", applied.Nothing)
		return &iamprune.RunResult{Results: []iamprune.ActionResult{}}, nil
	}
	h.Env.log().Info("run done", "run_id", res.RunID, "account", applied.Account, "results", len(res.Results),
		"refused", res.Refused, "failed", res.Failed(), "aws_calls", inv.Counter.Total())
	return res, nil
}

// RunError makes a failed or refused run an error, for a runtime that
// retries on errors.
func RunError(res *iamprune.RunResult) error {
	if res.Refused != "" {
		return fmt.Errorf("apply refused: %s", res.Refused)
	}
	var failed []string
	for _, a := range res.Results {
		if a.Status == iamprune.ResultFailed {
			failed = append(failed, fmt.Sprintf("%s %s: %s", a.Kind, a.Target, a.Detail))
		}
	}
	// A lost notice fails the run too: prior notice is what later allows
	// remediation.
	for _, n := range res.Notifications {
		if n.Status != iamprune.NoticeSent {
			failed = append(failed, fmt.Sprintf("notice to %s (%s): %s", n.Channel, n.Route, n.Error))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("run %s: %d action(s) or notice(s) failed: %s", res.RunID, len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// stackTopicChannel names the channel WithStackTopic adds.
const stackTopicChannel = "stack-topic"

// WithStackTopic adds the stack's SNS topic as a channel, unless the
// config already publishes to it, and makes it the default destination
// when the config names none: a stack deployed without notification
// settings still tells someone.
func WithStackTopic(n *iamprune.Notifications, topic string) error {
	if topic == "" {
		return nil
	}
	for _, c := range n.Channels {
		if c.Type == iamprune.ChannelSNS && c.TopicARN == topic {
			return nil
		}
	}
	n.Channels = append(n.Channels, iamprune.Channel{Name: stackTopicChannel, Type: iamprune.ChannelSNS, TopicARN: topic})
	if len(n.Default) == 0 {
		n.Default = []string{stackTopicChannel}
	}
	if err := n.Validate(); err != nil {
		return iamprune.Errorf(iamprune.EINVALID, "lambda: IAMPRUNE_SNS_TOPIC_ARN: %v", err)
	}
	return nil
}

// oneFinding is a FindingSource yielding the one finding an event names,
// read as it is now (GetFindingV2, every page): the event is only a
// trigger. A finding gone since the event yields nothing, with a warning.
type oneFinding struct {
	get      iamprune.FindingGetter
	id       string
	analyzer string
}

var _ iamprune.FindingSource = (*oneFinding)(nil)

func (s *oneFinding) Findings(ctx context.Context) ([]iamprune.Finding, []iamprune.Warning, error) {
	f, err := s.get.Finding(ctx, s.id)
	if iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
		return nil, []iamprune.Warning{{Source: s.analyzer, Message: fmt.Sprintf("finding %s no longer exists: nothing to do", s.id)}}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return []iamprune.Finding{*f}, nil, nil
}

// lru is a bounded set that forgets the least recently used key first.
type lru struct {
	cap   int
	order *list.List // front: newest
	keys  map[string]*list.Element
}

func newLRU(capacity int) *lru {
	return &lru{cap: capacity, order: list.New(), keys: map[string]*list.Element{}}
}

func (l *lru) contains(k string) bool {
	e, ok := l.keys[k]
	if ok {
		l.order.MoveToFront(e)
	}
	return ok
}

func (l *lru) add(k string) {
	if e, ok := l.keys[k]; ok {
		l.order.MoveToFront(e)
		return
	}
	l.keys[k] = l.order.PushFront(k)
	if l.order.Len() > l.cap {
		old := l.order.Back()
		l.order.Remove(old)
		delete(l.keys, old.Value.(string))
	}
}
