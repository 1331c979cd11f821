package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func newHold(id, account string, when time.Time) iamprune.Hold {
	return iamprune.Hold{
		ID: id, Account: account, Principal: "arn:aws:iam::" + account + ":role/app",
		FindingType: iamprune.UnusedPermission, Kind: iamprune.KindDenyUnusedServices,
		Target: "arn:aws:iam::" + account + ":role/app", Services: []string{"s3", "ec2"},
		RunID: "apply-1", RollbackRunID: "rollback-1", By: "arn:aws:sts::" + account + ":assumed-role/Ops/alice",
		At: when, Until: when.Add(30 * 24 * time.Hour),
	}
}

func mustPutHold(t *testing.T, s iamprune.Store, h iamprune.Hold) {
	t.Helper()
	if err := s.PutHold(context.Background(), h); err != nil {
		t.Fatalf("PutHold %s: %v", h.ID, err)
	}
}

func mustHold(t *testing.T, s iamprune.Store, id string) iamprune.Hold {
	t.Helper()
	h, err := s.Hold(context.Background(), id)
	if err != nil {
		t.Fatalf("Hold %s: %v", id, err)
	}
	if h == nil {
		t.Fatalf("Hold %s: nil without an error", id)
	}
	return *h
}

func mustHolds(t *testing.T, s iamprune.Store, account string) []iamprune.Hold {
	t.Helper()
	hs, err := s.Holds(context.Background(), account)
	if err != nil {
		t.Fatalf("Holds %q: %v", account, err)
	}
	return hs
}

func holdIDs(hs []iamprune.Hold) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

func checkHold(t *testing.T, got, want iamprune.Hold) {
	t.Helper()
	if got.ID != want.ID || got.Account != want.Account || got.Principal != want.Principal ||
		got.FindingType != want.FindingType || got.Kind != want.Kind || got.Target != want.Target ||
		got.RunID != want.RunID || got.RollbackRunID != want.RollbackRunID || got.By != want.By ||
		got.ReleasedBy != want.ReleasedBy {
		t.Errorf("hold %s:\n got %+v\nwant %+v", want.ID, got, want)
	}
	if got.Services == nil {
		t.Errorf("hold %s: Services is nil, want a non-nil slice", want.ID)
	}
	if !slices.Equal(got.Services, want.Services) && !(len(got.Services) == 0 && len(want.Services) == 0) {
		t.Errorf("hold %s: services %q, want %q", want.ID, got.Services, want.Services)
	}
	checkTime(t, want.ID+" at", got.At, want.At)
	checkTime(t, want.ID+" until", got.Until, want.Until)
	checkTimePtr(t, want.ID+" released_at", got.ReleasedAt, want.ReleasedAt)
}

// A hold comes back as it was put; putting one with the same ID replaces
// it, as a second rollback of the same item does.
func testHoldRoundTrip(t *testing.T, s iamprune.Store) {
	full := newHold("hold-full", "111122223333", at(0))
	full.Principal = "arn:aws:iam::111122223333:user/ünïcödé 'quoted'"
	mustPutHold(t, s, full)
	checkHold(t, mustHold(t, s, "hold-full"), full)

	bare := iamprune.Hold{ID: "hold-bare", Account: "111122223333", At: at(time.Minute), Until: at(time.Hour)}
	mustPutHold(t, s, bare)
	bare.Services = []string{}
	checkHold(t, mustHold(t, s, "hold-bare"), bare)

	again := newHold("hold-full", "111122223333", at(2*time.Hour))
	again.RunID, again.RollbackRunID, again.Services, again.By = "apply-2", "rollback-2", []string{"kms"}, "bob"
	mustPutHold(t, s, again)
	checkHold(t, mustHold(t, s, "hold-full"), again)
	if got := holdIDs(mustHolds(t, s, "")); !equal(got, []string{"hold-full", "hold-bare"}) {
		t.Errorf("Holds after replacing one = %q, want one hold per id, newest first", got)
	}
	wantCode(t, "PutHold without an id", s.PutHold(context.Background(), iamprune.Hold{Account: "111122223333", At: at(0), Until: at(time.Hour)}), iamprune.EINVALID)
}

// Holds lists newest first by At, for one account or all.
func testHoldsList(t *testing.T, s iamprune.Store) {
	if hs := mustHolds(t, s, ""); len(hs) != 0 {
		t.Errorf("Holds of an empty store = %q", holdIDs(hs))
	}
	// Written out of time order, so that write order is not time order.
	mustPutHold(t, s, newHold("h-mid", "444455556666", at(time.Hour)))
	mustPutHold(t, s, newHold("h-old", "111122223333", at(0)))
	mustPutHold(t, s, newHold("h-new", "111122223333", at(2*time.Hour)))
	for _, tc := range []struct {
		account string
		want    []string
	}{
		{"", []string{"h-new", "h-mid", "h-old"}},
		{"111122223333", []string{"h-new", "h-old"}},
		{"444455556666", []string{"h-mid"}},
		{"999999999999", []string{}},
	} {
		if got := holdIDs(mustHolds(t, s, tc.account)); !equal(got, tc.want) {
			t.Errorf("Holds(%q) = %q, want %q", tc.account, got, tc.want)
		}
	}
	checkHold(t, mustHolds(t, s, "444455556666")[0], newHold("h-mid", "444455556666", at(time.Hour)))
}

// Releasing ends a hold early; releasing it again keeps the first release.
func testHoldRelease(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	h := newHold("h1", "111122223333", at(0))
	mustPutHold(t, s, h)
	mustPutHold(t, s, newHold("h2", "111122223333", at(time.Minute)))
	if err := s.ReleaseHold(ctx, "h1", "carol", at(time.Hour)); err != nil {
		t.Fatalf("ReleaseHold: %v", err)
	}
	h.ReleasedAt, h.ReleasedBy = ptr(at(time.Hour)), "carol"
	checkHold(t, mustHold(t, s, "h1"), h)
	if err := s.ReleaseHold(ctx, "h1", "dave", at(2*time.Hour)); err != nil {
		t.Fatalf("ReleaseHold twice: %v", err)
	}
	checkHold(t, mustHold(t, s, "h1"), h)
	// Released holds are still listed; the other one is untouched.
	hs := mustHolds(t, s, "111122223333")
	if got := holdIDs(hs); !equal(got, []string{"h2", "h1"}) {
		t.Fatalf("Holds after a release = %q", got)
	}
	checkHold(t, hs[1], h)
	checkHold(t, hs[0], newHold("h2", "111122223333", at(time.Minute)))
}

func testHoldUnknown(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	h, err := s.Hold(ctx, "hold-nope")
	if h != nil {
		t.Errorf("Hold of an unknown id = %+v", h)
	}
	wantCode(t, "Hold of an unknown id", err, iamprune.ENOTFOUND)
	wantCode(t, "ReleaseHold of an unknown id", s.ReleaseHold(ctx, "hold-nope", "carol", at(0)), iamprune.ENOTFOUND)
	if hs := mustHolds(t, s, ""); len(hs) != 0 {
		t.Errorf("releasing an unknown hold made one: %q", holdIDs(hs))
	}
}
