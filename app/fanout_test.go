package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/mock"
	"github.com/iamprune/iamprune/snapshot"
	"github.com/iamprune/iamprune/trigger"
	"github.com/iamprune/iamprune/worker"
)

const fanMember = "444455556666"

// orgAccount serves the org test organisation: an admin whose analyzer
// reports three findings of one member.
func orgAccount(t *testing.T) (Env, Inputs) {
	t.Helper()
	root := filepath.Join("..", "emulator", "testdata", "org")
	home, err := snapshot.LoadDir(filepath.Join(root, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := snapshot.LoadDir(filepath.Join(root, "member-"+fanMember))
	if err != nil {
		t.Fatal(err)
	}
	srv, cfg := emulatortest.Start(t, home, emulator.Options{})
	if _, err := srv.AddMember(mem); err != nil {
		t.Fatal(err)
	}
	srv.SetRecommendationPolls(0)
	load := func(context.Context) (aws.Config, *awsapi.Counter, error) {
		c := awsapi.NewCounter()
		cfg := cfg.Copy()
		c.Attach(&cfg)
		return cfg, c, nil
	}
	e := Env{Getenv: env(nil), Now: func() time.Time { return testNow }, LoadAWS: load}
	in, err := LoadInputs(context.Background(), InputOptions{ConfigYAML: "accounts:\n  role_name: iamprune-remediation\n  external_id: iamprune-ext\nnotifications:\n  require_prior_notice: false\n",
		ConfigYAMLName: "test", Now: testNow, Getenv: e.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	return e, in
}

// fanSession serves the org test organisation, with a session on it and
// an empty store.
func fanSession(t *testing.T) (context.Context, Env, Inputs, *Session, *mock.Store) {
	t.Helper()
	e, in := orgAccount(t)
	ctx := context.Background()
	sess, err := OpenSession(ctx, e.LoadAWS, "auto")
	if err != nil {
		t.Fatal(err)
	}
	return ctx, e, in, sess, &mock.Store{}
}

// batches records the messages sent.
type batches struct {
	mu   sync.Mutex
	sent []iamprune.SweepMessage
	fail bool
}

func (b *batches) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := &sqs.SendMessageBatchOutput{}
	for _, en := range in.Entries {
		if b.fail {
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: en.Id, Code: aws.String("KMS.AccessDenied")})
			continue
		}
		var m iamprune.SweepMessage
		if err := json.Unmarshal([]byte(aws.ToString(en.MessageBody)), &m); err != nil {
			return nil, err
		}
		b.sent = append(b.sent, m)
	}
	return out, nil
}

// Without an allowlist, the accounts are those with findings and the
// credentials' own; an account of more than a page is a message per page
// with the token that starts it, and the sweep is recorded first.
func TestEnqueue(t *testing.T) {
	t.Parallel()
	ctx, e, in, sess, store := fanSession(t)
	dry, err := Enqueue(ctx, e, sess, in, store, &batches{}, EnqueueRequest{PageSize: 2, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if dry.Messages != 3 || len(dry.Accounts) != 2 || dry.Accounts[0] != (iamprune.SweepAccount{Account: "111122223333", Findings: 0, Messages: 1}) ||
		dry.Accounts[1] != (iamprune.SweepAccount{Account: fanMember, Findings: 3, Messages: 2}) {
		t.Fatalf("dry run = %+v", dry)
	}
	if _, _, err := store.Sweep(ctx, dry.SweepID); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("a dry run recorded its sweep: %v", err)
	}
	if _, err := Enqueue(ctx, e, sess, in, store, &batches{}, EnqueueRequest{PageSize: 2}); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("no queue: %v, want EINVALID", err)
	}
	sent := &batches{}
	res, err := Enqueue(ctx, e, sess, in, store, sent, EnqueueRequest{Queue: "https://sqs.us-east-1.amazonaws.com/111122223333/q", PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.sent) != 3 {
		t.Fatalf("sent %+v", sent.sent)
	}
	home, p1, p2 := sent.sent[0], sent.sent[1], sent.sent[2]
	if home.Account != "111122223333" || home.PageSize != 0 || home.Pages != 1 ||
		p1.Account != fanMember || p1.Page != 1 || p1.Pages != 2 || p1.PageToken != "" || p1.PageSize != 1 || // the first page: a quarter, at least 1

		p2.Page != 2 || p2.PageToken == "" || p2.PageSize != 2 || p2.SweepID != res.SweepID {
		t.Errorf("messages %+v", sent.sent)
	}
	for _, m := range sent.sent {
		if err := m.Validate(); err != nil {
			t.Error(err)
		}
	}
	sw, parts, err := store.Sweep(ctx, res.SweepID)
	if err != nil || sw.Expected != 3 || len(parts) != 3 {
		t.Errorf("recorded %+v %+v %v", sw, parts, err)
	}
	if _, err := Enqueue(ctx, e, sess, in, store, &batches{fail: true}, EnqueueRequest{Queue: testQueue}); err == nil || !strings.Contains(err.Error(), "KMS.AccessDenied") ||
		!strings.Contains(err.Error(), "no message was sent") {
		t.Errorf("refused entries: %v", err)
	}
}

// A message of an account another run holds is put back, not failed: the
// worker gets a RetryLater, the Lambda batch reports it for redelivery,
// and the sweep log still has it pending. Once the lock is free, the
// message plans and applies its page, and completes the sweep.
func TestSweepPartLockedAccount(t *testing.T) {
	t.Parallel()
	ctx, e, in, sess, store := fanSession(t)
	in.Config.Accounts = []string{fanMember}
	res, err := Enqueue(ctx, e, sess, in, store, &batches{}, EnqueueRequest{Queue: testQueue, PageSize: 1000})
	if err != nil || res.Messages != 1 {
		t.Fatalf("enqueue %+v %v", res, err)
	}
	cfg, counter, _ := e.LoadAWS(ctx)
	inv := &Invocation{Inputs: in, AWS: cfg, Counter: counter, Store: store}
	h := NewHandler(e, io.Discard, iamprune.LockOwner{Host: "worker-a", PID: 1})
	h.LockRetry = 3 * time.Second
	held, err := store.Lock(ctx, fanMember, iamprune.LockOwner{Host: "worker-b", PID: 2}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Sent[0]
	_, err = h.SweepPart(ctx, inv, &m)
	var later *worker.RetryLater
	if !errors.As(err, &later) || later.After != 3*time.Second {
		t.Fatalf("locked account: %v, want RetryLater after 3s", err)
	}
	body, _ := json.Marshal(m)
	batch, _ := json.Marshal(map[string]any{"Records": []map[string]any{{"messageId": "m-1", "eventSource": "aws:sqs", "body": string(body)}}})
	ev, err := trigger.Classify(batch)
	if err != nil {
		t.Fatal(err)
	}
	// The batch closes its invocation: give it one whose store stays open.
	batchInv := &Invocation{Inputs: in, AWS: cfg, Counter: counter, Store: keepOpen{store}}
	if failed := h.HandleBatch(ctx, ev.Records, func(context.Context) (*Invocation, error) { return batchInv, nil }); len(failed) != 1 || failed[0] != "m-1" {
		t.Errorf("batch failures %v, want the busy message", failed)
	}
	if _, parts, _ := store.Sweep(ctx, m.SweepID); parts[0].Status != iamprune.SweepPending || parts[0].Attempts != 0 {
		t.Errorf("a busy message was recorded: %+v", parts[0])
	}
	if err := held.Release(ctx); err != nil {
		t.Fatal(err)
	}
	inv = &Invocation{Inputs: in, AWS: cfg, Counter: counter, Store: store}
	out, err := h.SweepPart(ctx, inv, &m)
	if err != nil {
		t.Fatalf("SweepPart: %v", err)
	}
	sw, parts, _ := store.Sweep(ctx, m.SweepID)
	if !sw.Complete() || parts[0].Status != iamprune.SweepDone || parts[0].RunID != out.Run.RunID || parts[0].Changes == 0 {
		t.Errorf("after the run: %+v %+v", sw, parts)
	}
	if r, err := store.Run(ctx, out.Run.RunID); err != nil || r.Account != fanMember {
		t.Errorf("the run is recorded under %v (%v), want the member", r, err)
	}
}

type keepOpen struct{ *mock.Store }

func (keepOpen) Close() error { return nil }

const testQueue = "https://sqs.us-east-1.amazonaws.com/111122223333/q"

// A queue that is not a URL is bad input: nothing is read, recorded or
// sent (it used to record the sweep, then fail to send, exit 1).
func TestEnqueueRejectsAQueueThatIsNotAURL(t *testing.T) {
	t.Parallel()
	e, in := orgAccount(t)
	ctx := context.Background()
	sess, err := OpenSession(ctx, e.LoadAWS, "auto")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"not-a-url", "sqs://x/y", "https://sqs.us-east-1.amazonaws.com/", "https:///111122223333/q"} {
		store, sent := &startCounter{Store: &mock.Store{}}, &batches{}
		_, err := Enqueue(ctx, e, sess, in, store, sent, EnqueueRequest{Queue: q})
		if iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), q) {
			t.Errorf("queue %q: %v, want EINVALID naming it", q, err)
		}
		if len(sent.sent) != 0 || store.starts != 0 {
			t.Errorf("queue %q: sent %v, recorded %d sweep(s)", q, sent.sent, store.starts)
		}
	}
}

