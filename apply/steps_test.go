package apply_test

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go/middleware"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/mock"
	"github.com/iamprune/iamprune/remediate"
	"github.com/iamprune/iamprune/snapshot"
)

// iamEnv is an emulated account (a snapshot of remediate's test data), the
// real executors pointed at it, and a store (which journals steps).
type iamEnv struct {
	t     *testing.T
	srv   *emulator.Server
	store *mock.Store
	opts  apply.Options
	// failAt, when set, makes the n-th call of an operation fail once
	// (through the emulator's fault injection) with AccessDenied.
	mu     sync.Mutex
	failOp string
	failN  int
	seen   map[string]int
}

func newIAMEnv(t *testing.T, snap string) *iamEnv {
	t.Helper()
	s, err := snapshot.LoadDir(filepath.Join("..", "remediate", "testdata", snap))
	if err != nil {
		t.Fatal(err)
	}
	e := &iamEnv{t: t, store: &mock.Store{}, seen: map[string]int{}}
	srv, cfg := emulatortest.Start(t, s, emulator.Options{Now: func() time.Time { return now }})
	e.srv = srv
	client := iam.NewFromConfig(cfg, func(o *iam.Options) { o.APIOptions = append(o.APIOptions, e.injector) })
	e.opts = apply.Options{
		Store:      e.store,
		Executors:  remediate.Executors(client, remediate.Options{Now: func() time.Time { return now }, RunID: "run-x"}),
		Protection: iamprune.Protection{Caller: "arn:aws:sts::111122223333:assumed-role/iamprune-runner/session"},
		Account:    account,
		MaxActions: 25,
		Now:        func() time.Time { return now },
		Audit:      audit.New(io.Discard, nil),
		Owner:      iamprune.LockOwner{Host: "test", PID: 1},
	}
	return e
}

// injector arms the emulator's FailNext just before the chosen call.
func (e *iamEnv) injector(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("failNth", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		op := awsmiddleware.GetOperationName(ctx)
		e.mu.Lock()
		e.seen[op]++
		if op == e.failOp && e.seen[op] == e.failN {
			e.srv.FailNext(op, "AccessDenied", 1)
		}
		e.mu.Unlock()
		return next.HandleInitialize(ctx, in)
	}), middleware.After)
}

func (e *iamEnv) failNth(op string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failOp, e.failN, e.seen = op, n, map[string]int{}
}

func (e *iamEnv) dump() []byte {
	e.t.Helper()
	b, err := e.srv.Dump()
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *iamEnv) writes() []string {
	var out []string
	for _, c := range e.srv.Writes() {
		out = append(out, c.Operation)
	}
	return out
}

func (e *iamEnv) apply(a iamprune.Action) *iamprune.RunResult {
	e.t.Helper()
	a.Account = account
	p := &iamprune.Plan{GeneratedAt: now.Add(-time.Hour), Account: account, Actions: []iamprune.Action{a}}
	res, err := apply.Apply(context.Background(), p, e.opts)
	if err != nil {
		e.t.Fatalf("Apply: %v", err)
	}
	return res
}

func (e *iamEnv) rollback(runID string) *iamprune.RunResult {
	e.t.Helper()
	res, err := apply.Rollback(context.Background(), runID, nil, e.opts)
	if err != nil {
		e.t.Fatalf("Rollback: %v", err)
	}
	return res
}

// sameState fails unless two dumps differ in at most the entities allowed.
func sameState(t *testing.T, what string, want, got []byte, allowed ...string) {
	t.Helper()
	d, err := emulator.DumpDiff(want, got)
	if err != nil {
		t.Fatal(err)
	}
	d = slices.DeleteFunc(d, func(s string) bool { return slices.Contains(allowed, s) })
	if len(d) > 0 {
		t.Errorf("%s: %v differ", what, d)
	}
}

const arnPrefix = "arn:aws:iam::111122223333:"

