package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func newStep(seq int, status string, pre, post json.RawMessage, when time.Time) iamprune.Step {
	return iamprune.Step{Seq: seq, Op: "PutRolePolicy", Target: fmt.Sprintf("iamprune-step-%d", seq),
		Pre: pre, Post: post, Status: status, At: when}
}

func mustRecordStep(t *testing.T, s iamprune.Store, runID, actionID string, st iamprune.Step) {
	t.Helper()
	if err := s.RecordStep(context.Background(), runID, actionID, st); err != nil {
		t.Fatalf("RecordStep %s/%s #%d: %v", runID, actionID, st.Seq, err)
	}
}

// checkSteps fails unless got is want: same steps in the same order,
// images byte for byte, times in UTC.
func checkSteps(t *testing.T, what string, got, want []iamprune.Step) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d steps %v, want %d", what, len(got), seqs(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		id := fmt.Sprintf("%s step %d", what, w.Seq)
		if g.Seq != w.Seq || g.Op != w.Op || g.Target != w.Target || g.Status != w.Status {
			t.Errorf("%s:\n got %+v\nwant %+v", id, stepHead(g), stepHead(w))
		}
		if !bytes.Equal(g.Pre, w.Pre) {
			t.Errorf("%s: pre differs (%d bytes, want %d)", id, len(g.Pre), len(w.Pre))
		}
		if !bytes.Equal(g.Post, w.Post) {
			t.Errorf("%s: post differs (%d bytes, want %d)", id, len(g.Post), len(w.Post))
		}
		checkTime(t, id+" at", g.At, w.At)
	}
}

// stepHead is a step without its images, to print.
func stepHead(s iamprune.Step) string {
	return fmt.Sprintf("{Seq:%d Op:%s Target:%s Status:%s}", s.Seq, s.Op, s.Target, s.Status)
}

func seqs(steps []iamprune.Step) []int {
	out := make([]int, len(steps))
	for i, s := range steps {
		out[i] = s.Seq
	}
	return out
}

// Steps come back with their action, in Seq order whatever the order they
// were written in, with images byte for byte (a large one too).
func testStepsRoundTrip(t *testing.T, s iamprune.Store) {
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	mustBegin(t, s, newAction("r1", "a1", at(time.Second)))
	mustBegin(t, s, newAction("r1", "a2", at(2*time.Second)))
	if steps := entry(t, s, "r1", "a1").Steps; len(steps) != 0 {
		t.Errorf("a new intent has steps %v", seqs(steps))
	}

	want := []iamprune.Step{
		newStep(1, iamprune.StepDone, json.RawMessage("{ \"b\" : 1,\n\t\"a\":[\"\\u00e9\", \"é\"] }  "), json.RawMessage(`{"arn":"x"}`), at(3*time.Second)),
		newStep(2, iamprune.StepDone, nil, json.RawMessage(`[ ]`), at(4*time.Second)),
		newStep(3, iamprune.StepPending, bigImage(300<<10), nil, at(5*time.Second)),
	}
	want[1].Op, want[1].Target = "TagRole", "iamprune-quarantine"
	for _, i := range []int{2, 0, 1} {
		mustRecordStep(t, s, "r1", "a1", want[i])
	}
	other := []iamprune.Step{newStep(1, iamprune.StepPending, json.RawMessage(`{"other":true}`), nil, at(6*time.Second))}
	mustRecordStep(t, s, "r1", "a2", other[0])

	checkSteps(t, "Actions r1/a1", entry(t, s, "r1", "a1").Steps, want)
	checkSteps(t, "Actions r1/a2", entry(t, s, "r1", "a2").Steps, other)
	// The rest of the record is untouched by its steps.
	rec := newAction("r1", "a1", at(time.Second))
	checkAction(t, entry(t, s, "r1", "a1"), rec)
}

// RecordStep with a Seq already recorded replaces that step: the pending
// record of a write becomes its done record.
func testStepsReplace(t *testing.T, s iamprune.Store) {
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	mustBegin(t, s, newAction("r1", "a1", at(time.Second)))
	mustRecordStep(t, s, "r1", "a1", newStep(1, iamprune.StepPending, bigImage(200<<10), nil, at(2*time.Second)))
	mustRecordStep(t, s, "r1", "a1", newStep(2, iamprune.StepPending, json.RawMessage(`{"tags":[]}`), nil, at(3*time.Second)))
	done := newStep(1, iamprune.StepDone, json.RawMessage(`{"small":1}`), json.RawMessage(`{"created":"p1"}`), at(4*time.Second))
	done.Op = "CreatePolicy"
	mustRecordStep(t, s, "r1", "a1", done)
	checkSteps(t, "after replacing step 1", entry(t, s, "r1", "a1").Steps, []iamprune.Step{
		done, newStep(2, iamprune.StepPending, json.RawMessage(`{"tags":[]}`), nil, at(3*time.Second)),
	})
}