// A message whose account cannot be reached (its role not assumed) fails
// its part, as docs/fan-out.md says, so that SQS retries it and the sweep
// never completes on findings it skipped; it used to be recorded done.
func TestSweepPartUnreachableAccountFails(t *testing.T) {
	t.Parallel()
	ctx, e, in, sess, store := fanSession(t)
	in.Config.Accounts = []string{fanMember}
	res, err := Enqueue(ctx, e, sess, in, store, &batches{}, EnqueueRequest{Queue: testQueue})
	if err != nil || res.Messages != 1 {
		t.Fatalf("enqueue %+v %v", res, err)
	}
	in.Config.CrossAccount.ExternalID = "wrong" // the member's trust policy refuses it
	cfg, counter, _ := e.LoadAWS(ctx)
	inv := &Invocation{Inputs: in, AWS: cfg, Counter: counter, Store: store}
	h := NewHandler(e, io.Discard, iamprune.LockOwner{Host: "worker-a", PID: 1})
	m := res.Sent[0]
	if _, err := h.SweepPart(ctx, inv, &m); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("SweepPart of an unreachable account: %v, want an error", err)
	}
	sw, parts, _ := store.Sweep(ctx, m.SweepID)
	if sw.Complete() || parts[0].Status != iamprune.SweepFailed || !strings.Contains(parts[0].Detail, fanMember) {
		t.Errorf("after the message: %+v %+v, want its part failed", sw, parts)
	}
}

