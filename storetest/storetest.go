// Package storetest is the conformance suite every iamprune.Store must
// pass: the SQLite store runs it, and so will any other backend, so that
// apply, rollback and history can rely on one behaviour.
//
// It is test support: it imports only the root, and only the stores' tests
// import it.
package storetest

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// Run runs the suite. open must return a new, empty store on each call;
// the suite closes it.
func Run(t *testing.T, open func(t *testing.T) iamprune.Store) {
	t.Helper()
	runSuite(t, open, nil)
}

// runSuite runs the subtests of suite named in only, or all of them when
// only is empty.
func runSuite(t *testing.T, open func(t *testing.T) iamprune.Store, only []string) {
	t.Helper()
	runCases(t, open, suite, only, func(s iamprune.Store) iamprune.Store { return s })
}

// suiteCase is one subtest of a suite, on the part L of the store it tests.
type suiteCase[L any] struct {
	name string
	test func(t *testing.T, s L)
}

// runCases runs the cases named in only (all when only is empty), each on
// a new store from open, seen through view, and closes the store after.
func runCases[S interface{ Close() error }, L any](t *testing.T, open func(t *testing.T) S, cases []suiteCase[L], only []string, view func(S) L) {
	t.Helper()
	for _, tc := range cases {
		if len(only) > 0 && !slices.Contains(only, tc.name) {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.test(t, view(s))
		})
	}
}

var suite = []suiteCase[iamprune.Store]{
	{"RunRoundTrip", testRunRoundTrip},
	{"RunUnknown", testRunUnknown},
	{"CreateRunTwice", testCreateRunTwice},
	{"Runs", testRuns},
	{"FinishRun", testFinishRun},
	{"BeginAction", testBeginAction},
	{"BeginActionTwice", testBeginActionTwice},
	{"BeginActionUnknownRun", testBeginActionUnknownRun},
	{"FinishAction", testFinishAction},
	{"FinishActionRefused", testFinishActionRefused},
	{"ActionsWriteOrder", testActionsWriteOrder},
	{"FindActions", testFindActions},
	{"ImagesByteExact", testImagesByteExact},
	{"ImageNotJSON", testImageNotJSON},
	{"LockHeld", testLockHeld},
	{"LockStale", testLockStale},
	{"LockAccounts", testLockAccounts},
	{"LockInvalid", testLockInvalid},
	{"LockRace", testLockRace},
	{"LockHolder", testLockHolder},
	{"BreakLock", testBreakLock},
	{"LockRenew", testLockRenew},
	{"StepsRoundTrip", testStepsRoundTrip},
	{"StepsReplace", testStepsReplace},
	{"StepsUnknown", testStepsUnknown},
	{"StepsFindActions", testStepsFindActions},
	{"BeginActionSteps", testBeginActionSteps},
	{"HoldRoundTrip", testHoldRoundTrip},
	{"HoldsList", testHoldsList},
	{"HoldRelease", testHoldRelease},
	{"HoldUnknown", testHoldUnknown},
}

// base is an arbitrary instant with sub-millisecond digits, in a zone that
// is not UTC, so that a store that keeps the zone or drops milliseconds
// fails.
var base = time.Date(2026, 11, 28, 9, 30, 15, 123_456_789, time.FixedZone("UTC+5", 5*3600))

func at(d time.Duration) time.Time { return base.Add(d) }

func ptr(t time.Time) *time.Time { return &t }

// wantCode fails unless err is an *iamprune.Error with code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var e *iamprune.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: got %v (%T), want an *iamprune.Error with code %s", what, err, err, code)
	}
	if e.Code != code {
		t.Fatalf("%s: got code %s (%v), want %s", what, e.Code, err, code)
	}
}

// checkTime fails unless got is want in UTC, to the millisecond at least.
func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s: location %v, want UTC", what, got.Location())
	}
	if d := got.Sub(want); d <= -time.Millisecond || d >= time.Millisecond {
		t.Errorf("%s: got %s, want %s", what, got.Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano))
	}
}

func checkTimePtr(t *testing.T, what string, got, want *time.Time) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s: got %v, want %v", what, got, want)
	default:
		checkTime(t, what, *got, *want)
	}
}

func checkRun(t *testing.T, got, want iamprune.Run) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.Account != want.Account || got.Caller != want.Caller ||
		got.Status != want.Status || got.Detail != want.Detail {
		t.Errorf("run %s:\n got %+v\nwant %+v", want.ID, got, want)
	}
	checkTime(t, want.ID+" started_at", got.StartedAt, want.StartedAt)
	checkTimePtr(t, want.ID+" finished_at", got.FinishedAt, want.FinishedAt)
	checkTimePtr(t, want.ID+" plan_generated_at", got.PlanGeneratedAt, want.PlanGeneratedAt)
	if !maps.Equal(got.PlanCounts, want.PlanCounts) {
		t.Errorf("run %s plan_counts = %v, want %v", want.ID, got.PlanCounts, want.PlanCounts)
	}
}

func checkAction(t *testing.T, got, want iamprune.ActionRecord) {
	t.Helper()
	id := want.RunID + "/" + want.ActionID
	if got.RunID != want.RunID || got.ActionID != want.ActionID || got.Account != want.Account ||
		got.FindingID != want.FindingID || got.Principal != want.Principal || got.FindingType != want.FindingType ||
		got.Kind != want.Kind || got.Target != want.Target || got.Status != want.Status ||
		got.Detail != want.Detail || got.RollbackOf != want.RollbackOf {
		t.Errorf("action %s:\n got %+v\nwant %+v", id, got, want)
	}
	if got.Services == nil {
		t.Errorf("action %s: Services is nil, want a non-nil slice", id)
	}
	if len(got.Services) != len(want.Services) {
		t.Errorf("action %s: services %q, want %q", id, got.Services, want.Services)
	} else {
		for i := range want.Services {
			if got.Services[i] != want.Services[i] {
				t.Errorf("action %s: services %q, want %q", id, got.Services, want.Services)
				break
			}
		}
	}
	if !bytes.Equal(got.PreImage, want.PreImage) {
		t.Errorf("action %s: pre-image differs (%d bytes, want %d)", id, len(got.PreImage), len(want.PreImage))
	}
	if !bytes.Equal(got.PostImage, want.PostImage) {
		t.Errorf("action %s: post-image differs (%d bytes, want %d)", id, len(got.PostImage), len(want.PostImage))
	}
	checkTime(t, id+" started_at", got.StartedAt, want.StartedAt)
	checkTimePtr(t, id+" finished_at", got.FinishedAt, want.FinishedAt)
}

// keys names records as "run/action", to compare orders.
func keys(recs []iamprune.ActionRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.RunID + "/" + r.ActionID
	}
	return out
}

func runIDs(runs []iamprune.Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