// The quarantine of issue "a half-done quarantine is never healed": the
// tags fail once after the deny-all policy is written. The next apply
// completes the tags (it is not already done), and rolling back both runs,
// in either order, restores the role exactly.
func TestHalfDoneQuarantineHealsAndRollsBack(t *testing.T) {
	for _, order := range []string{"newest first", "oldest first"} {
		t.Run(order, func(t *testing.T) {
			e := newIAMEnv(t, "quarantine")
			before := e.dump()
			a := iamprune.Action{ID: "q-ci", FindingID: "f-ci", Principal: arnPrefix + "role/ci-role", FindingType: iamprune.UnusedIAMRole,
				Kind: iamprune.KindQuarantineRole, Target: "ci-role", Services: []string{}, LastAccessed: ptrTime(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))}
			e.srv.FailNext("TagRole", "AccessDenied", 1)
			first := e.apply(a)
			if got := statuses(first); got != "q-ci=failed" {
				t.Fatalf("first apply %s", got)
			}
			recs, _ := e.store.Actions(context.Background(), first.RunID)
			if len(recs) != 1 || len(recs[0].Steps) != 2 || recs[0].Steps[0].Status != iamprune.StepDone || recs[0].Steps[1].Status != iamprune.StepPending {
				t.Fatalf("journal of the failed run %+v, want PutRolePolicy done and TagRole pending", recs)
			}
			second := e.apply(a)
			if got := statuses(second); got != "q-ci=done" {
				t.Fatalf("re-apply %s, want the missing tags done", got)
			}
			tags := roleTags(t, e, "ci-role")
			if tags[remediate.TagQuarantinedAt] == "" || tags[remediate.TagQuarantineReason] == "" {
				t.Errorf("tags after re-apply %v", tags)
			}
			if third := e.apply(a); statuses(third) != "q-ci=already-done" {
				t.Errorf("third apply %s", statuses(third))
			}
			runs := []string{second.RunID, first.RunID}
			want := []string{"done", "already-done"}
			if order == "oldest first" {
				// The failed run alone must not lift the quarantine the
				// second run completed (the journal would still count it
				// as made): it is refused (exit 1), naming the second run,
				// and after that one it finds nothing left.
				runs = []string{first.RunID, second.RunID, first.RunID}
				want = []string{"failed", "done", "already-done"}
			}
			var got []string
			for i, run := range runs {
				res := e.rollback(run)
				if res.Failed() != (want[i] == "failed") || len(res.Results) != 1 {
					t.Fatalf("rollback of %s: %+v", run, res)
				}
				got = append(got, res.Results[0].Status)
				if order == "oldest first" && i == 0 {
					if !strings.Contains(res.Results[0].Detail, second.RunID) {
						t.Errorf("skip detail %q does not name run %s", res.Results[0].Detail, second.RunID)
					}
					if tags := roleTags(t, e, "ci-role"); tags[remediate.TagQuarantinedAt] == "" {
						t.Errorf("rolling back the failed run alone lifted the completed quarantine")
					}
				}
			}
			// Exactly one rollback lifts the quarantine; the last finds
			// nothing left.
			if !slices.Equal(got, want) {
				t.Errorf("rollback statuses %v, want %v", got, want)
			}
			sameState(t, "after rolling back both runs", before, e.dump())
			made, err := iamprune.Changes(context.Background(), e.store, account)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := made.Actions["q-ci"]; ok {
				t.Errorf("journal still counts the quarantine as made: %+v", made.Actions)
			}
		})
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

func roleTags(t *testing.T, e *iamEnv, role string) map[string]string {
	t.Helper()
	var d struct {
		Roles []struct {
			RoleName string
			Tags     []struct{ Key, Value string }
		}
	}
	if err := json.Unmarshal(e.dump(), &d); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range d.Roles {
		if r.RoleName == role {
			for _, tg := range r.Tags {
				m[tg.Key] = tg.Value
			}
		}
	}
	return m
}
