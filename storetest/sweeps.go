package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// SweepStore is a store with a sweep log, as RunSweepLog needs it.
type SweepStore = interface {
	iamprune.SweepLog
	Close() error
}

// RunSweepLog runs the sweep-progress suite. open must return a new,
// empty store on each call; the suite closes it.
func RunSweepLog(t *testing.T, open func(t *testing.T) SweepStore) {
	t.Helper()
	runSweepSuite(t, open, nil)
}

// runSweepSuite runs the subtests of sweepSuite named in only, or all of
// them when only is empty.
func runSweepSuite(t *testing.T, open func(t *testing.T) SweepStore, only []string) {
	t.Helper()
	runCases(t, open, sweepSuite, only, func(s SweepStore) iamprune.SweepLog { return s })
}

var sweepSuite = []suiteCase[iamprune.SweepLog]{
	{"SweepRoundTrip", testSweepRoundTrip},
	{"SweepLastOnce", testSweepLastOnce},
	{"SweepConcurrentLast", testSweepConcurrentLast},
	{"SweepErrors", testSweepErrors},
	{"SweepOpenThenSealed", testSweepOpenThenSealed},
	{"SweepSealRefusals", testSweepSealRefusals},
	{"SweepChained", testSweepChained},
	{"SweepChainAfterDone", testSweepChainAfterDone},
}

var sweepStart = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)

// startSweep records a sweep of n accounts, the first of them in two pages.
func startSweep(t *testing.T, s iamprune.SweepLog, id string, n int) []iamprune.SweepPart {
	t.Helper()
	var parts []iamprune.SweepPart
	for i := range n {
		parts = append(parts, iamprune.SweepPart{Account: fmt.Sprintf("%012d", 200000000000+i), Page: 1})
	}
	parts = append(parts, iamprune.SweepPart{Account: parts[0].Account, Page: 2})
	sw := iamprune.Sweep{ID: id, Caller: "arn:aws:sts::111122223333:assumed-role/r/s", StartedAt: sweepStart, Expected: len(parts)}
	if err := s.StartSweep(context.Background(), sw, parts); err != nil {
		t.Fatalf("StartSweep: %v", err)
	}
	for i := range parts {
		parts[i].SweepID = id
	}
	return parts
}

func finish(t *testing.T, s iamprune.SweepLog, p iamprune.SweepPart, status, runID string, changes int) (*iamprune.Sweep, bool) {
	t.Helper()
	p.Status, p.RunID, p.Changes = status, runID, changes
	sw, last, err := s.FinishSweepPart(context.Background(), p, sweepStart.Add(time.Minute))
	if err != nil {
		t.Fatalf("FinishSweepPart %s %s: %v", p.Key(), status, err)
	}
	return sw, last
}

func testSweepRoundTrip(t *testing.T, s iamprune.SweepLog) {
	ctx := context.Background()
	parts := startSweep(t, s, "sweep-1", 2)
	sw, got, err := s.Sweep(ctx, "sweep-1")
	if err != nil {
		t.Fatal(err)
	}
	if sw.Expected != 3 || sw.Done != 0 || sw.FinishedAt != nil || !sw.StartedAt.Equal(sweepStart) || sw.Caller == "" {
		t.Errorf("new sweep = %+v", sw)
	}
	if len(got) != 3 || got[0].Key() != parts[0].Key() || got[1].Key() != parts[2].Key() || got[2].Key() != parts[1].Key() {
		t.Fatalf("parts not by account and page: %+v", got)
	}
	for _, p := range got {
		if p.Status != iamprune.SweepPending || p.SweepID != "sweep-1" || p.Attempts != 0 {
			t.Errorf("new part %+v", p)
		}
	}
	finish(t, s, parts[1], iamprune.SweepFailed, "run-a", 0)
	sw, _ = finish(t, s, parts[1], iamprune.SweepDone, "run-b", 4)
	if sw.Done != 1 || sw.Complete() {
		t.Errorf("after one part: %+v", sw)
	}
	_, got, err = s.Sweep(ctx, "sweep-1")
	if err != nil {
		t.Fatal(err)
	}
	p := got[2]
	if p.Status != iamprune.SweepDone || p.RunID != "run-b" || p.Changes != 4 || p.Attempts != 2 || p.UpdatedAt == nil {
		t.Errorf("finished part = %+v", p)
	}
}

