package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// own is an owner known by name alone, for tests about who holds a lock,
// not what the holder records.
func own(name string) iamprune.LockOwner { return iamprune.LockOwner{Host: name} }

func mustLock(t *testing.T, s iamprune.Store, account, owner string, ttl time.Duration) iamprune.Lock {
	t.Helper()
	l, err := s.Lock(context.Background(), account, own(owner), ttl)
	if err != nil {
		t.Fatalf("Lock(%s, %s): %v", account, owner, err)
	}
	if l == nil {
		t.Fatalf("Lock(%s, %s) returned a nil lock", account, owner)
	}
	return l
}

func mustRelease(t *testing.T, l iamprune.Lock) {
	t.Helper()
	if err := l.Release(context.Background()); err != nil {
		t.Fatalf("Release: %v", err)
	}
}

// wantHeld fails unless Lock is refused with ECONFLICT naming holder.
func wantHeld(t *testing.T, s iamprune.Store, account, owner, holder string) {
	t.Helper()
	l, err := s.Lock(context.Background(), account, own(owner), time.Hour)
	if l != nil {
		t.Errorf("Lock(%s, %s) succeeded while %s holds it", account, owner, holder)
		_ = l.Release(context.Background())
	}
	wantCode(t, fmt.Sprintf("Lock(%s, %s) while held", account, owner), err, iamprune.ECONFLICT)
	if !strings.Contains(err.Error(), holder) {
		t.Errorf("Lock(%s, %s) error %q does not name the holder %q", account, owner, err, holder)
	}
}

func testLockHeld(t *testing.T, s iamprune.Store) {
	first := mustLock(t, s, "111122223333", "alice@laptop pid 101", time.Hour)
	wantHeld(t, s, "111122223333", "bob@ci pid 202", "alice@laptop pid 101")
	// The same owner string is no key: a second run of the same user waits too.
	wantHeld(t, s, "111122223333", "alice@laptop pid 101", "alice@laptop pid 101")

	mustRelease(t, first)
	second := mustLock(t, s, "111122223333", "bob@ci pid 202", time.Hour)
	// Releasing again is harmless, and does not free the new holder's lock.
	mustRelease(t, first)
	wantHeld(t, s, "111122223333", "carol", "bob@ci pid 202")
	mustRelease(t, second)
	mustRelease(t, second)
	mustRelease(t, mustLock(t, s, "111122223333", "carol", time.Hour))
}

func testLockStale(t *testing.T, s iamprune.Store) {
	const ttl = 300 * time.Millisecond
	dead := mustLock(t, s, "111122223333", "crashed run", ttl)
	wantHeld(t, s, "111122223333", "early", "crashed run")
	time.Sleep(ttl + 200*time.Millisecond)

	taker := mustLock(t, s, "111122223333", "new run", time.Hour)
	// The dead holder coming back to release must not free the new lock.
	mustRelease(t, dead)
	wantHeld(t, s, "111122223333", "third", "new run")
	mustRelease(t, taker)
}

func testLockAccounts(t *testing.T, s iamprune.Store) {
	a := mustLock(t, s, "111122223333", "run-a", time.Hour)
	b := mustLock(t, s, "444455556666", "run-b", time.Hour)
	wantHeld(t, s, "111122223333", "x", "run-a")
	wantHeld(t, s, "444455556666", "x", "run-b")
	mustRelease(t, a)
	// Releasing one account leaves the other held.
	wantHeld(t, s, "444455556666", "x", "run-b")
	mustRelease(t, b)
}

func testLockInvalid(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, account, owner string
		ttl                  time.Duration
	}{
		{"no account", "", "run", time.Hour},
		{"no owner", "111122223333", "", time.Hour},
		{"zero ttl", "111122223333", "run", 0},
		{"negative ttl", "111122223333", "run", -time.Second},
	} {
		l, err := s.Lock(ctx, tc.account, own(tc.owner), tc.ttl)
		if l != nil {
			t.Errorf("%s: got a lock", tc.name)
		}
		wantCode(t, tc.name, err, iamprune.EINVALID)
	}
	mustRelease(t, mustLock(t, s, "111122223333", "run", time.Hour))
}

