package apply_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
)

func TestApply(t *testing.T) {
	e := newEnv(t)
	res := e.apply(basePlan())

	if got, want := statuses(res), all(iamprune.ResultDone, remediationIDs...); got != want {
		t.Fatalf("results %s, want %s (non-remediations are not reported)", got, want)
	}
	if res.Failed() || res.Refused != "" || res.RunID == "" {
		t.Errorf("result = %+v", res)
	}
	for _, id := range remediationIDs {
		if !e.w.changed[id] {
			t.Errorf("%s not changed", id)
		}
	}
	if n := e.w.count("apply "); n != 5 {
		t.Errorf("%d executor applies, want 5", n)
	}
	if n := e.w.count("inspect "); n != 5 {
		t.Errorf("%d inspections, want one per action (5)", n)
	}
	// f-key backs two actions: it is read once.
	for id, n := range e.findingReads {
		if n != 1 {
			t.Errorf("finding %s read %d times, want once", id, n)
		}
	}
	recs := e.journal()
	if len(recs) != 5 {
		t.Fatalf("journal has %d entries, want 5", len(recs))
	}
	for i, rec := range recs {
		if rec.ActionID != remediationIDs[i] || rec.Status != iamprune.ResultDone || rec.RunID != res.RunID ||
			rec.Account != account || len(rec.PreImage) == 0 || len(rec.PostImage) == 0 || rec.FinishedAt == nil {
			t.Errorf("journal[%d] = %+v", i, rec)
		}
	}
	if !strings.Contains(string(recs[0].PreImage), `"changed":false`) {
		t.Errorf("pre-image is not the state before the change: %s", recs[0].PreImage)
	}
	r := e.run(res.RunID)
	if r.Status != iamprune.RunSucceeded || r.Kind != iamprune.RunApply || r.Account != account || r.PlanGeneratedAt == nil || r.FinishedAt == nil {
		t.Errorf("run = %+v", r)
	}
	if !strings.Contains(r.Detail, "5 done") {
		t.Errorf("run detail %q", r.Detail)
	}
	// The plan's counts are kept with the run, so the open items can be
	// followed from run to run (the HTML report's history).
	if want := basePlan().PendingCounts(); !maps.Equal(r.PlanCounts, want) || len(want) < 2 {
		t.Errorf("run plan counts %v, want %v", r.PlanCounts, want)
	}
}

func TestApplyRunID(t *testing.T) {
	e := newEnv(t)
	e.opts.RunID = "run-given"
	if res := e.apply(basePlan()); res.RunID != "run-given" {
		t.Errorf("run id %q, want the given one", res.RunID)
	}
}

func TestApplyIdempotent(t *testing.T) {
	e := newEnv(t)
	e.apply(basePlan())
	applies := e.w.count("apply ")

	res := e.apply(basePlan())
	if got, want := statuses(res), all(iamprune.ResultAlreadyDone, remediationIDs...); got != want {
		t.Errorf("second apply: %s, want %s", got, want)
	}
	if n := e.w.count("apply "); n != applies {
		t.Errorf("second apply made %d write calls, want none", n-applies)
	}

	// A plan made after the first run marks the changes done: not even a
	// read is needed.
	p := basePlan()
	for i := range p.Actions {
		p.Actions[i].Done = &iamprune.DoneRef{RunID: "earlier", At: now}
	}
	inspections := e.w.count("inspect ")
	res = e.apply(p)
	if got, want := statuses(res), all(iamprune.ResultAlreadyDone, remediationIDs...); got != want {
		t.Errorf("done plan: %s, want %s", got, want)
	}
	if n := e.w.count("inspect "); n != inspections {
		t.Errorf("done actions were inspected %d times", n-inspections)
	}
	if d := result(res, "a-key1").Detail; !strings.Contains(d, "run earlier") {
		t.Errorf("detail %q does not name the run that made the change", d)
	}
}

func TestApplyFailureIsolation(t *testing.T) {
	e := newEnv(t)
	e.w.applyErr["a-key2"] = errors.New("AccessDenied: not authorized")
	res := e.apply(basePlan())
	want := "a-key1=done a-key2=failed a-pw=done a-role=done a-deny=done"
	if got := statuses(res); got != want {
		t.Fatalf("results %s, want %s", got, want)
	}
	if d := result(res, "a-key2").Detail; !strings.Contains(d, "AccessDenied") {
		t.Errorf("failure detail %q", d)
	}
	if !res.Failed() {
		t.Error("result does not report the failure")
	}
	if r := e.run(res.RunID); r.Status != iamprune.RunFailed {
		t.Errorf("run status %s, want failed", r.Status)
	}
	for _, rec := range e.journal() {
		if rec.ActionID == "a-key2" && (rec.Status != iamprune.ResultFailed || !strings.Contains(rec.Detail, "AccessDenied")) {
			t.Errorf("journal %+v", rec)
		}
	}
	// The failed action is retried by the next run; the rest are not redone.
	delete(e.w.applyErr, "a-key2")
	res = e.apply(basePlan())
	if got := result(res, "a-key2").Status; got != iamprune.ResultDone {
		t.Errorf("retry: %s", got)
	}
	if e.w.applies["a-key1"] != 1 || e.w.applies["a-key2"] != 1 {
		t.Errorf("applies %v", e.w.applies)
	}
}

