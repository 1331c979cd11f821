package apply_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
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
