package apply_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
)

func TestRollback(t *testing.T) {
	e := newEnv(t)
	run := e.apply(basePlan()).RunID
	res := e.rollback(run)

	// Newest first: the reverse of the order the changes were made in.
	if got, want := statuses(res), all(iamprune.ResultDone, reverse(remediationIDs)...); got != want {
		t.Fatalf("results %s, want %s", got, want)
	}
	var order []string
	for _, c := range e.w.calls {
		if id, ok := strings.CutPrefix(c, "rollback "); ok {
			order = append(order, id)
		}
	}
	if !slices.Equal(order, reverse(remediationIDs)) {
		t.Errorf("executor rollback order %v", order)
	}
	for _, id := range remediationIDs {
		if e.w.changed[id] {
			t.Errorf("%s not restored", id)
		}
	}
	if res.RunID == run || res.Failed() {
		t.Errorf("result %+v", res)
	}
	r := e.run(res.RunID)
	if r.Kind != iamprune.RunRollback || r.Status != iamprune.RunSucceeded || !strings.Contains(r.Detail, run) {
		t.Errorf("rollback run %+v", r)
	}
	recs, _ := e.store.Actions(context.Background(), res.RunID)
	orig, _ := e.store.Actions(context.Background(), run)
	if len(recs) != 5 {
		t.Fatalf("rollback journal has %d entries", len(recs))
	}
	for _, rec := range recs {
		var o iamprune.ActionRecord
		for _, x := range orig {
			if x.ActionID == rec.ActionID {
				o = x
			}
		}
		if rec.RollbackOf != run+"/"+rec.ActionID || rec.Status != iamprune.ResultDone || string(rec.PreImage) != string(o.PreImage) {
			t.Errorf("rollback entry %+v, want RollbackOf %s/%s and the original pre-image %s", rec, run, rec.ActionID, o.PreImage)
		}
	}
	want := []string{"rollback-started", "rollback-done"}
	ev := e.events()
	if !slices.Contains(ev, want[0]) || !slices.Contains(ev, want[1]) {
		t.Errorf("audit %v lacks %v", ev, want)
	}
}

func TestRollbackTwice(t *testing.T) {
	e := newEnv(t)
	run := e.apply(basePlan()).RunID
	first := e.rollback(run)
	calls := e.w.count("rollback ")
	res := e.rollback(run)
	if got, want := statuses(res), all(iamprune.ResultAlreadyDone, reverse(remediationIDs)...); got != want {
		t.Errorf("second rollback %s, want %s", got, want)
	}
	if d := res.Results[0].Detail; d != "already rolled back by run "+first.RunID {
		t.Errorf("detail %q", d)
	}
	if n := e.w.count("rollback "); n != calls {
		t.Errorf("second rollback called executors %d times", n-calls)
	}
}

func TestRollbackSubset(t *testing.T) {
	e := newEnv(t)
	e.w.skip["a-key2"] = "access key AKIAALICE2 no longer exists"
	run := e.apply(basePlan()).RunID

	res := e.rollback(run, "a-role", "a-pw")
	if got := statuses(res); got != "a-role=done a-pw=done" {
		t.Fatalf("subset %s (want newest first)", got)
	}
	if e.w.changed["a-pw"] || e.w.changed["a-role"] || !e.w.changed["a-key1"] || !e.w.changed["a-deny"] {
		t.Errorf("state %v", e.w.changed)
	}

	// A listed action the run did not change is reported, not undone.
	res = e.rollback(run, "a-key2")
	if r := result(res, "a-key2"); r.Status != iamprune.ResultSkipped || !strings.Contains(r.Detail, "did not change it (skipped)") {
		t.Errorf("unchanged action: %+v", r)
	}

	// The rest, then: what is already undone is not undone again.
	res = e.rollback(run)
	if got := statuses(res); got != "a-deny=done a-role=already-done a-pw=already-done a-key1=done" {
		t.Errorf("rest %s", got)
	}
	for id, n := range e.w.restores {
		if n != 1 {
			t.Errorf("%s restored %d times", id, n)
		}
	}

	_, err := apply.Rollback(context.Background(), run, []string{"a-nope"}, e.opts)
	if iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), "has no action a-nope") {
		t.Errorf("unknown action: %v", err)
	}
}

func TestRollbackErrors(t *testing.T) {
	e := newEnv(t)
	run := e.apply(basePlan()).RunID
	rb := e.rollback(run, "a-key1").RunID
	tests := []struct {
		name  string
		runID string
		edit  func(*apply.Options)
		code  string
		want  string
	}{
		{"unknown run", "nope", nil, iamprune.ENOTFOUND, "nope"},
		{"rollback of a rollback", rb, nil, iamprune.EINVALID, "only apply runs can be rolled back"},
		{"no account", run, func(o *apply.Options) { o.Account = "" }, iamprune.EINVALID, "account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := e.opts
			if tt.edit != nil {
				tt.edit(&o)
			}
			_, err := apply.Rollback(context.Background(), tt.runID, nil, o)
			if iamprune.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %s containing %q", err, tt.code, tt.want)
			}
		})
	}
}