func TestApplyAudit(t *testing.T) {
	e := newEnv(t)
	e.w.skip["a-key2"] = "access key AKIAALICE2 used on 2026-11-27, after the finding"
	res := e.apply(without(basePlan(), "a-pw", "a-role", "a-deny"))
	if got := statuses(res); got != "a-key1=done a-key2=skipped" {
		t.Fatalf("results %s", got)
	}
	want := []string{"run-started", "action-started", "action-done", "action-skipped", "run-finished"}
	if got := e.events(); !slices.Equal(got, want) {
		t.Errorf("audit events %v, want %v", got, want)
	}
	log := string(e.log.Bytes())
	for _, s := range []string{`"target":"AKIAALICE2"`, "after the finding", `"finding_id":"f-key"`, `"run_id":"` + res.RunID + `"`} {
		if !strings.Contains(log, s) {
			t.Errorf("audit log lacks %s:\n%s", s, log)
		}
	}
}

func TestApplyBadInput(t *testing.T) {
	dup := basePlan()
	dup.Actions[1].ID = dup.Actions[0].ID
	noID := basePlan()
	noID.Actions[0].ID = ""
	tests := []struct {
		name string
		plan *iamprune.Plan
		edit func(*apply.Options)
		want string
	}{
		{"no plan", nil, nil, "no plan"},
		{"duplicate id", dup, nil, "listed twice"},
		{"no id", noID, nil, "has no id"},
		{"no store", basePlan(), func(o *apply.Options) { o.Store = nil }, "no state store"},
		{"no account", basePlan(), func(o *apply.Options) { o.Account = "" }, "account"},
		{"negative max", basePlan(), func(o *apply.Options) { o.MaxActions = -1 }, "max actions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.edit != nil {
				tt.edit(&e.opts)
			}
			_, err := apply.Apply(context.Background(), tt.plan, e.opts)
			if iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want EINVALID containing %q", err, tt.want)
			}
			if len(e.w.calls) > 0 {
				t.Errorf("executor called: %v", e.w.calls)
			}
		})
	}
}

// A failing audit log stops the run before any change: the audit trail is
// part of what makes the change acceptable.
func TestApplyAuditUnwritable(t *testing.T) {
	e := newEnv(t)
	e.opts.Audit = auditTo(failWriter{})
	if _, err := apply.Apply(context.Background(), basePlan(), e.opts); err == nil {
		t.Fatal("apply went ahead without an audit log")
	}
	if n := e.w.count("apply "); n != 0 {
		t.Errorf("%d changes made", n)
	}
}

// A signal (or a lost lock) while a change is in flight: whether it was
// made is unknown, so the intent stays pending for the next run to resolve
// from the live state, the run is closed as interrupted (not failed), and
// the next apply finds the change made and does not make it twice.
func TestStoppedDuringChange(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	first := ""
	e.w.mu.Lock()
	e.w.block, e.w.entered = make(chan struct{}), make(chan struct{}, 1)
	e.w.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := apply.Apply(ctx, basePlan(), e.opts)
		done <- err
	}()
	<-e.w.entered
	// The write reaches AWS, then the process is told to stop.
	e.w.mu.Lock()
	for id := range e.w.applyErr {
		delete(e.w.applyErr, id)
	}
	e.w.mu.Unlock()
	cancel(errors.New("SIGTERM"))
	e.w.mu.Lock()
	for _, c := range e.w.calls {
		if strings.HasPrefix(c, "apply ") {
			first = strings.TrimPrefix(c, "apply ")
			break
		}
	}
	// The executor sees the cancellation as its call's error.
	e.w.applyErr[first] = context.Canceled
	close(e.w.block)
	e.w.block = nil
	e.w.mu.Unlock()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "SIGTERM") {
		t.Fatalf("Apply error = %v, want it to name the cause", err)
	}
	runs := e.runs()
	if len(runs) != 1 || runs[0].Status != iamprune.RunInterrupted {
		t.Fatalf("runs %+v, want one interrupted", runs)
	}
	var pending []string
	for _, rec := range e.journal() {
		if rec.Status == iamprune.ResultPending {
			pending = append(pending, rec.ActionID)
		}
	}
	if len(pending) != 1 || pending[0] != first {
		t.Fatalf("pending intents %v, want only %s", pending, first)
	}
	// The write did land: the next apply resolves the intent as done and
	// makes no second write.
	e.w.mu.Lock()
	delete(e.w.applyErr, first)
	e.w.changed[first] = true
	e.w.mu.Unlock()
	e.apply(basePlan())
	if n := e.w.applies[first]; n != 0 {
		t.Errorf("%s applied %d times after the stop, want 0 (already made)", first, n)
	}
	for _, rec := range e.journal() {
		if rec.ActionID == first && rec.RunID == runs[0].ID && rec.Status != iamprune.ResultDone {
			t.Errorf("stopped intent reconciled as %s, want done", rec.Status)
		}
	}
}
