package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func newRun(id, account string, started time.Time) iamprune.Run {
	return iamprune.Run{ID: id, Kind: iamprune.RunApply, Account: account, Status: iamprune.RunRunning, StartedAt: started}
}

func mustCreateRun(t *testing.T, s iamprune.Store, r iamprune.Run) {
	t.Helper()
	if err := s.CreateRun(context.Background(), r); err != nil {
		t.Fatalf("CreateRun %s: %v", r.ID, err)
	}
}

func testRunRoundTrip(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	for _, want := range []iamprune.Run{
		newRun("run-minimal", "111122223333", at(0)),
		{
			ID: "run-full", Kind: iamprune.RunRollback, Account: "111122223333",
			Caller: "arn:aws:sts::111122223333:assumed-role/Ops/alice", Status: iamprune.RunSucceeded,
			Detail: "3 done, 1 skipped: ünïcödé and 'quotes'", StartedAt: at(time.Hour),
			FinishedAt: ptr(at(time.Hour + 90*time.Second)), PlanGeneratedAt: ptr(at(-24 * time.Hour)),
			PlanCounts: map[iamprune.ActionKind]int{iamprune.KindNotify: 3, iamprune.KindQuarantineRole: 1, iamprune.KindExempt: 12},
		},
	} {
		mustCreateRun(t, s, want)
		got, err := s.Run(ctx, want.ID)
		if err != nil {
			t.Fatalf("Run %s: %v", want.ID, err)
		}
		checkRun(t, *got, want)
	}
}

func testRunUnknown(t *testing.T, s iamprune.Store) {
	mustCreateRun(t, s, newRun("known", "111122223333", at(0)))
	r, err := s.Run(context.Background(), "unknown")
	if r != nil {
		t.Errorf("Run(unknown) = %+v, want nil", r)
	}
	wantCode(t, "Run(unknown)", err, iamprune.ENOTFOUND)
}

func testCreateRunTwice(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	second := newRun("r1", "444455556666", at(time.Hour))
	wantCode(t, "second CreateRun r1", s.CreateRun(ctx, second), iamprune.ECONFLICT)
	got, err := s.Run(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Account != "111122223333" {
		t.Errorf("the second CreateRun overwrote the first: account %s", got.Account)
	}
}

func testRuns(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	// Written out of time order, so that insertion order is not enough.
	for _, r := range []iamprune.Run{
		newRun("a-2", "A", at(2*time.Hour)),
		newRun("b-1", "B", at(1*time.Hour)),
		newRun("a-4", "A", at(4*time.Hour)),
		newRun("a-1", "A", at(0)),
		newRun("b-3", "B", at(3*time.Hour)),
	} {
		mustCreateRun(t, s, r)
	}
	for _, tc := range []struct {
		account string
		limit   int
		want    []string
	}{
		{"", 0, []string{"a-4", "b-3", "a-2", "b-1", "a-1"}},
		{"", -1, []string{"a-4", "b-3", "a-2", "b-1", "a-1"}},
		{"", 2, []string{"a-4", "b-3"}},
		{"", 10, []string{"a-4", "b-3", "a-2", "b-1", "a-1"}},
		{"A", 0, []string{"a-4", "a-2", "a-1"}},
		{"A", 1, []string{"a-4"}},
		{"B", 0, []string{"b-3", "b-1"}},
		{"C", 0, []string{}},
	} {
		runs, err := s.Runs(ctx, tc.account, tc.limit)
		if err != nil {
			t.Fatalf("Runs(%q, %d): %v", tc.account, tc.limit, err)
		}
		if got := runIDs(runs); !equal(got, tc.want) {
			t.Errorf("Runs(%q, %d) = %q, want %q", tc.account, tc.limit, got, tc.want)
		}
	}
	// The listed runs are complete records, not just ids.
	runs, err := s.Runs(ctx, "B", 1)
	if err != nil || len(runs) != 1 {
		t.Fatalf("Runs(B, 1) = %v, %v", runs, err)
	}
	checkRun(t, runs[0], newRun("b-3", "B", at(3*time.Hour)))
}

func testFinishRun(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	r := newRun("r1", "111122223333", at(0))
	r.PlanGeneratedAt = ptr(at(-time.Hour))
	mustCreateRun(t, s, r)
	mustCreateRun(t, s, newRun("r2", "111122223333", at(time.Minute)))

	if err := s.FinishRun(ctx, "r1", iamprune.RunFailed, "1 action failed", at(5*time.Minute)); err != nil {
		t.Fatalf("FinishRun: %v", err)
	}
	r.Status, r.Detail, r.FinishedAt = iamprune.RunFailed, "1 action failed", ptr(at(5*time.Minute))
	got, err := s.Run(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, *got, r)

	// The other run is untouched.
	got, err = s.Run(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, *got, newRun("r2", "111122223333", at(time.Minute)))

	wantCode(t, "FinishRun(unknown)", s.FinishRun(ctx, "unknown", iamprune.RunSucceeded, "", at(0)), iamprune.ENOTFOUND)
}
