package dynamodb

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/storetest"
)

// Two Stores on one table stand for two processes: only DynamoDB's
// conditional writes keep them apart.
func TestLockTwoStores(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	table := newTable(t, cfg)
	a, b := openTable(t, cfg, table), openTable(t, cfg, table)
	for range 5 {
		storetest.RaceLock(t, 16, a, b)
	}
	ctx := context.Background()
	la, err := a.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "first store"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "second store"}, time.Hour)
	if iamprune.ErrorCode(err) != iamprune.ECONFLICT || !strings.Contains(err.Error(), "pid 0 on first store") {
		t.Errorf("second store: %v, want ECONFLICT naming the first", err)
	}
	// Another account is free meanwhile.
	other, err := b.Lock(ctx, "444455556666", iamprune.LockOwner{Host: "second store"}, time.Hour)
	if err != nil {
		t.Fatalf("another account: %v", err)
	}
	if err := other.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	lb, err := b.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "second store"}, time.Hour)
	if err != nil {
		t.Fatalf("second store after release: %v", err)
	}
	// The first store's old handle, released again, cannot free it.
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "first store again"}, time.Hour); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("first store while the second holds it: %v, want ECONFLICT", err)
	}
	if err := lb.Release(ctx); err != nil {
		t.Fatal(err)
	}
}
