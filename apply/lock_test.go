package apply_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
)

// deadPID returns the pid of a process of this host that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func thisHost(t *testing.T) string {
	t.Helper()
	h, err := apply.LocalHost()
	if err != nil || h == "" {
		t.Fatalf("hostname: %q, %v", h, err)
	}
	return h
}

// A run killed on this host leaves its lock: the next apply sees that the
// holder's pid is dead, breaks the lock at once with a warning, reconciles
// the dead run and applies, without waiting for the lease.
func TestStaleLockOfDeadProcessTakenOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.opts.Hook = crashAt(apply.HookAfterApply, "a-pw")
	if _, err := apply.Apply(context.Background(), basePlan(), e.opts); !errors.Is(err, errKilled) {
		t.Fatalf("first apply: %v, want killed", err)
	}
	dead := e.runs()[0]
	// What kill -9 leaves: the lock, held for an hour by a process that is gone.
	if _, err := e.store.Lock(context.Background(), account, iamprune.LockOwner{Host: thisHost(t), PID: deadPID(t), RunID: dead.ID}, time.Hour); err != nil {
		t.Fatal(err)
	}
	e.opts.Hook = nil
	res := e.apply(basePlan())
	if res.Failed() {
		t.Fatalf("apply after the crash: %+v", res)
	}
	if r := e.run(dead.ID); r.Status != iamprune.RunInterrupted {
		t.Errorf("dead run is %s, want interrupted", r.Status)
	}
	for _, id := range remediationIDs {
		if n := e.w.applies[id]; n != 1 {
			t.Errorf("%s changed %d times, want once", id, n)
		}
	}
	ev := e.events()
	if !slices.Contains(ev, "lock-broken") || !slices.Contains(ev, "action-reconciled") {
		t.Errorf("audit %v, want lock-broken and action-reconciled", ev)
	}
	if !strings.Contains(string(e.log.Bytes()), "no longer runs on this host") {
		t.Errorf("the warning does not say why the lock was stale:\n%s", e.log.Bytes())
	}
	// The run released its lock.
	if info, err := e.store.LockHolder(context.Background(), account); err != nil || info != nil {
		t.Errorf("lock after the run: %+v, %v", info, err)
	}
}

// A lock whose holder may live is kept: a live pid on this host, or any
// process of another host, whose lease decides. The message names the
// holder, since when, when the lease ends, and how to break it.
func TestLockOfLiveOrRemoteHolderKept(t *testing.T) {
	t.Parallel()
	for name, owner := range map[string]iamprune.LockOwner{
		"live pid on this host": {Host: thisHost(t), PID: os.Getppid(), User: "ops", RunID: "R-live"},
		"another host":          {Host: "build-7", PID: deadPID(t), User: "ops", RunID: "R-live"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.store.Lock(context.Background(), account, owner, time.Hour); err != nil {
				t.Fatal(err)
			}
			_, err := apply.Apply(context.Background(), basePlan(), e.opts)
			if iamprune.ErrorCode(err) != iamprune.ECONFLICT {
				t.Fatalf("err = %v, want ECONFLICT", err)
			}
			for _, want := range []string{"run R-live", owner.Host, "since ", "lease ends at ", "iamprune unlock " + account} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
			if len(e.w.calls) > 0 || len(e.runs()) > 0 {
				t.Errorf("locked-out apply acted: %v", e.w.calls)
			}
			if _, err := apply.Rollback(context.Background(), "any", nil, e.opts); err == nil {
				t.Error("rollback of an unknown run succeeded")
			}
		})
	}
}