// A step of an intent that was never journaled is ENOTFOUND, and records
// nothing.
func testStepsUnknown(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	st := newStep(1, iamprune.StepPending, nil, nil, at(0))
	wantCode(t, "RecordStep for an unknown run", s.RecordStep(ctx, "no-such-run", "a1", st), iamprune.ENOTFOUND)
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	wantCode(t, "RecordStep for an unknown action", s.RecordStep(ctx, "r1", "no-such-action", st), iamprune.ENOTFOUND)
	mustBegin(t, s, newAction("r1", "a1", at(time.Second)))
	if rec := entry(t, s, "r1", "a1"); len(rec.Steps) != 0 {
		t.Errorf("steps of unknown intents ended up on r1/a1: %v", seqs(rec.Steps))
	}
	bad := newStep(1, iamprune.StepPending, json.RawMessage(`{"Policy":`), nil, at(0))
	wantCode(t, "RecordStep with a truncated pre-image", s.RecordStep(ctx, "r1", "a1", bad), iamprune.EINVALID)
	wantCode(t, "RecordStep with seq 0", s.RecordStep(ctx, "r1", "a1", newStep(0, iamprune.StepPending, nil, nil, at(0))), iamprune.EINVALID)
	if rec := entry(t, s, "r1", "a1"); len(rec.Steps) != 0 {
		t.Errorf("a rejected step was recorded: %v", seqs(rec.Steps))
	}
}

// FindActions returns each record with its own steps: the same action id
// in two runs keeps its steps apart.
func testStepsFindActions(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	mustCreateRun(t, s, newRun("r2", "111122223333", at(time.Hour)))
	mustBegin(t, s, newAction("r1", "a1", at(time.Second)))
	mustBegin(t, s, newAction("r2", "a1", at(time.Hour+time.Second)))
	mustBegin(t, s, newAction("r2", "a2", at(time.Hour+2*time.Second)))
	s1 := []iamprune.Step{
		newStep(1, iamprune.StepDone, json.RawMessage(`{"run":1,"step":1}`), nil, at(2*time.Second)),
		newStep(2, iamprune.StepPending, json.RawMessage(`{"run":1,"step":2}`), nil, at(3*time.Second)),
	}
	s2 := []iamprune.Step{newStep(1, iamprune.StepDone, json.RawMessage(`{"run":2}`), json.RawMessage(`{}`), at(time.Hour+3*time.Second))}
	for _, st := range s1 {
		mustRecordStep(t, s, "r1", "a1", st)
	}
	mustRecordStep(t, s, "r2", "a1", s2[0])

	found, err := s.FindActions(ctx, iamprune.ActionFilter{ActionID: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(found); !equal(got, []string{"r1/a1", "r2/a1"}) {
		t.Fatalf("FindActions a1 = %q", got)
	}
	checkSteps(t, "FindActions r1/a1", found[0].Steps, s1)
	checkSteps(t, "FindActions r2/a1", found[1].Steps, s2)

	all, err := s.FindActions(ctx, iamprune.ActionFilter{Account: "111122223333"})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(all); !equal(got, []string{"r1/a1", "r2/a1", "r2/a2"}) {
		t.Fatalf("FindActions by account = %q", got)
	}
	checkSteps(t, "FindActions by account r1/a1", all[0].Steps, s1)
	checkSteps(t, "FindActions by account r2/a1", all[1].Steps, s2)
	checkSteps(t, "FindActions by account r2/a2", all[2].Steps, nil)
}

// An intent journaled with its steps keeps them, in Seq order.
func testBeginActionSteps(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	want := []iamprune.Step{
		newStep(1, iamprune.StepDone, json.RawMessage(`{"one":1}`), json.RawMessage(`{"made":"p"}`), at(2*time.Second)),
		newStep(2, iamprune.StepDone, bigImage(100<<10), nil, at(3*time.Second)),
	}
	rec := newAction("r1", "a1", at(time.Second))
	rec.Steps = []iamprune.Step{want[1], want[0]}
	mustBegin(t, s, rec)
	checkSteps(t, "BeginAction with steps", entry(t, s, "r1", "a1").Steps, want)

	// A rejected intent records none of its steps, and keeps the first's.
	again := newAction("r1", "a1", at(time.Second))
	again.Steps = []iamprune.Step{newStep(1, iamprune.StepPending, json.RawMessage(`{"again":1}`), nil, at(4*time.Second))}
	wantCode(t, "BeginAction twice with steps", s.BeginAction(ctx, again), iamprune.ECONFLICT)
	checkSteps(t, "after a refused BeginAction", entry(t, s, "r1", "a1").Steps, want)

	bad := newAction("r1", "bad", at(time.Second))
	bad.Steps = []iamprune.Step{newStep(1, iamprune.StepDone, json.RawMessage(`nope`), nil, at(0))}
	wantCode(t, "BeginAction with a bad step image", s.BeginAction(ctx, bad), iamprune.EINVALID)
	if recs := mustActions(t, s, "r1"); len(recs) != 1 {
		t.Errorf("an intent with a bad step was journaled: %q", keys(recs))
	}
}

// entry returns the journal entry runID/actionID as Actions returns it.
func entry(t *testing.T, s iamprune.Store, runID, actionID string) iamprune.ActionRecord {
	t.Helper()
	for _, r := range mustActions(t, s, runID) {
		if r.ActionID == actionID {
			return r
		}
	}
	t.Fatalf("Actions %s has no %s", runID, actionID)
	return iamprune.ActionRecord{}
}
