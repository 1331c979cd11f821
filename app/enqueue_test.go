package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/mock"
)

// fakePages serves accounts of given sizes page by page, counting the
// pages listed; failAt makes the listing of that account's page fail, and
// short gives an account pages of at most that many findings (as
// ListFindingsV2 may give fewer than asked).
type fakePages struct {
	mu     sync.Mutex
	sizes  map[string]int
	listed int
	failAt map[string]int
	short  map[string]int
}

func (f *fakePages) CountPage(_ context.Context, account, token string, size int) (int, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	from := 0
	if token != "" {
		fmt.Sscanf(token, "from-%d", &from)
	}
	if p, ok := f.failAt[account]; ok && from >= p {
		return 0, "", errors.New("ThrottlingException: slow down")
	}
	f.listed++
	if c, ok := f.short[account]; ok {
		size = min(size, c)
	}
	n := min(size, f.sizes[account]-from)
	if from+n >= f.sizes[account] {
		return n, "", nil
	}
	return n, fmt.Sprintf("from-%d", from+n), nil
}

func (f *fakePages) pagesListed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.listed
}

// consumer receives each message as it is sent and finishes its part at
// once, as a fast consumer would, noting which finish was last and how
// far the listing was when each batch was sent.
type consumer struct {
	t           *testing.T
	store       *mock.Store
	pages       *fakePages
	sent        []iamprune.SweepMessage
	listedAt    []int
	lasts       int
	lastAtTotal int
}

func (c *consumer) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	b := &batches{}
	got, err := b.SendMessageBatch(ctx, in)
	if err != nil {
		return nil, err
	}
	c.listedAt = append(c.listedAt, c.pages.pagesListed())
	for _, m := range b.sent {
		c.sent = append(c.sent, m)
		sw, last, err := c.store.FinishSweepPart(ctx, iamprune.SweepPart{SweepID: m.SweepID, Account: m.Account, Page: m.Page, Status: iamprune.SweepDone}, testNow)
		if err != nil {
			c.t.Errorf("consumer of %s: %v", m.Key(), err)
			continue
		}
		if last {
			c.lasts++
			c.lastAtTotal = sw.Expected
		}
	}
	return got, nil
}

func enqueueInTurns(t *testing.T, pages *fakePages, send SQSSender, store *mock.Store, size int) (*iamprune.SweepEnqueued, []*accountPager, error) {
	t.Helper()
	ctx := context.Background()
	res := &iamprune.SweepEnqueued{SweepID: "sweep-test"}
	out := &outbox{sweeps: store, send: send, queue: testQueue, res: res, start: iamprune.Sweep{ID: res.SweepID, StartedAt: testNow}}
	var pagers []*accountPager
	for _, a := range []string{"200000000001", "200000000002", "200000000003", "200000000004", "200000000005"} {
		base := iamprune.SweepMessage{Version: iamprune.SweepMessageVersion, SweepID: res.SweepID, Account: a, Queue: testQueue}
		pagers = append(pagers, &accountPager{base: base, size: size})
	}
	err := listInTurns(ctx, pages, pagers, out)
	if err == nil {
		err = out.finish(ctx)
	}
	if err != nil {
		err = out.stopped(err)
	}
	return res, pagers, err
}

// Messages go out while later pages are still listed, and the sweep is
// sealed before its last message is sent: with a consumer that finishes
// each part the moment it is sent, exactly the last part completes it. A
// large account is listed only until it is split: its last message is
// chained, for its consumers to enqueue the rest.
func TestEnqueueSendsWhileListing(t *testing.T) {
	t.Parallel()
	// 95 findings: pages of 5 and 20, the rest chained; 22: pages of 5
	// and 17, the account ending in its second turn; 10 and 0 findings:
	// one message each, the account whole, and 12 in short pages of 3:
	// one message after four turns.
	pages := &fakePages{sizes: map[string]int{"200000000001": 95, "200000000002": 22, "200000000003": 10, "200000000004": 0, "200000000005": 12},
		short: map[string]int{"200000000005": 3}}
	store := &mock.Store{}
	c := &consumer{t: t, store: store, pages: pages}
	res, pagers, err := enqueueInTurns(t, pages, c, store, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.sent) != 7 || len(res.Sent) != 7 {
		t.Fatalf("sent %d messages (%d noted): %+v", len(c.sent), len(res.Sent), c.sent)
	}
	if pages.pagesListed() != 2+2+2+1+4 {
		t.Errorf("%d pages listed, want 11: the large account's only until it is split", pages.pagesListed())
	}
	if c.listedAt[0] >= pages.pagesListed() {
		t.Errorf("the first batch went out after all %d pages were listed", pages.pagesListed())
	}
	if c.lasts != 1 || c.lastAtTotal != 7 {
		t.Errorf("%d finishes were last (at %d expected), want 1 at 7", c.lasts, c.lastAtTotal)
	}
	sw, parts, err := store.Sweep(context.Background(), res.SweepID)
	if err != nil || !sw.Complete() || len(parts) != 7 {
		t.Errorf("sweep %+v, %d parts, %v", sw, len(parts), err)
	}
	got := map[string][]iamprune.SweepMessage{}
	for _, m := range c.sent {
		if err := m.Validate(); err != nil {
			t.Errorf("message %s: %v", m.Key(), err)
		}
		got[m.Account] = append(got[m.Account], m)
	}
	big, mid := got["200000000001"], got["200000000002"]
	if len(big) != 2 || big[0].PageSize != 5 || big[0].PageToken != "" || big[0].Chain || big[0].Pages != 0 ||
		big[1].PageSize != 20 || big[1].PageToken == "" || !big[1].Chain || big[1].Pages != 0 {
		t.Errorf("the large account's messages %+v, want pages of 5 and 20, the second chained, their count unknown", big)
	}
	if len(mid) != 2 || mid[0].Pages != 2 || mid[1].Pages != 2 || mid[1].Chain || mid[1].PageSize != 20 {
		t.Errorf("the 22-finding account's messages %+v, want 2 pages, their count known", mid)
	}
	for _, a := range []string{"200000000003", "200000000004", "200000000005"} {
		if ms := got[a]; len(ms) != 1 || ms[0].Pages != 1 || ms[0].PageSize != 0 || ms[0].PageToken != "" || ms[0].Chain {
			t.Errorf("a small account's messages %+v, want one, the account whole", ms)
		}
	}
	if !pagers[0].chained || pagers[0].findings != 25 || pagers[0].pages != 2 || pagers[1].chained || pagers[1].findings != 22 {
		t.Errorf("pagers %+v %+v", pagers[0], pagers[1])
	}
}