// A run renews its short lease while it lives, and releases it at the end.
func TestHeartbeatKeepsTheLease(t *testing.T) {
	e := newEnv(t)
	e.opts.LockTTL = 150 * time.Millisecond
	e.w.block, e.w.entered = make(chan struct{}), make(chan struct{}, 16)
	done := make(chan *iamprune.RunResult)
	go func() {
		res, err := apply.Apply(context.Background(), basePlan(), e.opts)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-e.w.entered
	first, err := e.store.LockHolder(context.Background(), account)
	if err != nil || first == nil {
		t.Fatalf("lock during the run: %+v, %v", first, err)
	}
	time.Sleep(4 * e.opts.LockTTL) // well past the first lease
	info, err := e.store.LockHolder(context.Background(), account)
	if err != nil || info == nil || !info.ExpiresAt.After(first.ExpiresAt) || !time.Now().Before(info.ExpiresAt) {
		t.Errorf("lease not renewed: first %+v, now %+v (%v)", first, info, err)
	}
	// Another run cannot take it meanwhile.
	other := e.opts
	other.Owner = iamprune.LockOwner{Host: "elsewhere", PID: 2}
	if _, err := apply.Apply(context.Background(), basePlan(), other); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("second run: %v, want ECONFLICT", err)
	}
	close(e.w.block)
	if res := <-done; res == nil || res.Failed() {
		t.Fatalf("run: %+v", res)
	}
	if info, err := e.store.LockHolder(context.Background(), account); err != nil || info != nil {
		t.Errorf("lock after the run: %+v, %v", info, err)
	}
}

// A run whose lock is broken meanwhile (iamprune unlock, or a takeover
// after its lease ran out) stops before its next change and is closed
// failed, saying why.
func TestLockLostStopsTheRun(t *testing.T) {
	e := newEnv(t)
	e.opts.LockTTL = 90 * time.Millisecond
	e.w.block, e.w.entered = make(chan struct{}), make(chan struct{}, 16)
	errc := make(chan error)
	go func() {
		_, err := apply.Apply(context.Background(), basePlan(), e.opts)
		errc <- err
	}()
	<-e.w.entered // inside the first change
	info, err := e.store.LockHolder(context.Background(), account)
	if err != nil || info == nil {
		t.Fatalf("lock: %+v, %v", info, err)
	}
	if ok, err := e.store.BreakLock(context.Background(), account, info.Token); !ok || err != nil {
		t.Fatalf("break: %v, %v", ok, err)
	}
	time.Sleep(3 * e.opts.LockTTL) // the heartbeat finds it lost
	close(e.w.block)
	err = <-errc
	if err == nil || !strings.Contains(err.Error(), "lost the lock of account "+account) {
		t.Fatalf("err = %v, want the lock lost", err)
	}
	changed := 0
	for _, id := range remediationIDs {
		changed += e.w.applies[id]
	}
	if changed > 1 {
		t.Errorf("%d changes made, want at most the one in flight when the lock was lost", changed)
	}
	if r := e.runs()[0]; r.Status != iamprune.RunFailed || !strings.Contains(r.Detail, "lost the lock") {
		t.Errorf("run %+v, want failed for the lost lock", r)
	}
	if !slices.Contains(e.events(), "lock-lost") {
		t.Errorf("audit %v lacks lock-lost", e.events())
	}
}

// Interrupted tells a dead run recorded as running from a live one.
func TestInterrupted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	r := iamprune.Run{ID: "R1", Kind: iamprune.RunApply, Account: account, Status: iamprune.RunRunning, StartedAt: now}
	if err := e.store.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	check := func(want string) {
		t.Helper()
		why, err := apply.Interrupted(ctx, e.store, r)
		if err != nil || !strings.Contains(why, want) || (want == "") != (why == "") {
			t.Errorf("Interrupted = %q, %v; want %q", why, err, want)
		}
	}
	check("not locked")
	lock, err := e.store.Lock(ctx, account, iamprune.LockOwner{Host: thisHost(t), PID: os.Getpid(), RunID: "R1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	check("") // alive: this very process holds it
	lock.Release(ctx)
	if _, err := e.store.Lock(ctx, account, iamprune.LockOwner{Host: thisHost(t), PID: deadPID(t), RunID: "R1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	check("no longer runs on this host")
	info, _ := e.store.LockHolder(ctx, account)
	e.store.BreakLock(ctx, account, info.Token)
	if _, err := e.store.Lock(ctx, account, iamprune.LockOwner{Host: "elsewhere", PID: 9, RunID: "R2"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	check("run R2 holds")
}