// A message of a sweep the consumer's state store does not know (enqueued
// with another --state) changes nothing: it used to apply the account,
// then fail to record the part, and apply again at every delivery.
func TestSweepPartUnknownSweepChangesNothing(t *testing.T) {
	t.Parallel()
	e, in := orgAccount(t)
	ctx := context.Background()
	sess, err := OpenSession(ctx, e.LoadAWS, "auto")
	if err != nil {
		t.Fatal(err)
	}
	in.Config.Accounts = []string{fanMember}
	res, err := Enqueue(ctx, e, sess, in, &mock.Store{}, &batches{}, EnqueueRequest{Queue: testQueue})
	if err != nil {
		t.Fatal(err)
	}
	other := &mock.Store{}
	cfg, counter, _ := e.LoadAWS(ctx)
	inv := &Invocation{Inputs: in, AWS: cfg, Counter: counter, Store: other}
	h := NewHandler(e, io.Discard, iamprune.LockOwner{Host: "worker-a", PID: 1})
	m := res.Sent[0]
	_, err = h.SweepPart(ctx, inv, &m)
	if err == nil || !strings.Contains(err.Error(), "another state store") {
		t.Errorf("SweepPart of an unknown sweep: %v, want an error", err)
	} else if strings.Contains(err.Error(), "mock:") {
		t.Errorf("the error shows the state store's internals: %v", err)
	}
	if runs, err := other.Runs(ctx, "", 0); err != nil || len(runs) != 0 {
		t.Errorf("runs recorded for an unknown sweep: %+v %v", runs, err)
	}
}

// startCounter counts the sweeps recorded.
type startCounter struct {
	*mock.Store
	starts int
}

func (s *startCounter) StartSweep(ctx context.Context, sw iamprune.Sweep, parts []iamprune.SweepPart) error {
	s.starts++
	return s.Store.StartSweep(ctx, sw, parts)
}