func TestRollbackAccountGuards(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*apply.Options)
		want string
	}{
		{"other account", func(o *apply.Options) { o.Account = "444455556666" }, "changed account 111122223333, credentials act in 444455556666"},
		{"allowlist", func(o *apply.Options) { o.Accounts = []string{"444455556666"} }, "not in the config's accounts allowlist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			run := e.apply(basePlan()).RunID
			tt.edit(&e.opts)
			res := e.rollback(run)
			if !strings.Contains(res.Refused, tt.want) {
				t.Errorf("refused %q, want %q", res.Refused, tt.want)
			}
			if n := e.w.count("rollback "); n != 0 {
				t.Errorf("%d rollbacks despite refusal", n)
			}
		})
	}
}

func TestRollbackFailureIsolation(t *testing.T) {
	e := newEnv(t)
	run := e.apply(basePlan()).RunID
	e.w.rbErr["a-role"] = errors.New("NoSuchEntity: role app")
	res := e.rollback(run)
	if got := statuses(res); got != "a-deny=done a-role=failed a-pw=done a-key2=done a-key1=done" {
		t.Fatalf("results %s", got)
	}
	if !res.Failed() || e.run(res.RunID).Status != iamprune.RunFailed {
		t.Error("failure not reported")
	}
	// A failed rollback does not count as done: the next one retries it.
	delete(e.w.rbErr, "a-role")
	if got := statuses(e.rollback(run)); !strings.Contains(got, "a-role=done") {
		t.Errorf("retry %s", got)
	}
}

// The one-time password of a recreated login profile is shown once, in
// the result, and is never stored or logged, even when an executor echoes
// it in its detail.
func TestRollbackSecretNeverStored(t *testing.T) {
	const secret = "Xq9!vT3#pL0s-one-time"
	e := newEnv(t)
	e.w.secret = secret
	run := e.apply(basePlan()).RunID
	res := e.rollback(run)

	if d := result(res, "a-pw").Detail; !strings.Contains(d, secret) {
		t.Errorf("result detail %q does not show the password", d)
	}
	for _, r := range res.Results {
		if r.ActionID != "a-pw" && strings.Contains(r.Detail, secret) {
			t.Errorf("secret in %s", r.ActionID)
		}
	}
	stored, _ := json.Marshal(struct {
		Runs    []iamprune.Run
		Journal []iamprune.ActionRecord
	}{e.runs(), e.journal()})
	if strings.Contains(string(stored), secret) {
		t.Errorf("secret stored in the state store: %s", stored)
	}
	if !strings.Contains(string(stored), "[redacted]") {
		t.Errorf("the executor's echo was not redacted: %s", stored)
	}
	if strings.Contains(string(e.log.Bytes()), secret) {
		t.Errorf("secret in the audit log")
	}

	// Shown once: the idempotent second rollback does not show it again.
	again := e.rollback(run)
	if strings.Contains(result(again, "a-pw").Detail, secret) {
		t.Error("secret shown twice")
	}
}

func TestChanges(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.w.skip["a-key2"] = "gone"
	run := e.apply(basePlan()).RunID

	m, err := iamprune.Changes(ctx, e.store, account)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id, ref := range m.Actions {
		if ref.RunID != run || !ref.At.Equal(now) {
			t.Errorf("%s: %+v", id, ref)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if got := strings.Join(ids, " "); got != "a-deny a-key1 a-pw a-role" {
		t.Errorf("done %s", got)
	}
	if _, ok := m.Deactivated["AKIAALICE1"]; !ok || len(m.Deactivated) != 1 {
		t.Errorf("deactivated %v", m.Deactivated)
	}

	e.rollback(run, "a-key1", "a-role")
	m, err = iamprune.Changes(ctx, e.store, account)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Actions["a-key1"]; ok || len(m.Actions) != 2 || len(m.Deactivated) != 0 {
		t.Errorf("after rollback: %+v", m)
	}

	// Made again after the rollback: done again, by the new run.
	again := e.apply(basePlan()).RunID
	m, _ = iamprune.Changes(ctx, e.store, account)
	if m.Actions["a-key1"].RunID != again || m.Deactivated["AKIAALICE1"].RunID != again || m.Actions["a-pw"].RunID != run {
		t.Errorf("after re-apply: %+v", m)
	}
	if m, _ := iamprune.Changes(ctx, e.store, "444455556666"); len(m.Actions) != 0 {
		t.Errorf("other account: %+v", m)
	}
}
