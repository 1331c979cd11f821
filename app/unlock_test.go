package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// Unlock shows the holder to the consent hook, and breaks the lock only
// once consent is given; the break is audited.
func TestUnlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := openStore(t)
	e := Env{Now: func() time.Time { return testNow }}
	if info, err := Unlock(ctx, e, UnlockRequest{Store: store, Account: "111122223333"}); info != nil || err != nil {
		t.Fatalf("unlocked account: %v, %v; want nothing to do", info, err)
	}
	owner := iamprune.LockOwner{Host: "elsewhere", PID: 42, User: "ci", RunID: "run-1", StartedAt: testNow}
	if _, err := store.Lock(ctx, "111122223333", owner, time.Hour); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("no")
	var shown *iamprune.LockInfo
	var audit strings.Builder
	_, err := Unlock(ctx, e, UnlockRequest{Store: store, Account: "111122223333", Audit: &audit, By: "me",
		Consent: func(i *iamprune.LockInfo) error { shown = i; return refused }})
	if !errors.Is(err, refused) || shown == nil || shown.Owner.RunID != "run-1" {
		t.Fatalf("refused unlock: err %v, shown %+v", err, shown)
	}
	if h, _ := store.LockHolder(ctx, "111122223333"); h == nil {
		t.Fatal("a refused unlock broke the lock")
	}
	info, err := Unlock(ctx, e, UnlockRequest{Store: store, Account: "111122223333", Audit: &audit, By: "me",
		Consent: func(*iamprune.LockInfo) error { return nil }})
	if err != nil || info == nil || info.Owner.RunID != "run-1" {
		t.Fatalf("unlock: %+v, %v", info, err)
	}
	if h, _ := store.LockHolder(ctx, "111122223333"); h != nil {
		t.Errorf("lock still held by %+v", h)
	}
	if !strings.Contains(audit.String(), "lock broken by me") {
		t.Errorf("audit log lacks the break:\n%s", audit.String())
	}
}