// history --sweep ID --account ACCT shows that account's messages only
// (--account was ignored with --sweep).
func TestShowSweepOfOneAccount(t *testing.T) {
	t.Parallel()
	ctx, e, in, sess, store := fanSession(t)
	res, err := Enqueue(ctx, e, sess, in, store, &batches{}, EnqueueRequest{Queue: testQueue, PageSize: 2})
	if err != nil || res.Messages != 3 {
		t.Fatalf("enqueue %+v %v", res, err)
	}
	var out strings.Builder
	if err := ShowHistory(ctx, &out, store, HistoryQuery{Sweep: res.SweepID, Account: fanMember}, "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Parts []iamprune.SweepPart `json:"parts"`
		Sweep iamprune.Sweep       `json:"sweep"`
	}
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Parts) != 2 || got.Parts[0].Account != fanMember || got.Parts[1].Account != fanMember || got.Sweep.Expected != 3 {
		t.Errorf("parts %+v of sweep %+v, want the member's 2 of 3", got.Parts, got.Sweep)
	}
}

// A message of an account the consumer's accounts allowlist excludes fails
// its part, as apply reports such an account (it was recorded done with
// every finding skipped).
func TestSweepPartOutsideAllowlistFails(t *testing.T) {
	t.Parallel()
	ctx, e, in, sess, store := fanSession(t)
	in.Config.Accounts = []string{fanMember}
	res, err := Enqueue(ctx, e, sess, in, store, &batches{}, EnqueueRequest{Queue: testQueue})
	if err != nil || res.Messages != 1 {
		t.Fatalf("enqueue %+v %v", res, err)
	}
	in.Config.Accounts = []string{"999988887777"} // the consumer's config
	cfg, counter, _ := e.LoadAWS(ctx)
	inv := &Invocation{Inputs: in, AWS: cfg, Counter: counter, Store: store}
	m := res.Sent[0]
	if _, err := NewHandler(e, io.Discard, iamprune.LockOwner{Host: "w", PID: 1}).SweepPart(ctx, inv, &m); err == nil || !strings.Contains(err.Error(), "allowlist") {
		t.Fatalf("SweepPart outside the allowlist: %v, want an error", err)
	}
	if sw, parts, _ := store.Sweep(ctx, m.SweepID); sw.Complete() || parts[0].Status != iamprune.SweepFailed {
		t.Errorf("after the message: %+v %+v, want its part failed", sw, parts)
	}
}

// A chained message's consumer enqueues the account's next page before it
// plans its own, once however often it is delivered; the chain ends at
// the account's last page, and the sweep completes with every page done.
func TestSweepPartChainsTheNextPage(t *testing.T) {
	t.Parallel()
	ctx, e, in, sess, store := fanSession(t)
	in.Config.Accounts = []string{fanMember}
	// Pages of 1 of the member's 3 findings: the sweep lists two, the
	// second chained.
	res, err := Enqueue(ctx, e, sess, in, store, &batches{}, EnqueueRequest{Queue: testQueue, PageSize: 1})
	if err != nil || res.Messages != 2 || !res.Sent[1].Chain || res.Sent[0].Chain || res.Sent[1].Analyzer == "" || !res.Accounts[0].Chained {
		t.Fatalf("enqueue %+v %v", res, err)
	}
	cfg, counter, _ := e.LoadAWS(ctx)
	inv := &Invocation{Inputs: in, AWS: cfg, Counter: counter, Store: store}
	h := NewHandler(e, io.Discard, iamprune.LockOwner{Host: "worker-a", PID: 1})
	queue := &batches{}
	h.Queue = queue
	work, chained := slices.Clone(res.Sent), 0
	for len(work) > 0 {
		m := work[0]
		work = work[1:]
		if _, err := h.SweepPart(ctx, inv, &m); err != nil {
			t.Fatalf("SweepPart %s: %v", m.Key(), err)
		}
		if m.Page == 2 { // delivered twice: the next page is not sent again
			if _, err := h.SweepPart(ctx, inv, &m); err != nil {
				t.Fatalf("SweepPart %s again: %v", m.Key(), err)
			}
		}
		work, chained = append(work, queue.sent...), chained+len(queue.sent)
		queue.sent = nil
	}
	if chained != 1 {
		t.Errorf("consumers enqueued %d message(s), want 1: page 3", chained)
	}
	sw, parts, err := store.Sweep(ctx, res.SweepID)
	if err != nil || !sw.Complete() || sw.Expected != 3 || len(parts) != 3 {
		t.Fatalf("sweep %+v %+v %v", sw, parts, err)
	}
	changes := 0
	for _, p := range parts {
		changes += p.Changes
	}
	if changes == 0 {
		t.Errorf("no change made by the chained sweep: %+v", parts)
	}
}

