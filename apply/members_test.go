package apply_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
)

const (
	member      = "444455556666"
	unreachable = "777788889999"
)

// Actions in member accounts go to the member's executors; an account that
// cannot be reached fails its own actions only, and every account the run
// changes is locked.
func TestMemberAccounts(t *testing.T) {
	e := newEnv(t)
	mw := newWorld()
	var asked []string
	e.opts.Members = func(_ context.Context, account string) (map[iamprune.ActionKind]iamprune.Executor, error) {
		asked = append(asked, account)
		if account == member {
			return mw.executors(), nil
		}
		return nil, errors.New("cannot assume role arn:aws:iam::" + account + ":role/iamprune-remediation: AccessDenied")
	}
	p := basePlan()
	p.Actions[0].Account = member // a-key1
	p.Actions[4].Account = unreachable
	res := e.apply(p)
	if res.Refused != "" {
		t.Fatalf("refused: %s", res.Refused)
	}
	want := "a-key1=done a-key2=done a-pw=done a-role=failed a-deny=done"
	if got := statuses(res); got != want {
		t.Fatalf("statuses %s, want %s", got, want)
	}
	if d := result(res, "a-role").Detail; !strings.Contains(d, "AccessDenied") || !strings.Contains(d, unreachable) {
		t.Errorf("unreachable account detail: %q", d)
	}
	if mw.applies["a-key1"] != 1 || e.w.applies["a-key1"] != 0 || e.w.applies["a-key2"] != 1 {
		t.Errorf("member applies %v, home applies %v", mw.applies, e.w.applies)
	}
	for _, a := range asked {
		if a != member && a != unreachable {
			t.Errorf("asked for executors of %s", a)
		}
	}
	// Rollback goes back to the member's executors.
	rb := e.rollback(res.RunID)
	if rb.Failed() || mw.restores["a-key1"] != 1 {
		t.Errorf("rollback %s, member restores %v", statuses(rb), mw.restores)
	}
}

func TestMemberAccountsAllowlist(t *testing.T) {
	e := newEnv(t)
	e.opts.Members = func(context.Context, string) (map[iamprune.ActionKind]iamprune.Executor, error) {
		return newWorld().executors(), nil
	}
	e.opts.Accounts = []string{account}
	p := basePlan()
	p.Actions[0].Account = member
	if res := e.apply(p); res.Refused != "account "+member+" is not in the config's accounts allowlist" {
		t.Errorf("refused %q", res.Refused)
	}
}

// A policy rewrite that failed part-way may have made some of its writes:
// rollback undoes it by default, and a crash in the middle leaves it to be
// planned again rather than counted as done.
func TestFailedRewriteIsRolledBack(t *testing.T) {
	e := newEnv(t)
	p := basePlan()
	rw := p.Actions[6] // a-deny, made a rewrite
	rw.ID, rw.Kind = "a-rewrite", iamprune.KindRewritePolicy
	rw.Policies = []iamprune.PolicyChange{rewriteChange(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`)}
	p.Actions = append(p.Actions[:6], rw)
	e.w.applyErr["a-rewrite"] = errors.New("CreatePolicyVersion: LimitExceeded")
	res := e.apply(p)
	if got := result(res, "a-rewrite"); got.Status != iamprune.ResultFailed {
		t.Fatalf("rewrite %s", got.Status)
	}
	e.w.changed["a-rewrite"] = true // part of it was made
	rb := e.rollback(res.RunID)
	if got := result(rb, "a-rewrite"); got.Status != iamprune.ResultDone || e.w.restores["a-rewrite"] != 1 {
		t.Errorf("rollback of the failed rewrite: %s %s, restores %d", got.Status, got.Detail, e.w.restores["a-rewrite"])
	}
}

func rewriteChange(after string) iamprune.PolicyChange {
	return iamprune.PolicyChange{
		Policy: "app-inline", Type: iamprune.PolicyInline, Name: "app-inline", Method: iamprune.MethodPutInline,
		Before: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}`),
		After:  []json.RawMessage{json.RawMessage(`{"Version":"2012-10-17","Statement":[` + after + `]}`)},
	}
}

// A saved plan with one tampered rewrite is refused as a whole.
func TestTamperedSavedPlanRefused(t *testing.T) {
	e := newEnv(t)
	e.opts.Saved = true
	p := basePlan()
	rw := p.Actions[6]
	rw.ID, rw.Kind = "a-rewrite", iamprune.KindRewritePolicy
	rw.Policies = []iamprune.PolicyChange{rewriteChange(`{"Effect":"Allow","Action":"*","Resource":"*"}`)}
	p.Actions = append(p.Actions, rw)
	res := e.apply(p)
	if !strings.Contains(res.Refused, "is not its old one narrowed") || e.w.count("apply") != 0 {
		t.Errorf("refused %q, applies %v", res.Refused, e.w.calls)
	}
}

