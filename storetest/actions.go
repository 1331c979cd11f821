package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func newAction(runID, actionID string, started time.Time) iamprune.ActionRecord {
	return iamprune.ActionRecord{
		RunID: runID, ActionID: actionID, Account: "111122223333",
		Principal: "arn:aws:iam::111122223333:user/alice", Kind: iamprune.KindDeactivateAccessKey,
		Target: "AKIA" + actionID, Services: []string{}, Status: iamprune.ResultPending,
		PreImage: json.RawMessage(`{"Status":"Active"}`), StartedAt: started,
	}
}

func mustBegin(t *testing.T, s iamprune.Store, rec iamprune.ActionRecord) {
	t.Helper()
	if err := s.BeginAction(context.Background(), rec); err != nil {
		t.Fatalf("BeginAction %s/%s: %v", rec.RunID, rec.ActionID, err)
	}
}

func mustActions(t *testing.T, s iamprune.Store, runID string) []iamprune.ActionRecord {
	t.Helper()
	recs, err := s.Actions(context.Background(), runID)
	if err != nil {
		t.Fatalf("Actions %s: %v", runID, err)
	}
	return recs
}

// only returns the single journal entry of a run.
func only(t *testing.T, s iamprune.Store, runID string) iamprune.ActionRecord {
	t.Helper()
	recs := mustActions(t, s, runID)
	if len(recs) != 1 {
		t.Fatalf("Actions %s: %d records, want 1", runID, len(recs))
	}
	return recs[0]
}

func testBeginAction(t *testing.T, s iamprune.Store) {
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	full := iamprune.ActionRecord{
		RunID: "r1", ActionID: "full", Account: "111122223333", FindingID: "f-123",
		Principal: "arn:aws:iam::111122223333:role/app", FindingType: iamprune.UnusedPermission,
		Kind: iamprune.KindDenyUnusedServices, Target: "arn:aws:iam::111122223333:role/app",
		Services: []string{"s3", "ec2", "dynamodb"}, Status: iamprune.ResultPending,
		PreImage:   json.RawMessage(`{"InlinePolicies":{}}`),
		RollbackOf: "r0/a0", StartedAt: at(time.Second),
	}
	mustBegin(t, s, full)
	checkAction(t, only(t, s, "r1"), full)

	// Status defaults to pending; nil services read back as an empty list.
	mustCreateRun(t, s, newRun("r2", "111122223333", at(0)))
	bare := iamprune.ActionRecord{RunID: "r2", ActionID: "bare", Account: "111122223333",
		Kind: iamprune.KindQuarantineRole, StartedAt: at(2 * time.Second)}
	mustBegin(t, s, bare)
	bare.Status, bare.Services = iamprune.ResultPending, []string{}
	checkAction(t, only(t, s, "r2"), bare)
}

