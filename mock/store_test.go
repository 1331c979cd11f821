package mock_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/mock"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func TestStoreLock(t *testing.T) {
	ctx := context.Background()
	now := t0
	s := &mock.Store{Now: func() time.Time { return now }}
	l1, err := s.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "host-a pid 1"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "host-b pid 2"}, time.Minute)
	if iamprune.ErrorCode(err) != iamprune.ECONFLICT || !strings.Contains(err.Error(), "host-a pid 1") {
		t.Fatalf("second lock: %v, want ECONFLICT naming the holder", err)
	}
	if _, err := s.Lock(ctx, "444455556666", iamprune.LockOwner{Host: "host-b pid 2"}, time.Minute); err != nil {
		t.Fatalf("another account is not locked: %v", err)
	}

	// The holder died: past its ttl the lock is taken over, and the dead
	// holder's late release leaves the new holder alone.
	now = now.Add(time.Minute)
	l2, err := s.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "host-b pid 2"}, time.Minute)
	if err != nil {
		t.Fatalf("stale lock not taken over: %v", err)
	}
	if err := l1.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "host-c"}, time.Minute); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Fatalf("old holder's release freed the new holder's lock: %v", err)
	}
	if err := l2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l2.Release(ctx); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if _, err := s.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "host-c"}, time.Minute); err != nil {
		t.Fatalf("released lock not free: %v", err)
	}
}

func TestStoreLockInvalid(t *testing.T) {
	s := &mock.Store{}
	for _, tt := range []struct {
		account, owner string
		ttl            time.Duration
	}{{"", "o", time.Minute}, {"a", "", time.Minute}, {"a", "o", 0}} {
		if _, err := s.Lock(context.Background(), tt.account, iamprune.LockOwner{Host: tt.owner}, tt.ttl); iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("Lock(%q, %q, %s) = %v, want EINVALID", tt.account, tt.owner, tt.ttl, err)
		}
	}
}

func TestStoreLockConcurrent(t *testing.T) {
	s := &mock.Store{}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got int
	)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Lock(context.Background(), "111122223333", iamprune.LockOwner{Host: "o"}, time.Hour); err == nil {
				mu.Lock()
				got++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got != 1 {
		t.Errorf("%d goroutines took the lock, want 1", got)
	}
}

func TestStoreRuns(t *testing.T) {
	ctx := context.Background()
	s := &mock.Store{}
	for i, id := range []string{"r1", "r2", "r3"} {
		r := iamprune.Run{ID: id, Kind: iamprune.RunApply, Account: "111122223333", Status: iamprune.RunRunning, StartedAt: t0.Add(time.Duration(i) * time.Second)}
		if id == "r3" {
			r.Account = "444455556666"
		}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateRun(ctx, iamprune.Run{ID: "r1"}); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("duplicate run: %v, want ECONFLICT", err)
	}
	if _, err := s.Run(ctx, "nope"); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("Run(unknown) = %v, want ENOTFOUND", err)
	}
	if err := s.FinishRun(ctx, "nope", iamprune.RunFailed, "", t0); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("FinishRun(unknown) = %v, want ENOTFOUND", err)
	}
	if err := s.FinishRun(ctx, "r1", iamprune.RunSucceeded, "ok", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(ctx, "r1")
	if err != nil || r.Status != iamprune.RunSucceeded || r.Detail != "ok" || r.FinishedAt == nil || !r.FinishedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Run(r1) = %+v, %v", r, err)
	}
	for _, tt := range []struct {
		account string
		limit   int
		want    string
	}{{"", 0, "r3 r2 r1"}, {"111122223333", 0, "r2 r1"}, {"", 2, "r3 r2"}, {"999999999999", 0, ""}} {
		runs, err := s.Runs(ctx, tt.account, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		if got := strings.Join(ids, " "); got != tt.want {
			t.Errorf("Runs(%q, %d) = %q, want %q", tt.account, tt.limit, got, tt.want)
		}
	}
}

func TestStoreJournal(t *testing.T) {
	ctx := context.Background()
	s := &mock.Store{}
	for _, id := range []string{"r1", "r2"} {
		if err := s.CreateRun(ctx, iamprune.Run{ID: id, Account: "111122223333", StartedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	rec := func(run, action string, at time.Time) iamprune.ActionRecord {
		return iamprune.ActionRecord{RunID: run, ActionID: action, Account: "111122223333", Kind: iamprune.KindDeactivateAccessKey,
			Target: "AKIA" + action, PreImage: json.RawMessage(`{"status":"Active"}`), StartedAt: at}
	}
	// r2/b is written first but started later: FindActions sorts by start.
	for _, r := range []iamprune.ActionRecord{rec("r2", "b", t0.Add(2*time.Second)), rec("r1", "a", t0), rec("r1", "b", t0.Add(time.Second))} {
		if err := s.BeginAction(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.BeginAction(ctx, rec("r1", "a", t0)); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("second BeginAction: %v, want ECONFLICT", err)
	}
	if err := s.BeginAction(ctx, rec("nope", "a", t0)); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("BeginAction(unknown run): %v, want ENOTFOUND", err)
	}
	bad := rec("r1", "c", t0)
	bad.PreImage = json.RawMessage(`{`)
	if err := s.BeginAction(ctx, bad); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("bad pre-image: %v, want EINVALID", err)
	}
	if err := s.FinishAction(ctx, "r1", "a", iamprune.ResultDone, "deactivated", json.RawMessage(`{"x":1}`), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishAction(ctx, "r1", "a", iamprune.ResultFailed, "", nil, t0); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("second FinishAction: %v, want ECONFLICT", err)
	}
	if err := s.FinishAction(ctx, "r1", "zz", iamprune.ResultDone, "", nil, t0); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("FinishAction(unknown): %v, want ENOTFOUND", err)
	}
	if err := s.FinishAction(ctx, "r1", "b", iamprune.ResultPending, "", nil, t0); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("FinishAction(pending): %v, want EINVALID", err)
	}

	got, err := s.Actions(ctx, "r1")
	if err != nil || len(got) != 2 || got[0].ActionID != "a" || got[1].ActionID != "b" {
		t.Fatalf("Actions(r1) = %+v, %v", got, err)
	}
	if got[0].Status != iamprune.ResultDone || string(got[0].PostImage) != `{"x":1}` || got[1].Status != iamprune.ResultPending {
		t.Errorf("journal = %+v", got)
	}
	// What a caller holds is its own.
	got[0].PreImage[2] = 'X'
	again, _ := s.Actions(ctx, "r1")
	if string(again[0].PreImage) != `{"status":"Active"}` {
		t.Errorf("store aliased a returned pre-image: %s", again[0].PreImage)
	}

	for _, tt := range []struct {
		f    iamprune.ActionFilter
		want string
	}{
		{iamprune.ActionFilter{}, "r1/a r1/b r2/b"},
		{iamprune.ActionFilter{ActionID: "b"}, "r1/b r2/b"},
		{iamprune.ActionFilter{Status: iamprune.ResultPending}, "r1/b r2/b"},
		{iamprune.ActionFilter{Target: "AKIAa", Kind: iamprune.KindDeactivateAccessKey}, "r1/a"},
		{iamprune.ActionFilter{Account: "444455556666"}, ""},
	} {
		recs, err := s.FindActions(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.RunID+"/"+r.ActionID)
		}
		if got := strings.Join(ids, " "); got != tt.want {
			t.Errorf("FindActions(%+v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestStoreClosed(t *testing.T) {
	s := &mock.Store{}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Runs(context.Background(), "", 0); err == nil {
		t.Error("closed store still answers")
	}
}