// Exactly one call is last, and a part done twice counts once.
func testSweepLastOnce(t *testing.T, s iamprune.SweepLog) {
	parts := startSweep(t, s, "sweep-2", 2)
	lasts := 0
	for i, p := range parts {
		sw, last := finish(t, s, p, iamprune.SweepDone, "run", 1)
		if last {
			lasts++
			if i != len(parts)-1 || !sw.Complete() || sw.FinishedAt == nil {
				t.Errorf("last at part %d: %+v", i, sw)
			}
		}
		if i == 0 {
			// Redelivered after it was done: nothing counts twice.
			if sw, again := finish(t, s, p, iamprune.SweepDone, "run-again", 9); again || sw.Done != 1 {
				t.Errorf("a part done twice: last %v, %+v", again, sw)
			}
		}
	}
	if lasts != 1 {
		t.Errorf("%d calls were last, want 1", lasts)
	}
	if sw, last := finish(t, s, parts[0], iamprune.SweepFailed, "late", 0); last || sw.Done != len(parts) {
		t.Errorf("a failure after completion: last %v, %+v", last, sw)
	}
}

// Parts finished at the same time by many consumers: one is last.
func testSweepConcurrentLast(t *testing.T, s iamprune.SweepLog) {
	parts := startSweep(t, s, "sweep-3", 7)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		lasts int
	)
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Status = iamprune.SweepDone
			_, last, err := s.FinishSweepPart(context.Background(), p, sweepStart)
			if err != nil {
				t.Errorf("FinishSweepPart %s: %v", p.Key(), err)
			}
			if last {
				mu.Lock()
				lasts++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if lasts != 1 {
		t.Errorf("%d concurrent finishes were last, want 1", lasts)
	}
}

func testSweepErrors(t *testing.T, s iamprune.SweepLog) {
	ctx := context.Background()
	parts := startSweep(t, s, "sweep-4", 1)
	sw := iamprune.Sweep{ID: "sweep-4", StartedAt: sweepStart, Expected: 1}
	if err := s.StartSweep(ctx, sw, parts[:1]); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("StartSweep twice: %v, want ECONFLICT", err)
	}
	if err := s.StartSweep(ctx, iamprune.Sweep{ID: "sweep-5", Expected: 2}, parts[:1]); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("StartSweep with too few parts: %v, want EINVALID", err)
	}
	if _, _, err := s.Sweep(ctx, "nope"); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("Sweep unknown: %v", err)
	}
	if c, ok := s.(iamprune.SweepChecker); ok {
		if err := c.SweepExists(ctx, "sweep-4"); err != nil {
			t.Errorf("SweepExists of a sweep: %v", err)
		}
		if err := c.SweepExists(ctx, "nope"); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
			t.Errorf("SweepExists unknown: %v, want ENOTFOUND", err)
		}
	}
	bad := []iamprune.SweepPart{
		{SweepID: "nope", Account: parts[0].Account, Page: 1, Status: iamprune.SweepDone},
		{SweepID: "sweep-4", Account: "999999999999", Page: 1, Status: iamprune.SweepDone},
	}
	for _, p := range bad {
		if _, _, err := s.FinishSweepPart(ctx, p, sweepStart); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
			t.Errorf("FinishSweepPart %s/%s: %v, want ENOTFOUND", p.SweepID, p.Key(), err)
		}
	}
	p := parts[0]
	p.SweepID, p.Status = "sweep-4", iamprune.SweepPending
	if _, _, err := s.FinishSweepPart(ctx, p, sweepStart); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("FinishSweepPart pending: %v, want EINVALID", err)
	}
}

func part(id, account string, page int) iamprune.SweepPart {
	return iamprune.SweepPart{SweepID: id, Account: account, Page: page}
}

