package app

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/internal/bench"
	"github.com/iamprune/iamprune/mock"
	"github.com/iamprune/iamprune/snapshot"
)

// TestStreamedAPIPlanMatchesWholePlan plans a generated organisation
// through the emulator as plan does (a chunk of findings at a time,
// DecideAnalyzer) and as it did (every finding read first, then the facts,
// Decide): the plans must be the same, with the same calls, with holds in
// two accounts and one member whose role cannot be assumed. The source
// then remembers the findings apply re-checks, and only those.
func TestStreamedAPIPlanMatchesWholePlan(t *testing.T) {
	t.Parallel()
	org, err := bench.Write(t.TempDir(), bench.Spec{Accounts: 3, Units: 8})
	if err != nil {
		t.Fatal(err)
	}
	now, err := time.Parse(time.RFC3339, bench.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in, err := LoadInputs(ctx, InputOptions{ConfigYAML: "accounts:\n  role_name: " + bench.RoleName + "\n  external_id: " + bench.ExternalID +
		"\nnotifications:\n  require_prior_notice: false\n", ConfigYAMLName: "test", Now: now, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	in.ConfigPath = "c.yaml"
	store := &mock.Store{}
	for _, h := range []iamprune.Hold{
		{ID: "hold-1", Account: bench.MemberAccount(0), Principal: "arn:aws:iam::" + bench.MemberAccount(0) + ":role/idle-1", FindingType: iamprune.UnusedIAMRole, Target: "idle-1"},
		{ID: "hold-2", Account: bench.MemberAccount(1), Principal: "arn:aws:iam::" + bench.MemberAccount(1) + ":user/person-2", FindingType: iamprune.UnusedIAMUserPassword, Target: "person-2"},
	} {
		h.Kind, h.Services, h.Until = iamprune.RemediationsFor(h.FindingType)[0], []string{}, now.AddDate(0, 0, 30)
		if err := store.PutHold(ctx, h); err != nil {
			t.Fatal(err)
		}
	}

	got, err := MakePlan(ctx, in, PlanOptions{Store: store, LoadAWS: serveOrg(t, org)})
	if err != nil {
		t.Fatal(err)
	}
	// A fresh emulator: the first run's credential reports are not ready
	// for the second.
	sess, err := OpenSession(ctx, serveOrg(t, org), iamprune.AnalyzerAuto)
	if err != nil {
		t.Fatal(err)
	}
	of, err := sess.OrgFacts(ctx, in.Config)
	if err != nil {
		t.Fatal(err)
	}
	sess.Findings.UseIAM(of)
	want, wantFacts, err := Decide(ctx, sess.Findings, of, in, store, "analyzer "+iamprune.AnalyzerAuto, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Plan, want) {
		t.Fatalf("streamed plan differs from the whole plan (%d and %d actions)", len(got.Plan.Actions), len(want.Actions))
	}
	if !reflect.DeepEqual(got.Facts.Unreachable, wantFacts.Unreachable) || len(wantFacts.Unreachable) != 1 {
		t.Errorf("unreachable = %v, want %v (one member)", got.Facts.Unreachable, wantFacts.Unreachable)
	}
	calls := got.Session.Counter.ByOperation()
	if wantCalls := sess.Counter.ByOperation(); !reflect.DeepEqual(calls, wantCalls) {
		t.Errorf("calls:\n%v\nwant\n%v", calls, wantCalls)
	}
	kinds, skippedID := map[iamprune.ActionKind]int{}, ""
	for _, a := range want.Actions {
		kinds[a.Kind]++
		if a.Kind == iamprune.KindSkip && a.Account == bench.MemberAccount(2) {
			skippedID = a.FindingID
		}
	}
	if kinds[iamprune.KindExempt] < 2 || kinds[iamprune.KindQuarantineRole] == 0 || kinds[iamprune.KindDeactivateAccessKey] == 0 || skippedID == "" {
		t.Fatalf("the plan does not show what it should: %v", kinds)
	}

	// Apply re-reads no finding behind a remediation; any other finding
	// was not kept.
	total := got.Session.Counter.Total()
	for _, a := range got.Plan.Actions {
		if a.Kind.IsRemediation() && a.Done == nil {
			if _, err := got.Session.Findings.Finding(ctx, a.FindingID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := got.Session.Counter.Total(); n != total {
		t.Errorf("re-checking the remediations' findings made %d calls", n-total)
	}
	total = got.Session.Counter.Total()
	if _, err := got.Session.Findings.Finding(ctx, skippedID); err != nil {
		t.Fatal(err)
	}
	if n := got.Session.Counter.Total(); n != total+1 {
		t.Errorf("reading the finding of a skip made %d calls, want 1 (it is not kept)", n-total)
	}
}

// serveOrg serves a generated organisation from an in-process emulator, in
// pages of 7 so that accounts, and a user's two key findings, straddle
// chunks, with its last member left out (its role cannot be assumed), and
// returns the LoadAWS that reaches it.
func serveOrg(t *testing.T, org *bench.Org) LoadAWS {
	t.Helper()
	home, err := snapshot.LoadDir(org.Home)
	if err != nil {
		t.Fatal(err)
	}
	srv, cfg := emulatortest.Start(t, home, emulator.Options{PageSize: 7})
	for _, d := range org.Members[:len(org.Members)-1] {
		m, err := snapshot.LoadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.AddMember(m); err != nil {
			t.Fatal(err)
		}
	}
	return func(context.Context) (aws.Config, *awsapi.Counter, error) {
		c := awsapi.NewCounter()
		cfg := cfg.Copy()
		c.Attach(&cfg)
		return cfg, c, nil
	}
}

// An AWS-managed policy change decided before a later account showed the
// policy attached more widely takes the count the facts ended with, as a
// plan of all the facts would have; a customer-managed one keeps its own.
func TestSettleAWSManaged(t *testing.T) {
	const awsARN, own = "arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::111122223333:policy/app"
	plan := &iamprune.Plan{Actions: []iamprune.Action{{Kind: iamprune.KindRewritePolicy, Policies: []iamprune.PolicyChange{
		{Policy: awsARN, Type: iamprune.PolicyAWSManaged, AttachmentCount: 2},
		{Policy: own, Type: iamprune.PolicyManaged, AttachmentCount: 1},
	}}}}
	settleAWSManaged(plan, &iamprune.Facts{ManagedPolicies: map[string]*iamprune.ManagedPolicy{
		awsARN: {ARN: awsARN, AWSManaged: true, AttachmentCount: 7},
		own:    {ARN: own, AttachmentCount: 3},
	}})
	if got := plan.Actions[0].Policies; got[0].AttachmentCount != 7 || got[1].AttachmentCount != 1 {
		t.Errorf("attachment counts = %d and %d, want 7 and 1", got[0].AttachmentCount, got[1].AttachmentCount)
	}
}
