package apply_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
)

// Account guards refuse before anything is read, locked or recorded.
func TestAccountGuards(t *testing.T) {
	tests := []struct {
		name string
		edit func(*iamprune.Plan, *apply.Options)
		want string
	}{
		{"plan for another account", func(p *iamprune.Plan, o *apply.Options) { p.Account = "444455556666" },
			"plan is for account 444455556666, credentials act in 111122223333"},
		{"action for another account", func(p *iamprune.Plan, o *apply.Options) { p.Account = ""; p.Actions[3].Account = "444455556666" },
			"plan is for account 444455556666 (action a-pw), credentials act in 111122223333; set accounts.role_name to act in member accounts"},
		{"not in allowlist", func(p *iamprune.Plan, o *apply.Options) { o.Accounts = []string{"444455556666"} },
			"account 111122223333 is not in the config's accounts allowlist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			p := basePlan()
			tt.edit(p, &e.opts)
			res := e.apply(p)
			if res.Refused != tt.want {
				t.Errorf("refused %q, want %q", res.Refused, tt.want)
			}
			if !res.Failed() || len(res.Results) != 0 {
				t.Errorf("result %+v", res)
			}
			if len(e.w.calls) > 0 || len(e.findingReads) > 0 || len(e.runs()) > 0 {
				t.Errorf("refused apply still acted: calls %v, reads %v, runs %v", e.w.calls, e.findingReads, e.runs())
			}
			if ev := e.events(); len(ev) != 1 || ev[0] != "run-refused" {
				t.Errorf("audit %v, want one run-refused", ev)
			}
		})
	}
}

func TestAllowlistAllows(t *testing.T) {
	e := newEnv(t)
	e.opts.Accounts = []string{"444455556666", account}
	if res := e.apply(basePlan()); res.Refused != "" || res.Failed() {
		t.Errorf("allowed account refused: %+v", res)
	}
}

func TestBlastRadius(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		done    []string // actions whose change is already in place
		refused string
		results string
	}{
		{"over the limit", 4, nil,
			"5 changes exceed limits.max_actions_per_run 4; review the plan or pass --max-actions 5", ""},
		{"no changes allowed", 0, nil,
			"5 changes exceed limits.max_actions_per_run 0; review the plan or pass --max-actions 5", ""},
		{"only real changes count", 2, []string{"a-key1", "a-key2", "a-role", "a-deny"}, "",
			"a-key1=already-done a-key2=already-done a-pw=done a-role=already-done a-deny=already-done"},
		{"nothing to change with no changes allowed", 0, remediationIDs, "",
			all(iamprune.ResultAlreadyDone, remediationIDs...)},
		{"at the limit", 5, nil, "", all(iamprune.ResultDone, remediationIDs...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.opts.MaxActions = tt.max
			for _, id := range tt.done {
				e.w.set(id, true)
			}
			res := e.apply(basePlan())
			if res.Refused != tt.refused {
				t.Errorf("refused %q, want %q", res.Refused, tt.refused)
			}
			if got := statuses(res); got != tt.results {
				t.Errorf("results %q, want %q", got, tt.results)
			}
			if tt.refused == "" {
				return
			}
			if n := e.w.count("apply ") + e.w.count("rollback "); n != 0 {
				t.Errorf("%d write calls despite refusal", n)
			}
			if recs := e.journal(); len(recs) != 0 {
				t.Errorf("refused run journaled %d actions", len(recs))
			}
			if r := e.run(res.RunID); r.Status != iamprune.RunRefused || r.Detail != tt.refused {
				t.Errorf("run %+v, want refused with the reason", r)
			}
			if ev := e.events(); len(ev) != 2 || ev[1] != "run-refused" {
				t.Errorf("audit %v", ev)
			}
		})
	}
}

func TestLockHeld(t *testing.T) {
	e := newEnv(t)
	if _, err := e.store.Lock(context.Background(), account, iamprune.LockOwner{Host: "ci-runner-7 pid 4242"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	_, err := apply.Apply(context.Background(), basePlan(), e.opts)
	if iamprune.ErrorCode(err) != iamprune.ECONFLICT || !strings.Contains(err.Error(), "ci-runner-7 pid 4242") {
		t.Fatalf("err = %v, want ECONFLICT naming the holder", err)
	}
	if len(e.w.calls) > 0 || len(e.runs()) > 0 {
		t.Errorf("locked-out apply acted: %v", e.w.calls)
	}
	if _, err := apply.Rollback(context.Background(), "any", nil, e.opts); err == nil {
		t.Error("rollback of an unknown run succeeded")
	}
}

// A lock whose holder died is taken over once its ttl has passed.
func TestLockTakeover(t *testing.T) {
	e := newEnv(t)
	clock := now
	e.store.Now = func() time.Time { return clock }
	if _, err := e.store.Lock(context.Background(), account, iamprune.LockOwner{Host: "dead pid 1"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Minute)
	if res := e.apply(basePlan()); res.Failed() {
		t.Errorf("apply after a stale lock: %+v", res)
	}
}

// Two applies at once: one holds the lock while it acts, the other is
// turned away, and every change is made exactly once.
func TestConcurrentApplies(t *testing.T) {
	e := newEnv(t)
	e.w.block, e.w.entered = make(chan struct{}), make(chan struct{}, 16)
	var (
		wg      sync.WaitGroup
		first   *iamprune.RunResult
		errBoth [2]error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		first, errBoth[0] = apply.Apply(context.Background(), basePlan(), e.opts)
	}()
	<-e.w.entered // the first run is inside its first change, holding the lock
	_, errBoth[1] = apply.Apply(context.Background(), basePlan(), e.opts)
	close(e.w.block)
	wg.Wait()
	if errBoth[0] != nil || first.Failed() {
		t.Fatalf("first apply: %v %+v", errBoth[0], first)
	}
	if iamprune.ErrorCode(errBoth[1]) != iamprune.ECONFLICT || !strings.Contains(errBoth[1].Error(), "pid 1 on test host") {
		t.Errorf("second apply: %v, want ECONFLICT naming the first", errBoth[1])
	}
	for _, id := range remediationIDs {
		if n := e.w.applies[id]; n != 1 {
			t.Errorf("%s changed %d times, want once", id, n)
		}
	}
	if len(e.runs()) != 1 {
		t.Errorf("%d runs recorded, want 1", len(e.runs()))
	}
}