// RaceLock has n callers race for one account's lock through the stores
// in turn (one store, or several on the same backend) and fails unless
// exactly one wins and every other caller gets ECONFLICT.
func RaceLock(t *testing.T, n int, stores ...iamprune.Store) {
	t.Helper()
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		winners []iamprune.Lock
		errs    []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			l, err := stores[i%len(stores)].Lock(context.Background(), "111122223333", iamprune.LockOwner{Host: "racer", PID: i + 1}, time.Hour)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else {
				winners = append(winners, l)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(winners) != 1 {
		t.Errorf("%d of %d racers took the lock, want exactly 1", len(winners), n)
	}
	for _, err := range errs {
		if iamprune.ErrorCode(err) != iamprune.ECONFLICT {
			t.Errorf("a losing racer got %v, want ECONFLICT", err)
		}
	}
	for _, l := range winners {
		mustRelease(t, l)
	}
}

func testLockRace(t *testing.T, s iamprune.Store) {
	for range 3 {
		RaceLock(t, 16, s)
	}
}

func mustLockHolder(t *testing.T, s iamprune.Store, account string) *iamprune.LockInfo {
	t.Helper()
	info, err := s.LockHolder(context.Background(), account)
	if err != nil {
		t.Fatalf("LockHolder(%s): %v", account, err)
	}
	return info
}

// LockHolder returns what Lock recorded about its holder, expired or not,
// and nil when there is no lock.
func testLockHolder(t *testing.T, s iamprune.Store) {
	if info := mustLockHolder(t, s, "111122223333"); info != nil {
		t.Fatalf("LockHolder with no lock = %+v, want nil", info)
	}
	owner := iamprune.LockOwner{Host: "ci-runner-7", PID: 4242, User: "alice", RunID: "run-20261128-a1", StartedAt: at(0)}
	const ttl = 300 * time.Millisecond
	before := time.Now()
	l, err := s.Lock(context.Background(), "111122223333", owner, ttl)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	info := mustLockHolder(t, s, "111122223333")
	if info == nil {
		t.Fatal("LockHolder of a held lock = nil")
	}
	got := info.Owner
	if info.Account != "111122223333" || got.Host != owner.Host || got.PID != owner.PID || got.User != owner.User || got.RunID != owner.RunID {
		t.Errorf("LockHolder = %+v, want account 111122223333 and owner %+v", info, owner)
	}
	checkTime(t, "owner started_at", got.StartedAt, owner.StartedAt)
	if info.Token == "" {
		t.Error("LockHolder has no token")
	}
	if info.AcquiredAt.Before(before.Add(-time.Second)) || info.AcquiredAt.After(after.Add(time.Second)) {
		t.Errorf("acquired at %s, want between %s and %s", info.AcquiredAt, before, after)
	}
	if d := info.ExpiresAt.Sub(info.AcquiredAt); d != ttl {
		t.Errorf("expires %s after it was acquired, want the ttl %s", d, ttl)
	}
	// The conflict names the holder as LockOwner.String says.
	wantHeld(t, s, "111122223333", "other", owner.String())

	// Expired but not taken: still there, for a person or a takeover to see.
	time.Sleep(ttl + 200*time.Millisecond)
	if again := mustLockHolder(t, s, "111122223333"); again == nil || again.Token != info.Token {
		t.Errorf("LockHolder of an expired lock = %+v, want the same holding", again)
	}
	mustRelease(t, l)
	if info := mustLockHolder(t, s, "111122223333"); info != nil {
		t.Errorf("LockHolder after Release = %+v, want nil", info)
	}
	if info := mustLockHolder(t, s, "444455556666"); info != nil {
		t.Errorf("LockHolder of another account = %+v, want nil", info)
	}
}

// BreakLock removes a lock only while it is the holding that was read.
func testBreakLock(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	if ok, err := s.BreakLock(ctx, "111122223333", "no-such-token"); err != nil || ok {
		t.Errorf("BreakLock with no lock = %v, %v; want false", ok, err)
	}
	held := mustLock(t, s, "111122223333", "crashed run", time.Hour)
	info := mustLockHolder(t, s, "111122223333")
	if ok, err := s.BreakLock(ctx, "111122223333", info.Token+"x"); err != nil || ok {
		t.Errorf("BreakLock with the wrong token = %v, %v; want false", ok, err)
	}
	wantHeld(t, s, "111122223333", "x", "crashed run")
	if ok, err := s.BreakLock(ctx, "111122223333", info.Token); err != nil || !ok {
		t.Fatalf("BreakLock with the right token = %v, %v; want true", ok, err)
	}
	if info := mustLockHolder(t, s, "111122223333"); info != nil {
		t.Errorf("LockHolder after BreakLock = %+v, want nil", info)
	}
	next := mustLock(t, s, "111122223333", "next run", time.Hour)
	// The token of the broken holding does not break the next one, and the
	// broken holder's Release leaves it alone.
	if ok, err := s.BreakLock(ctx, "111122223333", info.Token); err != nil || ok {
		t.Errorf("BreakLock with a stale token = %v, %v; want false", ok, err)
	}
	mustRelease(t, held)
	wantHeld(t, s, "111122223333", "x", "next run")
	mustRelease(t, next)
}

// Renew extends a held lease; once the lock was taken over or broken it is
// ECONFLICT and changes nothing.
func testLockRenew(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	const ttl = 300 * time.Millisecond
	l := mustLock(t, s, "111122223333", "long run", ttl)
	first := mustLockHolder(t, s, "111122223333")
	if err := l.Renew(ctx, time.Hour); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	renewed := mustLockHolder(t, s, "111122223333")
	if renewed.Token != first.Token || renewed.ExpiresAt.Before(first.ExpiresAt.Add(50*time.Minute)) {
		t.Errorf("after Renew(1h): expires %s (token kept: %v), want about an hour from now", renewed.ExpiresAt, renewed.Token == first.Token)
	}
	time.Sleep(ttl + 200*time.Millisecond)
	// Renewed, so past its first ttl it is still held.
	wantHeld(t, s, "111122223333", "x", "long run")

	// Taken over after it expired: the old holding cannot renew.
	if err := l.Renew(ctx, ttl); err != nil {
		t.Fatalf("Renew(ttl): %v", err)
	}
	time.Sleep(ttl + 200*time.Millisecond)
	taker := mustLock(t, s, "111122223333", "taker", time.Hour)
	wantCode(t, "Renew after a takeover", l.Renew(ctx, time.Hour), iamprune.ECONFLICT)
	wantHeld(t, s, "111122223333", "x", "taker")
	if info := mustLockHolder(t, s, "111122223333"); info.Owner.Host != "taker" || info.ExpiresAt.Sub(info.AcquiredAt) != time.Hour {
		t.Errorf("a refused Renew changed the taker's lock: %+v", info)
	}

	// Broken: the holding cannot renew, and the lock stays gone.
	if ok, err := s.BreakLock(ctx, "111122223333", mustLockHolder(t, s, "111122223333").Token); err != nil || !ok {
		t.Fatalf("BreakLock = %v, %v", ok, err)
	}
	wantCode(t, "Renew after a break", taker.Renew(ctx, time.Hour), iamprune.ECONFLICT)
	if info := mustLockHolder(t, s, "111122223333"); info != nil {
		t.Errorf("Renew after a break brought the lock back: %+v", info)
	}
}