// An open sweep gets its parts while its messages are sent, some finish
// before it is sealed, and only a finish after the seal is last.
func testSweepOpenThenSealed(t *testing.T, s iamprune.SweepLog) {
	ctx := context.Background()
	const id = "sweep-open"
	if err := s.StartSweep(ctx, iamprune.Sweep{ID: id, StartedAt: sweepStart}, nil); err != nil {
		t.Fatalf("StartSweep open: %v", err)
	}
	a, b, c := part(id, "200000000001", 1), part(id, "200000000001", 2), part(id, "200000000002", 1)
	if err := s.AddSweepParts(ctx, id, []iamprune.SweepPart{a, b}); err != nil {
		t.Fatalf("AddSweepParts: %v", err)
	}
	if sw, last := finish(t, s, a, iamprune.SweepDone, "run-a", 1); last || sw.Complete() || !sw.Open() || sw.Done != 1 {
		t.Errorf("a part done while open: last %v, %+v", last, sw)
	}
	// A retried add leaves the part done as it is.
	if err := s.AddSweepParts(ctx, id, []iamprune.SweepPart{a, c}); err != nil {
		t.Fatalf("AddSweepParts again: %v", err)
	}
	sw, parts, err := s.Sweep(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 || parts[0].Status != iamprune.SweepDone || parts[0].RunID != "run-a" || !sw.Open() {
		t.Fatalf("after the adds: %+v %+v", sw, parts)
	}
	if sw, last := finish(t, s, b, iamprune.SweepDone, "run-b", 1); last || sw.Complete() {
		t.Errorf("a second part done while open: last %v, %+v", last, sw)
	}
	if sw, err := s.SealSweep(ctx, id, 3); err != nil || sw.Expected != 3 || sw.Done != 2 || sw.Open() {
		t.Fatalf("SealSweep: %+v, %v", sw, err)
	}
	if sw, err := s.SealSweep(ctx, id, 3); err != nil || sw.Expected != 3 {
		t.Errorf("SealSweep retried: %+v, %v", sw, err)
	}
	if err := s.AddSweepParts(ctx, id, []iamprune.SweepPart{part(id, "200000000003", 1)}); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("AddSweepParts after the seal: %v, want ECONFLICT", err)
	}
	if sw, last := finish(t, s, c, iamprune.SweepDone, "run-c", 0); !last || !sw.Complete() || sw.FinishedAt == nil {
		t.Errorf("the last part after the seal: last %v, %+v", last, sw)
	}
}

func testSweepSealRefusals(t *testing.T, s iamprune.SweepLog) {
	ctx := context.Background()
	const id = "sweep-seal"
	if err := s.AddSweepParts(ctx, "nope", []iamprune.SweepPart{part("nope", "200000000001", 1)}); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("AddSweepParts to an unknown sweep: %v, want ENOTFOUND", err)
	}
	if _, err := s.SealSweep(ctx, "nope", 1); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("SealSweep of an unknown sweep: %v, want ENOTFOUND", err)
	}
	if err := s.StartSweep(ctx, iamprune.Sweep{ID: id, StartedAt: sweepStart}, nil); err != nil {
		t.Fatal(err)
	}
	a := part(id, "200000000001", 1)
	if err := s.AddSweepParts(ctx, id, []iamprune.SweepPart{a, a}); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("AddSweepParts with a part twice: %v, want EINVALID", err)
	}
	if err := s.AddSweepParts(ctx, id, []iamprune.SweepPart{a}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 2} {
		if _, err := s.SealSweep(ctx, id, n); iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("SealSweep at %d of 1 recorded part: %v, want EINVALID", n, err)
		}
	}
	finish(t, s, a, iamprune.SweepDone, "run", 0)
	if _, err := s.SealSweep(ctx, id, 1); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("SealSweep with every part done: %v, want EINVALID", err)
	}
	startSweep(t, s, "sweep-closed", 1) // started sealed at 2 parts
	if _, err := s.SealSweep(ctx, "sweep-closed", 3); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("SealSweep of a sweep started sealed, at another size: %v, want ECONFLICT", err)
	}
	if err := s.AddSweepParts(ctx, "sweep-closed", []iamprune.SweepPart{part("sweep-closed", "200000000009", 1)}); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("AddSweepParts to a sweep started sealed: %v, want ECONFLICT", err)
	}
}