// A listing that fails part-way leaves the messages sent (they are
// applied) and the sweep open, and says so.
func TestEnqueueStoppedPartWay(t *testing.T) {
	t.Parallel()
	pages := &fakePages{sizes: map[string]int{"200000000001": 95, "200000000002": 10}, failAt: map[string]int{"200000000001": 5}}
	store := &mock.Store{}
	c := &consumer{t: t, store: store, pages: pages}
	_, _, err := enqueueInTurns(t, pages, c, store, 20)
	if err == nil || !strings.Contains(err.Error(), "ThrottlingException") || !strings.Contains(err.Error(), "never completes") {
		t.Fatalf("err = %v", err)
	}
	sw, parts, serr := store.Sweep(context.Background(), "sweep-test")
	if serr != nil || !sw.Open() || sw.Complete() || len(parts) != len(c.sent) || len(c.sent) == 0 || c.lasts != 0 {
		t.Errorf("sweep %+v, %d parts for %d sent, %d lasts, %v", sw, len(parts), len(c.sent), c.lasts, serr)
	}
}

// A sweep that fails before it sends anything is not recorded.
func TestEnqueueFailingAtOnceLeavesNoSweep(t *testing.T) {
	t.Parallel()
	pages := &fakePages{sizes: map[string]int{"200000000001": 95}, failAt: map[string]int{"200000000001": 0}}
	store := &mock.Store{}
	c := &consumer{t: t, store: store, pages: pages}
	_, _, err := enqueueInTurns(t, pages, c, store, 20)
	if err == nil || strings.Contains(err.Error(), "never completes") {
		t.Fatalf("err = %v, want the listing's error alone", err)
	}
	if _, _, err := store.Sweep(context.Background(), "sweep-test"); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("a sweep that sent nothing was recorded: %v", err)
	}
}

// refuseOne is a queue that refuses the second message of its first
// batch and takes the others, as SendMessageBatch may.
type refuseOne struct {
	batches
	calls int
}

func (r *refuseOne) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	r.calls++
	if r.calls > 1 || len(in.Entries) < 2 {
		return r.batches.SendMessageBatch(ctx, in, opts...)
	}
	refused := in.Entries[1]
	in.Entries = slices.Delete(slices.Clone(in.Entries), 1, 2)
	out, err := r.batches.SendMessageBatch(ctx, in, opts...)
	if err == nil {
		out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: refused.Id, Code: aws.String("InternalError")})
	}
	return out, err
}

// A batch SQS takes only in part stops the sweep, and the error counts
// the messages it did take: they are applied.
func TestEnqueueBatchRefusedInPart(t *testing.T) {
	t.Parallel()
	pages := &fakePages{sizes: map[string]int{"200000000001": 1, "200000000002": 1, "200000000003": 1, "200000000004": 1, "200000000005": 1}}
	q := &refuseOne{}
	_, _, err := enqueueInTurns(t, pages, q, &mock.Store{}, 20)
	if len(q.sent) != 3 {
		t.Fatalf("the queue took %d message(s), want 3 of the first 4", len(q.sent))
	}
	if err == nil || !strings.Contains(err.Error(), "refused 1 message(s)") || !strings.Contains(err.Error(), "after 3 message(s) were sent") {
		t.Errorf("err = %v, want the refusal and the 3 messages sent", err)
	}
}

// failLast is a queue that takes every batch but the one with the last
// message, which it refuses whole.
type failLast struct {
	batches
	last string
}

func (f *failLast) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	for _, en := range in.Entries {
		if strings.Contains(aws.ToString(en.MessageBody), f.last) {
			return nil, errors.New("AWS.SimpleQueueService.NonExistentQueue")
		}
	}
	return f.batches.SendMessageBatch(ctx, in, opts...)
}

// The last message failing leaves the sweep sealed with its part pending:
// the error does not call it open.
func TestEnqueueLastMessageFails(t *testing.T) {
	t.Parallel()
	pages := &fakePages{sizes: map[string]int{"200000000001": 1, "200000000002": 1, "200000000003": 1, "200000000004": 1, "200000000005": 1}}
	store := &mock.Store{}
	_, _, err := enqueueInTurns(t, pages, &failLast{last: "200000000005"}, store, 20)
	if err == nil || !strings.Contains(err.Error(), "after 4 message(s) were sent") || !strings.Contains(err.Error(), "never completes") || strings.Contains(err.Error(), "open") {
		t.Errorf("err = %v", err)
	}
	if sw, _, err := store.Sweep(context.Background(), "sweep-test"); err != nil || sw.Open() || sw.Expected != 5 || sw.Complete() {
		t.Errorf("sweep %+v, %v; want sealed at 5, incomplete", sw, err)
	}
}
