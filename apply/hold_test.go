package apply_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
)

// Rollback holds every item it undid, for HoldDays, naming both runs and
// who rolled back.
func TestRollbackHolds(t *testing.T) {
	e := newEnv(t)
	e.opts.HoldDays = 30
	run := e.apply(basePlan()).RunID
	rb := e.rollback(run, "a-key1", "a-deny")
	holds, err := e.store.Holds(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	if len(holds) != 2 {
		t.Fatalf("holds %+v, want one per item undone", holds)
	}
	byTarget := map[string]iamprune.Hold{}
	for _, h := range holds {
		byTarget[h.Target] = h
	}
	key, deny := byTarget["AKIAALICE1"], byTarget["app"]
	alice := "arn:aws:iam::111122223333:user/alice"
	if key.ID != iamprune.HoldID(account, alice, iamprune.UnusedIAMUserAccessKey, "AKIAALICE1") || key.Principal != alice ||
		key.Kind != iamprune.KindDeactivateAccessKey || key.RunID != run || key.RollbackRunID != rb.RunID ||
		key.By != e.opts.Protection.Caller || !key.At.Equal(now) || !key.Until.Equal(now.AddDate(0, 0, 30)) || key.ReleasedAt != nil {
		t.Errorf("key hold %+v", key)
	}
	if !slices.Equal(deny.Services, []string{"ec2", "s3", "sqs"}) || deny.FindingType != iamprune.UnusedPermission {
		t.Errorf("deny hold %+v, want the services rolled back", deny)
	}
	if !slices.Contains(e.events(), "hold-set") {
		t.Errorf("audit %v lacks hold-set", e.events())
	}

	// Applying the same saved plan again leaves the held items alone and
	// makes the others (already done).
	e.opts.Saved = true
	res := e.apply(basePlan())
	for _, id := range []string{"a-key1", "a-deny"} {
		r := result(res, id)
		if r.Status != iamprune.ResultSkipped || !strings.Contains(r.Detail, "held until 2026-12-28 after rollback "+rb.RunID+" of run "+run) {
			t.Errorf("%s: %s %q, want skipped as held", id, r.Status, r.Detail)
		}
	}
	if e.w.applies["a-key1"] != 1 || e.w.applies["a-deny"] != 1 {
		t.Errorf("a held item was changed again: %v", e.w.applies)
	}

	// Once the hold ends, the item is remediated again.
	later := now.AddDate(0, 0, 31)
	e.opts.Now = func() time.Time { return later }
	e.opts.Saved = false
	res = e.apply(basePlan())
	if r := result(res, "a-key1"); r.Status != iamprune.ResultDone {
		t.Errorf("after the hold: %s %q", r.Status, r.Detail)
	}
}

// HoldDays 0 sets no hold; a failed undo sets none either.
func TestRollbackWithoutHold(t *testing.T) {
	e := newEnv(t)
	run := e.apply(basePlan()).RunID
	e.rollback(run)
	if hs, _ := e.store.Holds(context.Background(), ""); len(hs) != 0 {
		t.Errorf("holds %+v with HoldDays 0", hs)
	}

	e = newEnv(t)
	e.opts.HoldDays = 10
	run = e.apply(basePlan()).RunID
	e.w.rbErr["a-role"] = errors.New("AccessDenied")
	e.rollback(run)
	hs, _ := e.store.Holds(context.Background(), "")
	for _, h := range hs {
		if h.Target == "app" && h.Kind == iamprune.KindQuarantineRole {
			t.Errorf("a failed rollback set hold %+v", h)
		}
	}
	if len(hs) != 4 {
		t.Errorf("%d holds, want 4 (every item undone but the failed one)", len(hs))
	}
}

// A hold on some services of a permission finding takes only those out
// of a deny; the rest is applied.
func TestHoldNarrowsDeny(t *testing.T) {
	e := newEnv(t)
	app := "arn:aws:iam::111122223333:role/app"
	h := iamprune.Hold{ID: iamprune.HoldID(account, app, iamprune.UnusedPermission, "app"), Account: account, Principal: app,
		FindingType: iamprune.UnusedPermission, Kind: iamprune.KindDenyUnusedServices, Target: "app", Services: []string{"s3"},
		RunID: "R1", RollbackRunID: "R2", By: "ops", At: now, Until: now.AddDate(0, 0, 5)}
	if err := e.store.PutHold(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	res := e.apply(basePlan())
	r := result(res, "a-deny")
	if r.Status != iamprune.ResultDone || !strings.Contains(r.Detail, "not s3: held until") {
		t.Errorf("deny: %s %q, want done without s3", r.Status, r.Detail)
	}
	for _, a := range e.w.seen {
		if a.ID == "a-deny" && slices.Contains(a.Services, "s3") {
			t.Errorf("the executor was given the held service: %+v", a.Services)
		}
	}
	// A released hold no longer applies.
	if err := e.store.ReleaseHold(context.Background(), h.ID, "ops", now); err != nil {
		t.Fatal(err)
	}
	held, _ := e.store.Hold(context.Background(), h.ID)
	if held.Active(now) {
		t.Errorf("released hold still active: %+v", held)
	}
}

// A rollback killed part-way sets no hold for what it undid; the rollback
// that finishes it reports those items already-done, and must hold them
// too, else the next plan remediates what the operator rolled back.
func TestRollbackHoldsAfterInterruptedRollback(t *testing.T) {
	for _, point := range apply.HookPoints {
		t.Run(point, func(t *testing.T) {
			e := newEnv(t)
			e.opts.HoldDays = 30
			run := e.apply(basePlan()).RunID
			// Killed on the oldest change, which rollback undoes last: the
			// others are undone by then.
			e.opts.Hook = crashAt(point, "a-key1")
			if _, err := apply.Rollback(context.Background(), run, nil, e.opts); !errors.Is(err, errKilled) {
				t.Fatalf("first rollback: %v, want killed", err)
			}
			e.opts.Hook = nil
			e.rollback(run)
			hs, err := e.store.Holds(context.Background(), account)
			if err != nil {
				t.Fatal(err)
			}
			var targets []string
			for _, h := range hs {
				targets = append(targets, h.Target)
			}
			slices.Sort(targets)
			if want := []string{"AKIAALICE1", "AKIAALICE2", "app", "app", "bob"}; !slices.Equal(targets, want) {
				t.Errorf("held %v, want every item rolled back %v", targets, want)
			}
		})
	}
}