// A consumer whose config names another analyzer than the sweep listed
// refuses the message before any change, and records its part failed with
// why, for history --sweep to say; one whose config says auto reads the
// sweep's analyzer.
func TestSweepPartOtherAnalyzer(t *testing.T) {
	t.Parallel()
	ctx, e, in, sess, store := fanSession(t)
	in.Config.Accounts = []string{fanMember}
	res, err := Enqueue(ctx, e, sess, in, store, &batches{}, EnqueueRequest{Queue: testQueue})
	if err != nil || res.Messages != 1 || res.Sent[0].Analyzer == "" {
		t.Fatalf("enqueue %+v %v", res, err)
	}
	m := res.Sent[0]
	if got, err := messageAnalyzer("", &m); err != nil || got != m.Analyzer {
		t.Errorf("messageAnalyzer of an auto consumer = %q, %v; want the sweep's", got, err)
	}
	other := in
	other.Config.Analyzer = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/other"
	cfg, counter, _ := e.LoadAWS(ctx)
	inv := &Invocation{Inputs: other, AWS: cfg, Counter: counter, Store: store}
	if _, err := NewHandler(e, io.Discard, iamprune.LockOwner{Host: "w", PID: 1}).SweepPart(ctx, inv, &m); err == nil || !strings.Contains(err.Error(), "analyzer/other") {
		t.Fatalf("SweepPart with another analyzer: %v, want a refusal", err)
	}
	sw, parts, _ := store.Sweep(ctx, m.SweepID)
	if sw.Complete() || parts[0].Status != iamprune.SweepFailed || parts[0].RunID != "" || !strings.Contains(parts[0].Detail, "analyzer/other") {
		t.Errorf("after the refusal: %+v %+v, want its part failed with why, no run", sw, parts)
	}
}

// A sweep that made changes, completed by a consumer whose config has no
// default notification route, says why it sends no digest, not that there
// was nothing to tell.
func TestSweepCompleteWithoutDefaultRoute(t *testing.T) {
	t.Parallel()
	e, in := orgAccount(t)
	var logs bytes.Buffer
	e.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	sess, err := OpenSession(ctx, e.LoadAWS, "auto")
	if err != nil {
		t.Fatal(err)
	}
	store := &mock.Store{}
	in.Config.Accounts = []string{fanMember}
	res, err := Enqueue(ctx, e, sess, in, store, &batches{}, EnqueueRequest{Queue: testQueue})
	if err != nil || res.Messages != 1 {
		t.Fatalf("enqueue %+v %v", res, err)
	}
	cfg, counter, _ := e.LoadAWS(ctx)
	inv := &Invocation{Inputs: in, AWS: cfg, Counter: counter, Store: store}
	m := res.Sent[0]
	if _, err := NewHandler(e, io.Discard, iamprune.LockOwner{Host: "w", PID: 1}).SweepPart(ctx, inv, &m); err != nil {
		t.Fatal(err)
	}
	if sw, parts, err := store.Sweep(ctx, res.SweepID); err != nil || !sw.Complete() || parts[0].Changes == 0 {
		t.Fatalf("sweep %+v %+v %v", sw, parts, err)
	}
	if got := logs.String(); strings.Contains(got, "nothing to tell") || !strings.Contains(got, "notifications.default") {
		t.Errorf("sweep completed with changes and no default route; log:\n%s", got)
	}
}

// A member account that cannot be reached has every finding skipped
// whatever its details say: the plan reads none of them (GetFindingV2),
// in a plan as in each delivery of a sweep's message.
func TestPlanReadsNoDetailsOfAnUnreachableMember(t *testing.T) {
	t.Parallel()
	e, in := orgAccount(t)
	in.Config.CrossAccount.ExternalID = "wrong" // the member's role refuses
	p, err := MakePlan(context.Background(), in, PlanOptions{Store: &mock.Store{}, LoadAWS: e.LoadAWS})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Plan.Actions) != 3 {
		t.Fatalf("plan of %d actions, want the 3 findings skipped: %+v", len(p.Plan.Actions), p.Plan.Actions)
	}
	for _, a := range p.Plan.Actions {
		if a.Kind != iamprune.KindSkip || !strings.Contains(a.Reason, "unreachable") {
			t.Errorf("%s %s: %s, want skipped as unreachable", a.Kind, a.Target, a.Reason)
		}
	}
	if n := p.Session.Counter.ByOperation()["AccessAnalyzer.GetFindingV2"]; n != 0 {
		t.Errorf("%d GetFindingV2 call(s) for the findings of an unreachable member, want 0", n)
	}
}