// A plan file whose new document grants more than the old one is refused
// before any executor call, whatever it says.
func TestTamperedRewriteRefused(t *testing.T) {
	for _, after := range []string{
		`{"Effect":"Allow","Action":"*","Resource":"*"}`,
		`{"Effect":"Allow","Action":["s3:GetObject","iam:PassRole"],"Resource":"*"}`,
	} {
		e := newEnv(t)
		p := basePlan()
		rw := p.Actions[6]
		rw.ID, rw.Kind = "a-rewrite", iamprune.KindRewritePolicy
		rw.Policies = []iamprune.PolicyChange{rewriteChange(after)}
		p.Actions = []iamprune.Action{rw}
		res := e.apply(p)
		got := result(res, "a-rewrite")
		if got.Status != iamprune.ResultFailed || !strings.Contains(got.Detail, "is not its old one narrowed") {
			t.Errorf("%s: %s %s", after, got.Status, got.Detail)
		}
		if e.w.count("") != 0 {
			t.Errorf("%s: executor called: %v", after, e.w.calls)
		}
	}
}

// A change a crash left pending in a member account is reconciled by the
// rollback, under that account's lock, and then undone.
func TestRollbackReconcilesMemberAccounts(t *testing.T) {
	e := newEnv(t)
	mw := newWorld()
	e.opts.Members = func(context.Context, string) (map[iamprune.ActionKind]iamprune.Executor, error) {
		return mw.executors(), nil
	}
	p := basePlan()
	p.Actions[0].Account = member // a-key1
	e.opts.Hook = func(point string, a iamprune.Action) error {
		if point == apply.HookAfterApply && a.ID == "a-key1" {
			return errors.New("crash")
		}
		return nil
	}
	if _, err := apply.Apply(context.Background(), p, e.opts); err == nil {
		t.Fatal("the injected crash did not stop the run")
	}
	e.opts.Hook = nil
	runs := e.runs()
	if len(runs) != 1 || mw.applies["a-key1"] != 1 {
		t.Fatalf("runs %v, member applies %v", runs, mw.applies)
	}
	rb := e.rollback(runs[0].ID)
	if got := result(rb, "a-key1"); got.Status != iamprune.ResultDone || mw.restores["a-key1"] != 1 {
		t.Errorf("rollback of the crashed member change: %s %s, restores %v", got.Status, got.Detail, mw.restores)
	}
}

// A run confined to one member account (a fanned-out sweep's message)
// locks only that account, so that runs of other accounts proceed beside
// it, is recorded under it, and refuses an action elsewhere.
func TestScopedRun(t *testing.T) {
	e := newEnv(t)
	mw := newWorld()
	e.opts.Members = func(context.Context, string) (map[iamprune.ActionKind]iamprune.Executor, error) {
		return mw.executors(), nil
	}
	e.opts.Scope = member
	// Another consumer holds the home account's lock: a scoped run does
	// not need it.
	held, err := e.store.Lock(context.Background(), account, iamprune.LockOwner{Host: "elsewhere", PID: 1}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(context.Background())
	p := basePlan()
	p.Actions = p.Actions[:1]
	p.Actions[0].Account = member
	res := e.apply(p)
	if res.Refused != "" || statuses(res) != "a-key1=done" {
		t.Fatalf("scoped run: refused %q, %s", res.Refused, statuses(res))
	}
	if r := e.run(res.RunID); r.Account != member {
		t.Errorf("scoped run recorded under %s, want %s", r.Account, member)
	}
	// The member's lock is held by the other consumer now: refused.
	mlk, err := e.store.Lock(context.Background(), member, iamprune.LockOwner{Host: "elsewhere", PID: 1}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apply.Apply(context.Background(), p, e.opts); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("scoped run with its account locked: %v, want ECONFLICT", err)
	}
	mlk.Release(context.Background())
	p = basePlan()
	p.Actions = p.Actions[:2]
	p.Actions[0].Account = member
	if res := e.apply(p); !strings.Contains(res.Refused, "confined to account "+member) {
		t.Errorf("an action outside the scope: refused %q", res.Refused)
	}
}

// A fanned-out sweep's run is recorded under its member account, made
// with the home account's credentials through the member role: rollback
// with those credentials undoes it through the member's executors.
func TestRollbackScopedRun(t *testing.T) {
	e := newEnv(t)
	mw := newWorld()
	e.opts.Members = func(context.Context, string) (map[iamprune.ActionKind]iamprune.Executor, error) {
		return mw.executors(), nil
	}
	e.opts.Scope = member
	p := basePlan()
	p.Actions = p.Actions[:1]
	p.Actions[0].Account = member
	res := e.apply(p)
	if res.Refused != "" || statuses(res) != "a-key1=done" {
		t.Fatalf("scoped run: refused %q, %s", res.Refused, statuses(res))
	}
	e.opts.Scope = ""
	rb := e.rollback(res.RunID)
	if rb.Refused != "" || rb.Failed() || mw.restores["a-key1"] != 1 {
		t.Errorf("rollback of the scoped run: refused %q, %s, member restores %v", rb.Refused, statuses(rb), mw.restores)
	}
	// Credentials of another account still cannot roll it back.
	e.opts.Account = "999988887777"
	if rb := e.rollback(res.RunID); !strings.Contains(rb.Refused, "credentials act in 999988887777") {
		t.Errorf("rollback from another account: refused %q", rb.Refused)
	}
}