func testBeginActionTwice(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	mustCreateRun(t, s, newRun("r2", "111122223333", at(time.Hour)))
	first := newAction("r1", "a1", at(time.Second))
	mustBegin(t, s, first)

	// The same action again in the same run is what exactly-once forbids,
	// whatever its content.
	again := newAction("r1", "a1", at(2*time.Second))
	again.PreImage = json.RawMessage(`{"Status":"Inactive"}`)
	wantCode(t, "second BeginAction r1/a1", s.BeginAction(ctx, again), iamprune.ECONFLICT)
	checkAction(t, only(t, s, "r1"), first)

	// Also once it has an outcome.
	if err := s.FinishAction(ctx, "r1", "a1", iamprune.ResultDone, "", nil, at(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "BeginAction r1/a1 after finish", s.BeginAction(ctx, again), iamprune.ECONFLICT)

	// The same action id in another run is a different journal entry.
	mustBegin(t, s, newAction("r2", "a1", at(time.Hour)))
}

// An intent belongs to a run: one journaled under an unknown run would be
// invisible to history and to the next run's reconciliation.
func testBeginActionUnknownRun(t *testing.T, s iamprune.Store) {
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	wantCode(t, "BeginAction in an unknown run", s.BeginAction(context.Background(), newAction("r9", "a1", at(0))), iamprune.ENOTFOUND)
	if recs := mustActions(t, s, "r9"); len(recs) != 0 {
		t.Errorf("an intent of an unknown run was journaled: %q", keys(recs))
	}
}

func testFinishAction(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	for _, tc := range []struct {
		status, detail string
		post           json.RawMessage
	}{
		{iamprune.ResultDone, "deactivated", json.RawMessage(`{"PolicyNames":["iamprune-deny-1"]}`)},
		{iamprune.ResultAlreadyDone, "already inactive", nil},
		{iamprune.ResultSkipped, "key used since the finding", nil},
		{iamprune.ResultFailed, "AccessDenied: not authorized", nil},
	} {
		rec := newAction("r1", tc.status, at(time.Minute))
		mustBegin(t, s, rec)
		fin := at(2 * time.Minute)
		if err := s.FinishAction(ctx, "r1", tc.status, tc.status, tc.detail, tc.post, fin); err != nil {
			t.Fatalf("FinishAction %s: %v", tc.status, err)
		}
		rec.Status, rec.Detail, rec.PostImage, rec.FinishedAt = tc.status, tc.detail, tc.post, &fin
		recs := mustActions(t, s, "r1")
		checkAction(t, recs[len(recs)-1], rec)
	}
}

func testFinishActionRefused(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	mustCreateRun(t, s, newRun("r2", "111122223333", at(0)))
	rec := newAction("r1", "a1", at(time.Second))
	mustBegin(t, s, rec)

	fin := at(time.Minute)
	wantCode(t, "FinishAction of an action never begun", s.FinishAction(ctx, "r1", "nope", iamprune.ResultDone, "", nil, fin), iamprune.ENOTFOUND)
	wantCode(t, "FinishAction in the wrong run", s.FinishAction(ctx, "r2", "a1", iamprune.ResultDone, "", nil, fin), iamprune.ENOTFOUND)
	wantCode(t, "FinishAction of an unknown run", s.FinishAction(ctx, "r9", "a1", iamprune.ResultDone, "", nil, fin), iamprune.ENOTFOUND)
	wantCode(t, "FinishAction to pending", s.FinishAction(ctx, "r1", "a1", iamprune.ResultPending, "", nil, fin), iamprune.EINVALID)
	checkAction(t, only(t, s, "r1"), rec)

	if err := s.FinishAction(ctx, "r1", "a1", iamprune.ResultDone, "deactivated", json.RawMessage(`{"k":1}`), fin); err != nil {
		t.Fatal(err)
	}
	// An outcome is never overwritten.
	wantCode(t, "second FinishAction", s.FinishAction(ctx, "r1", "a1", iamprune.ResultFailed, "boom", nil, at(time.Hour)), iamprune.ECONFLICT)
	rec.Status, rec.Detail, rec.PostImage, rec.FinishedAt = iamprune.ResultDone, "deactivated", json.RawMessage(`{"k":1}`), &fin
	checkAction(t, only(t, s, "r1"), rec)
}

func testActionsWriteOrder(t *testing.T, s iamprune.Store) {
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	mustCreateRun(t, s, newRun("r2", "111122223333", at(0)))
	// Ids and start times both disagree with the write order.
	var want []string
	for i, id := range []string{"zeta", "alpha", "mu", "beta", "omega"} {
		mustBegin(t, s, newAction("r1", id, at(time.Duration(10-i)*time.Second)))
		mustBegin(t, s, newAction("r2", id+"-other", at(time.Duration(i)*time.Second)))
		want = append(want, "r1/"+id)
	}
	if got := keys(mustActions(t, s, "r1")); !equal(got, want) {
		t.Errorf("Actions(r1) = %q, want %q", got, want)
	}
	if got := mustActions(t, s, "unknown"); len(got) != 0 {
		t.Errorf("Actions(unknown) = %q, want none", keys(got))
	}
}

func testFindActions(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	mustCreateRun(t, s, newRun("r1", "A", at(0)))
	mustCreateRun(t, s, newRun("r2", "B", at(0)))
	mustCreateRun(t, s, newRun("r3", "A", at(0)))
	type entry struct {
		run, id, account string
		kind             iamprune.ActionKind
		target, status   string
		started          time.Duration
	}
	deact, quar := iamprune.KindDeactivateAccessKey, iamprune.KindQuarantineRole
	// Written in this order; started times give the order FindActions must use.
	for _, e := range []entry{
		{"r3", "k1", "A", deact, "AKIA1", iamprune.ResultDone, 30},
		{"r1", "k1", "A", deact, "AKIA1", iamprune.ResultFailed, 10},
		{"r2", "k2", "B", deact, "AKIA2", iamprune.ResultDone, 20},
		{"r1", "role", "A", quar, "app", iamprune.ResultPending, 11},
		{"r3", "k3", "A", deact, "AKIA3", iamprune.ResultSkipped, 31},
		{"r2", "role", "B", quar, "app", iamprune.ResultDone, 5},
	} {
		rec := newAction(e.run, e.id, at(e.started*time.Minute))
		rec.Account, rec.Kind, rec.Target = e.account, e.kind, e.target
		mustBegin(t, s, rec)
		if e.status != iamprune.ResultPending {
			if err := s.FinishAction(ctx, e.run, e.id, e.status, "", nil, at(e.started*time.Minute+time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name string
		f    iamprune.ActionFilter
		want []string
	}{
		{"all", iamprune.ActionFilter{}, []string{"r2/role", "r1/k1", "r1/role", "r2/k2", "r3/k1", "r3/k3"}},
		{"account", iamprune.ActionFilter{Account: "A"}, []string{"r1/k1", "r1/role", "r3/k1", "r3/k3"}},
		{"action id", iamprune.ActionFilter{ActionID: "k1"}, []string{"r1/k1", "r3/k1"}},
		{"kind", iamprune.ActionFilter{Kind: quar}, []string{"r2/role", "r1/role"}},
		{"target", iamprune.ActionFilter{Target: "AKIA2"}, []string{"r2/k2"}},
		{"status", iamprune.ActionFilter{Status: iamprune.ResultDone}, []string{"r2/role", "r2/k2", "r3/k1"}},
		{"status pending", iamprune.ActionFilter{Status: iamprune.ResultPending}, []string{"r1/role"}},
		{"all fields", iamprune.ActionFilter{Account: "A", ActionID: "k1", Kind: deact, Target: "AKIA1", Status: iamprune.ResultDone}, []string{"r3/k1"}},
		{"account and kind", iamprune.ActionFilter{Account: "B", Kind: quar}, []string{"r2/role"}},
		{"no match", iamprune.ActionFilter{Account: "A", Target: "AKIA2"}, []string{}},
	} {
		recs, err := s.FindActions(ctx, tc.f)
		if err != nil {
			t.Fatalf("FindActions %s: %v", tc.name, err)
		}
		if got := keys(recs); !equal(got, tc.want) {
			t.Errorf("FindActions %s (%+v) = %q, want %q", tc.name, tc.f, got, tc.want)
		}
	}
	// The found records are complete.
	recs, err := s.FindActions(ctx, iamprune.ActionFilter{Target: "AKIA2"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("FindActions(AKIA2) = %v, %v", recs, err)
	}
	want := newAction("r2", "k2", at(20*time.Minute))
	want.Account, want.Target, want.Status, want.FinishedAt = "B", "AKIA2", iamprune.ResultDone, ptr(at(20*time.Minute+time.Second))
	checkAction(t, recs[0], want)
}

// bigImage is a JSON document of at least n bytes, like a role with many
// large inline policies.
func bigImage(n int) json.RawMessage {
	var b strings.Builder
	b.WriteString(`{"RolePolicyList":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteString(",\n  ")
		}
		fmt.Fprintf(&b, `{"PolicyName":"p%05d","PolicyDocument":{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-%05d/*"}]}}`, i, i)
	}
	b.WriteString("]}")
	return json.RawMessage(b.String())
}

func testImagesByteExact(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	for i, tc := range []struct {
		name      string
		pre, post json.RawMessage
	}{
		// Whitespace, key order, escapes and non-ASCII must survive: a store
		// must not re-encode what it was given.
		{"odd formatting", json.RawMessage("{ \"b\" : 1,\n\t\"a\":[1, 2.50, \"\\u00e9\\n\", \"é\"] }  "), json.RawMessage(`[ ]`)},
		{"scalar", json.RawMessage(`"Active"`), json.RawMessage(`null`)},
		{"400 KB", bigImage(400 << 10), bigImage(420 << 10)},
	} {
		id := fmt.Sprintf("a%d", i)
		rec := newAction("r1", id, at(time.Duration(i)*time.Second))
		rec.PreImage = tc.pre
		mustBegin(t, s, rec)
		fin := at(time.Hour)
		if err := s.FinishAction(ctx, "r1", id, iamprune.ResultDone, "", tc.post, fin); err != nil {
			t.Fatalf("%s: FinishAction: %v", tc.name, err)
		}
		rec.Status, rec.PostImage, rec.FinishedAt = iamprune.ResultDone, tc.post, &fin
		recs := mustActions(t, s, "r1")
		checkAction(t, recs[len(recs)-1], rec)
		found, err := s.FindActions(ctx, iamprune.ActionFilter{ActionID: id})
		if err != nil || len(found) != 1 {
			t.Fatalf("%s: FindActions = %d records, %v", tc.name, len(found), err)
		}
		checkAction(t, found[0], rec)
	}
}

func testImageNotJSON(t *testing.T, s iamprune.Store) {
	ctx := context.Background()
	mustCreateRun(t, s, newRun("r1", "111122223333", at(0)))
	bad := newAction("r1", "bad", at(0))
	bad.PreImage = json.RawMessage(`{"Status":`)
	wantCode(t, "BeginAction with a truncated pre-image", s.BeginAction(ctx, bad), iamprune.EINVALID)
	if recs := mustActions(t, s, "r1"); len(recs) != 0 {
		t.Errorf("a rejected intent was journaled: %q", keys(recs))
	}
	mustBegin(t, s, newAction("r1", "ok", at(0)))
	wantCode(t, "FinishAction with a bad post-image", s.FinishAction(ctx, "r1", "ok", iamprune.ResultDone, "", json.RawMessage(`nope`), at(time.Second)), iamprune.EINVALID)
	if rec := only(t, s, "r1"); rec.Status != iamprune.ResultPending {
		t.Errorf("a rejected outcome was recorded: status %s", rec.Status)
	}
}