// Consumers chain an account's next pages into the sweep, before and
// after it is sealed; each claimed once its message is marked sent, and
// the sweep completes only with every chained part done.
func testSweepChained(t *testing.T, s iamprune.SweepLog) {
	ctx := context.Background()
	const id = "sweep-chain"
	if _, err := s.ExtendSweep(ctx, part("nope", "200000000001", 3)); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("ExtendSweep of an unknown sweep: %v, want ENOTFOUND", err)
	}
	if err := s.StartSweep(ctx, iamprune.Sweep{ID: id, StartedAt: sweepStart}, nil); err != nil {
		t.Fatal(err)
	}
	p1, p2, p3, p4 := part(id, "200000000001", 1), part(id, "200000000001", 2), part(id, "200000000001", 3), part(id, "200000000001", 4)
	if err := s.AddSweepParts(ctx, id, []iamprune.SweepPart{p1, p2}); err != nil {
		t.Fatal(err)
	}
	claim := func(p iamprune.SweepPart, want bool) {
		t.Helper()
		got, err := s.ExtendSweep(ctx, p)
		if err != nil || got != want {
			t.Fatalf("ExtendSweep %s = %v, %v; want %v", p.Key(), got, err, want)
		}
	}
	claim(p3, true) // the consumer of page 2 found page 3 while the sweep is open
	if err := s.SweepPartSent(ctx, p3); err != nil {
		t.Fatal(err)
	}
	claim(p3, false) // page 2 delivered again: page 3 is not sent twice
	claim(p2, false) // a part the enqueuer recorded is not the consumer's to send
	if sw, err := s.SealSweep(ctx, id, 2); err != nil || sw.Expected != 3 {
		t.Fatalf("SealSweep at the 2 enqueued parts: %+v, %v; want 3 expected with the chained one", sw, err)
	}
	finish(t, s, p1, iamprune.SweepDone, "run-1", 0)
	finish(t, s, p2, iamprune.SweepDone, "run-2", 0)
	claim(p4, true) // the consumer of page 3 found page 4, after the seal
	claim(p4, true) // and stopped before sending it: its retry sends it
	if err := s.SweepPartSent(ctx, p4); err != nil {
		t.Fatal(err)
	}
	claim(p4, false)
	if sw, last := finish(t, s, p3, iamprune.SweepDone, "run-3", 0); last || sw.Complete() || sw.Expected != 4 {
		t.Errorf("page 3 done with page 4 pending: last %v, %+v", last, sw)
	}
	if sw, last := finish(t, s, p4, iamprune.SweepDone, "run-4", 0); !last || !sw.Complete() || sw.Done != 4 {
		t.Errorf("the last chained page done: last %v, %+v", last, sw)
	}
	sw, parts, err := s.Sweep(ctx, id)
	if err != nil || sw.Expected != 4 || len(parts) != 4 {
		t.Errorf("Sweep = %+v, %d parts, %v", sw, len(parts), err)
	}
	if err := s.SweepPartSent(ctx, part(id, "200000000009", 1)); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("SweepPartSent of an unknown part: %v, want ENOTFOUND", err)
	}
}

// A page found by a part that is done already (its message redelivered
// after it was done, the listing longer meanwhile) is not recorded: the
// sweep may be complete, and growing it would make a second finish last.
// Racing the finish of the part before, either the page is recorded and
// that finish is not last, or it is not and the finish is.
func testSweepChainAfterDone(t *testing.T, s iamprune.SweepLog) {
	ctx := context.Background()
	for i := range 10 {
		id := fmt.Sprintf("sweep-late-%d", i)
		if err := s.StartSweep(ctx, iamprune.Sweep{ID: id, StartedAt: sweepStart}, nil); err != nil {
			t.Fatal(err)
		}
		p1, p2, p3 := part(id, "200000000001", 1), part(id, "200000000001", 2), part(id, "200000000001", 3)
		if err := s.AddSweepParts(ctx, id, []iamprune.SweepPart{p1, p2}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SealSweep(ctx, id, 2); err != nil {
			t.Fatal(err)
		}
		finish(t, s, p1, iamprune.SweepDone, "run-1", 0)
		var (
			wg      sync.WaitGroup
			claimed bool
			cerr    error
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			claimed, cerr = s.ExtendSweep(ctx, p3)
		}()
		_, last := finish(t, s, p2, iamprune.SweepDone, "run-2", 0)
		wg.Wait()
		if cerr != nil {
			t.Fatalf("ExtendSweep %s: %v", p3.Key(), cerr)
		}
		if claimed == last {
			t.Fatalf("%s: page 3 claimed %v and page 2's finish last %v: want exactly one", id, claimed, last)
		}
		sw, parts, err := s.Sweep(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !claimed {
			if sw.Expected != 2 || !sw.Complete() || len(parts) != 2 {
				t.Errorf("%s: page 3 refused, yet the sweep is %+v with %d parts", id, sw, len(parts))
			}
			// The done page redelivered once more: still nothing.
			if again, err := s.ExtendSweep(ctx, p3); err != nil || again {
				t.Errorf("%s: ExtendSweep %s after page 2 was done = %v, %v; want false", id, p3.Key(), again, err)
			}
			continue
		}
		if err := s.SweepPartSent(ctx, p3); err != nil {
			t.Fatal(err)
		}
		if sw, last := finish(t, s, p3, iamprune.SweepDone, "run-3", 0); !last || sw.Expected != 3 {
			t.Errorf("%s: page 3 done: last %v, %+v", id, last, sw)
		}
		if again, err := s.ExtendSweep(ctx, part(id, "200000000001", 4)); err != nil || again {
			t.Errorf("%s: ExtendSweep of page 4 after page 3 was done = %v, %v; want false", id, again, err)
		}
		if sw, parts, err := s.Sweep(ctx, id); err != nil || !sw.Complete() || sw.Expected != 3 || len(parts) != 3 {
			t.Errorf("%s: after a refused extension: %+v, %d parts, %v", id, sw, len(parts), err)
		}
	}
}
