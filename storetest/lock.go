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
