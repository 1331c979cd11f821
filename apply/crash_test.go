package apply_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
)

var errKilled = errors.New("killed")

// crashAt returns a hook that kills the run at point of action id.
func crashAt(point, id string) func(string, iamprune.Action) error {
	return func(p string, a iamprune.Action) error {
		if p == point && a.ID == id {
			return errKilled
		}
		return nil
	}
}

// The process dies at each point of the journal, on the first, a middle
// or the last change; the next apply converges: every change is made
// exactly once, the journal shows each done exactly once, nothing stays
// pending and no run stays running.
func TestCrashConverges(t *testing.T) {
	for _, point := range apply.HookPoints {
		for _, victim := range []string{"a-key1", "a-pw", "a-deny"} {
			t.Run(point+"/"+victim, func(t *testing.T) {
				e := newEnv(t)
				e.opts.Hook = crashAt(point, victim)
				_, err := apply.Apply(context.Background(), basePlan(), e.opts)
				if !errors.Is(err, errKilled) {
					t.Fatalf("first apply: %v, want killed", err)
				}

				e.opts.Hook = nil
				res := e.apply(basePlan())
				if res.Failed() {
					t.Fatalf("second apply: %+v", res)
				}
				for _, id := range remediationIDs {
					if !e.w.changed[id] {
						t.Errorf("%s not changed after convergence", id)
					}
					if n := e.w.applies[id]; n != 1 {
						t.Errorf("%s changed %d times, want exactly once", id, n)
					}
				}
				done := map[string]int{}
				for _, rec := range e.journal() {
					if rec.Status == iamprune.ResultPending {
						t.Errorf("left pending: %+v", rec)
					}
					if rec.Status == iamprune.ResultDone {
						done[rec.ActionID]++
					}
				}
				for _, id := range remediationIDs {
					if done[id] != 1 {
						t.Errorf("journal shows %s done %d times, want once", id, done[id])
					}
				}
				runs := e.runs()
				if len(runs) != 2 || runs[1].Status != iamprune.RunInterrupted || runs[0].Status != iamprune.RunSucceeded {
					t.Errorf("runs %+v, want the dead one interrupted and the next succeeded", runs)
				}

				// And a third apply is a no-op.
				applies := e.w.count("apply ")
				res = e.apply(basePlan())
				if got, want := statuses(res), all(iamprune.ResultAlreadyDone, remediationIDs...); got != want {
					t.Errorf("third apply %s", got)
				}
				if e.w.count("apply ") != applies {
					t.Error("third apply made changes")
				}
			})
		}
	}
}

// What the dead run's pending intent resolves to depends on whether the
// change was made before it died.
func TestCrashReconcileDetail(t *testing.T) {
	tests := []struct {
		point  string
		status string
		detail string
	}{
		{apply.HookAfterIntent, iamprune.ResultFailed, "interrupted before the change; it will be planned again"},
		{apply.HookAfterApply, iamprune.ResultDone, "completed before the run was interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.point, func(t *testing.T) {
			e := newEnv(t)
			e.opts.Hook = crashAt(tt.point, "a-pw")
			first, _ := apply.Apply(context.Background(), basePlan(), e.opts)
			if first != nil {
				t.Fatalf("a killed run returned a result: %+v", first)
			}
			e.opts.Hook = nil
			got, err := apply.Reconcile(context.Background(), account, e.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].ActionID != "a-pw" || got[0].Status != tt.status || got[0].Detail != tt.detail {
				t.Errorf("reconciled %+v, want a-pw %s %q", got, tt.status, tt.detail)
			}
			runs := e.runs()
			if len(runs) != 1 || runs[0].Status != iamprune.RunInterrupted || !strings.HasPrefix(runs[0].Detail, "interrupted") {
				t.Errorf("runs %+v", runs)
			}
			if ev := e.events(); ev[len(ev)-2] != "action-reconciled" || ev[len(ev)-1] != "run-interrupted" {
				t.Errorf("audit %v", ev)
			}
			// Nothing left: a second reconcile finds nothing.
			if got, err := apply.Reconcile(context.Background(), account, e.opts); err != nil || len(got) != 0 {
				t.Errorf("second reconcile: %v %v", got, err)
			}
		})
	}
}

// An intent whose live state cannot be read stays pending and stops the
// next run: acting without knowing could make the change twice.
func TestReconcileUnreadable(t *testing.T) {
	e := newEnv(t)
	e.opts.Hook = crashAt(apply.HookAfterApply, "a-role")
	if _, err := apply.Apply(context.Background(), basePlan(), e.opts); !errors.Is(err, errKilled) {
		t.Fatal(err)
	}
	e.opts.Hook = nil
	e.w.inspErr["a-role"] = errors.New("RequestTimeout")
	_, err := apply.Apply(context.Background(), basePlan(), e.opts)
	if err == nil || !strings.Contains(err.Error(), "RequestTimeout") || !strings.Contains(err.Error(), "a-role") {
		t.Fatalf("err = %v", err)
	}
	if n := e.w.applies["a-deny"]; n != 0 {
		t.Errorf("the blocked run still acted")
	}
	pending := 0
	for _, rec := range e.journal() {
		if rec.Status == iamprune.ResultPending {
			pending++
		}
	}
	if pending != 1 {
		t.Errorf("%d pending, want the unresolved intent kept", pending)
	}
	delete(e.w.inspErr, "a-role")
	if res := e.apply(basePlan()); res.Failed() || e.w.applies["a-role"] != 1 {
		t.Errorf("after recovery: %+v, applies %v", res, e.w.applies)
	}
}

func TestReconcileBadInput(t *testing.T) {
	e := newEnv(t)
	if _, err := apply.Reconcile(context.Background(), "", e.opts); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("err = %v", err)
	}
}

// A rollback killed at any point is finished by the next rollback, and
// each change is undone exactly once.
func TestRollbackCrashConverges(t *testing.T) {
	for _, point := range apply.HookPoints {
		t.Run(point, func(t *testing.T) {
			e := newEnv(t)
			run := e.apply(basePlan()).RunID
			e.opts.Hook = crashAt(point, "a-pw")
			if _, err := apply.Rollback(context.Background(), run, nil, e.opts); !errors.Is(err, errKilled) {
				t.Fatalf("first rollback: %v", err)
			}
			e.opts.Hook = nil
			res := e.rollback(run)
			if res.Failed() {
				t.Fatalf("second rollback: %+v", res)
			}
			for _, id := range remediationIDs {
				if e.w.changed[id] {
					t.Errorf("%s still changed", id)
				}
				if n := e.w.restores[id]; n != 1 {
					t.Errorf("%s restored %d times, want once", id, n)
				}
			}
			for _, rec := range e.journal() {
				if rec.Status == iamprune.ResultPending {
					t.Errorf("left pending: %+v", rec)
				}
			}
			// Everything is now rolled back: a third rollback does nothing.
			calls := e.w.count("rollback ")
			res = e.rollback(run)
			if got, want := statuses(res), all(iamprune.ResultAlreadyDone, reverse(remediationIDs)...); got != want {
				t.Errorf("third rollback %s, want %s", got, want)
			}
			if e.w.count("rollback ") != calls {
				t.Error("third rollback called executors")
			}
		})
	}
}

func reverse(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}
