package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/policy"
	"github.com/iamprune/iamprune/snapshot"
)

// The demo snapshot's analyzer and UnusedPermission findings.
const (
	demoAnalyzer = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/unused-access-analyzer"
	demoWebApp   = "2913f7cd-7f71-4668-a24b-115fa9f998ad" // role/WebAppRole
	demoDeployer = "05e08999-b546-45e4-afaf-dd54175010f3" // user/automation/ci-deployer
	demoRole     = "7d76e84a-b902-421b-aa00-4bc9c3b19834" // UnusedIAMRole
)

func demoSnapshot(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	snap, err := snapshot.LoadDir(filepath.Join("..", "examples", "demo", "snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// recEmulator serves the demo snapshot; cfg is a user's config pointed at
// it, in another region than the analyzer's (the Recommender must call the
// analyzer's).
func recEmulator(t *testing.T, opts emulator.Options) (*emulator.Server, aws.Config, *Counter) {
	t.Helper()
	emu, cfg := emulatortest.Start(t, demoSnapshot(t), opts)
	cfg.Region = "eu-west-1"
	c := NewCounter()
	c.Attach(&cfg)
	return emu, cfg, c
}

// fakeClock is a clock that only moves when the Recommender sleeps.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	// onSleep, if set, runs before each sleep returns (to cancel a context).
	onSleep func(n int)
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	n, hook := len(c.sleeps), c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return ctx.Err()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

func (c *fakeClock) option() RecommenderOption { return WithRecommendationClock(c.Now, c.Sleep) }

// opCount counts the emulator's calls of one operation for one finding.
func opCount(emu *emulator.Server, op, findingID string) int {
	n := 0
	for _, c := range emu.Calls() {
		if c.Operation == op && strings.HasPrefix(c.Params, "/recommendation/"+findingID) {
			n++
		}
	}
	return n
}

func TestRecommenderPollsWithBackoff(t *testing.T) {
	emu, cfg, counter := recEmulator(t, emulator.Options{})
	emu.SetRecommendationPolls(3)
	clock := newFakeClock()
	rec, err := NewRecommender(cfg, demoAnalyzer, clock.option()).Recommendation(context.Background(), demoWebApp)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != "SUCCEEDED" || rec.Type != "UnusedPermissionRecommendation" || rec.FindingID != demoWebApp || rec.Error != "" {
		t.Errorf("recommendation = %+v", rec)
	}
	if len(rec.Steps) == 0 {
		t.Error("no steps: the demo role grants unused actions")
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	if got := clock.Sleeps(); !slices.Equal(got, want) {
		t.Errorf("sleeps = %v, want %v", got, want)
	}
	if g, p := opCount(emu, "GenerateFindingRecommendation", demoWebApp), opCount(emu, "GetFindingRecommendation", demoWebApp); g != 1 || p != 4 {
		t.Errorf("%d Generate and %d Get calls, want 1 and 4", g, p)
	}
	if got := counter.ByOperation(); got["AccessAnalyzer.GenerateFindingRecommendation"] != 1 || got["AccessAnalyzer.GetFindingRecommendation"] != 4 {
		t.Errorf("counter = %v", got)
	}
}

// The wait doubles up to its cap, and the last one is cut to the timeout;
// a recommendation still running then comes back IN_PROGRESS, not as an
// error.
func TestRecommenderTimeout(t *testing.T) {
	emu, cfg, _ := recEmulator(t, emulator.Options{})
	emu.SetRecommendationPolls(1000)
	clock := newFakeClock()
	r := NewRecommender(cfg, demoAnalyzer, clock.option(),
		WithRecommendationTimeout(10*time.Second), WithRecommendationBackoff(200*time.Millisecond, time.Second))
	rec, err := r.Recommendation(context.Background(), demoWebApp)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != "IN_PROGRESS" || len(rec.Steps) != 0 || rec.Error != "not finished after 10s" {
		t.Errorf("recommendation = %+v", rec)
	}
	ms := time.Millisecond
	want := []time.Duration{200 * ms, 400 * ms, 800 * ms, time.Second, time.Second, time.Second, time.Second,
		time.Second, time.Second, time.Second, time.Second, 600 * ms}
	if got := clock.Sleeps(); !slices.Equal(got, want) {
		t.Errorf("sleeps = %v, want %v", got, want)
	}
	if p := opCount(emu, "GetFindingRecommendation", demoWebApp); p != len(want)+1 {
		t.Errorf("%d polls, want %d", p, len(want)+1)
	}
}

// Each finding is asked for once per Recommender, however many callers
// want it, at once or later.
func TestRecommenderCache(t *testing.T) {
	emu, cfg, _ := recEmulator(t, emulator.Options{})
	clock := newFakeClock()
	r := NewRecommender(cfg, demoAnalyzer, clock.option())
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]iamprune.Recommendation, 8)
	for i := range results {
		wg.Go(func() {
			id := demoWebApp
			if i%2 == 1 {
				id = demoDeployer
			}
			rec, err := r.Recommendation(ctx, id)
			if err != nil {
				t.Error(err)
			}
			results[i] = rec
		})
	}
	wg.Wait()
	again, err := r.Recommendation(ctx, demoWebApp)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{demoWebApp, demoDeployer} {
		if g := opCount(emu, "GenerateFindingRecommendation", id); g != 1 {
			t.Errorf("%s: %d Generate calls, want 1", id, g)
		}
		if p := opCount(emu, "GetFindingRecommendation", id); p != 2 {
			t.Errorf("%s: %d Get calls, want 2", id, p)
		}
	}
	for i, rec := range results {
		if rec.Status != "SUCCEEDED" || (i%2 == 0 && !sameSteps(rec, again)) {
			t.Errorf("result %d = %+v", i, rec)
		}
	}
	// Callers get copies: changing one does not change the cache.
	again.Steps[0].Action = "CHANGED"
	if third, _ := r.Recommendation(ctx, demoWebApp); third.Steps[0].Action == "CHANGED" {
		t.Error("the cached recommendation was changed through a result")
	}
}

func sameSteps(a, b iamprune.Recommendation) bool {
	x, _ := json.Marshal(a.Steps)
	y, _ := json.Marshal(b.Steps)
	return string(x) == string(y)
}

// Pages (here one step each) are merged in order; recommended documents
// become compact JSON; unknown step types are skipped with a warning.
func TestRecommenderPagesAndUnknownSteps(t *testing.T) {
	emu, cfg, _ := recEmulator(t, emulator.Options{PageSize: 1})
	emu.SetRecommendationPolls(0)
	updated := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := emu.SetRecommendationSteps(demoDeployer,
		json.RawMessage(`{"unusedPermissionsRecommendedStep":{"recommendedAction":"CREATE_POLICY","existingPolicyId":"deploy","recommendedPolicy":"{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}"}}`),
		json.RawMessage(`{"splitPolicyStep":{"parts":2}}`),
		json.RawMessage(`{"unusedPermissionsRecommendedStep":{"recommendedAction":"DETACH_POLICY","existingPolicyId":"arn:aws:iam::111122223333:policy/Old","policyUpdatedAt":"2026-01-02T04:04:05+01:00"}}`),
		json.RawMessage(`{"unusedPermissionsRecommendedStep":{"recommendedAction":"CREATE_POLICY","existingPolicyId":"bad","recommendedPolicy":"not a policy"}}`),
		json.RawMessage(`{"unusedPermissionsRecommendedStep":{"recommendedAction":"MERGE_POLICY","existingPolicyId":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRecommender(cfg, demoAnalyzer, newFakeClock().option())
	rec, err := r.Recommendation(context.Background(), demoDeployer)
	if err != nil {
		t.Fatal(err)
	}
	want := []iamprune.RecommendedStep{
		{Action: "CREATE_POLICY", ExistingPolicyID: "deploy", Policy: json.RawMessage(`{"Version":"2012-10-17","Statement":[]}`)},
		{Action: "DETACH_POLICY", ExistingPolicyID: "arn:aws:iam::111122223333:policy/Old", PolicyUpdatedAt: &updated},
		{Action: "CREATE_POLICY", ExistingPolicyID: "bad"},
		{Action: "MERGE_POLICY", ExistingPolicyID: "x"},
	}
	got, _ := json.Marshal(rec.Steps)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("steps\n got %s\nwant %s", got, wantJSON)
	}
	if p := opCount(emu, "GetFindingRecommendation", demoDeployer); p != 5 {
		t.Errorf("%d Get calls, want 5 (one a page)", p)
	}
	ws := r.Warnings()
	if len(ws) != 2 || ws[0].Source != "finding "+demoDeployer ||
		!strings.Contains(ws[0].Message, `recommendedSteps[1]: unknown step type "splitPolicyStep" skipped`) ||
		!strings.Contains(ws[1].Message, `recommended policy for "bad" is unreadable`) {
		t.Errorf("warnings = %v", ws)
	}
}

func TestRecommenderFailed(t *testing.T) {
	emu, cfg, _ := recEmulator(t, emulator.Options{})
	if err := emu.FailRecommendation(demoWebApp, "InternalFailure", "policies unreadable"); err != nil {
		t.Fatal(err)
	}
	rec, err := NewRecommender(cfg, demoAnalyzer, newFakeClock().option()).Recommendation(context.Background(), demoWebApp)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != "FAILED" || rec.Error != "InternalFailure: policies unreadable" || len(rec.Steps) != 0 {
		t.Errorf("recommendation = %+v", rec)
	}
	check := policy.CompareRecommendation(nil, rec)
	if check.Agrees || check.Status != "FAILED" || !strings.Contains(check.Detail, "policies unreadable") {
		t.Errorf("check = %+v", check)
	}
}

// A job already running (another run, or a call this one gave up on) is
// waited for, not an error.
func TestRecommenderJoinsRunningJob(t *testing.T) {
	emu, cfg, _ := recEmulator(t, emulator.Options{})
	emu.SetRecommendationPolls(2)
	clock := newFakeClock()
	ctx, cancel := context.WithCancel(context.Background())
	clock.onSleep = func(int) { cancel() }
	r := NewRecommender(cfg, demoAnalyzer, clock.option())
	if _, err := r.Recommendation(ctx, demoWebApp); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	clock.onSleep = nil
	rec, err := r.Recommendation(context.Background(), demoWebApp)
	if err != nil || rec.Status != "SUCCEEDED" {
		t.Fatalf("after a cancelled call: %+v, %v", rec, err)
	}
	if g := opCount(emu, "GenerateFindingRecommendation", demoWebApp); g != 2 {
		t.Errorf("%d Generate calls, want 2 (the second one a conflict)", g)
	}
}

func TestRecommenderErrors(t *testing.T) {
	emu, cfg, _ := recEmulator(t, emulator.Options{})
	ctx := context.Background()
	r := NewRecommender(cfg, demoAnalyzer, newFakeClock().option())
	tests := []struct {
		id, code, msg string
	}{
		{"no-such-finding", iamprune.ENOTFOUND, "cannot generate a recommendation for finding no-such-finding of " + demoAnalyzer},
		{demoRole, iamprune.EINVALID, "UnusedPermission"},
	}
	for _, tt := range tests {
		_, err := r.Recommendation(ctx, tt.id)
		if iamprune.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v (code %q), want %s containing %q", tt.id, err, iamprune.ErrorCode(err), tt.code, tt.msg)
		}
		// Errors are remembered too.
		r.Recommendation(ctx, tt.id)
		if g := opCount(emu, "GenerateFindingRecommendation", tt.id); g != 1 {
			t.Errorf("%s: %d Generate calls, want 1", tt.id, g)
		}
	}
	// The SDK error stays in the chain.
	_, err := r.Recommendation(ctx, "no-such-finding")
	var nf interface{ ErrorCode() string }
	if !errors.As(err, &nf) || nf.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("err = %v, want the SDK's ResourceNotFoundException in the chain", err)
	}

	before := len(emu.Calls())
	_, err = NewRecommender(cfg, "auto").Recommendation(ctx, demoWebApp)
	if iamprune.ErrorCode(err) != iamprune.EINVALID || len(emu.Calls()) != before {
		t.Errorf("analyzer \"auto\": err = %v, %d calls", err, len(emu.Calls())-before)
	}
}

// End to end: iamprune's refinement of the demo's WebAppRole against the
// emulator's coarser recommendation. Both drop the unused literal actions
// and the inline KMS policy; only iamprune narrows "dynamodb:*", whose
// DeleteTable was never used (the emulator keeps wildcards of services in
// use).
func TestRecommendationComparedWithRefinement(t *testing.T) {
	snap := demoSnapshot(t)
	emu, cfg, _ := recEmulator(t, emulator.Options{})
	emu.SetRecommendationPolls(0)
	findings, _, err := snap.Findings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(findings, func(f iamprune.Finding) bool { return f.ID == demoWebApp })
	usage := policy.UsageFromFinding(findings[i])
	now := snap.Meta.CapturedAt

	var changes []iamprune.PolicyChange
	add := func(id string, typ iamprune.PolicyType, text string) {
		doc, err := policy.Parse([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		refined, rep, err := policy.Refine(doc, usage, now, 90)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Changed() {
			return
		}
		c := iamprune.PolicyChange{Policy: id, Name: id[strings.LastIndex(id, "/")+1:], Type: typ, Before: json.RawMessage(text)}
		if len(refined.Statement) > 0 {
			b, _ := policy.Marshal(refined)
			c.After = []json.RawMessage{b}
		}
		changes = append(changes, c)
	}
	for _, role := range snap.Auth.RoleDetailList {
		if role.RoleName != "WebAppRole" {
			continue
		}
		for _, p := range role.RolePolicyList {
			add(p.PolicyName, iamprune.PolicyInline, p.PolicyDocument.JSON)
		}
		for _, a := range role.AttachedManagedPolicies {
			for _, p := range snap.Auth.Policies {
				for _, v := range p.PolicyVersionList {
					if p.Arn == a.PolicyArn && v.IsDefaultVersion {
						add(p.Arn, iamprune.PolicyManaged, v.Document.JSON)
					}
				}
			}
		}
	}
	if len(changes) != 2 {
		t.Fatalf("iamprune changes %d policies, want 2 (inline and managed)", len(changes))
	}

	rec, err := NewRecommender(cfg, demoAnalyzer).Recommendation(context.Background(), demoWebApp)
	if err != nil {
		t.Fatal(err)
	}
	check := policy.CompareRecommendation(changes, rec)
	want := iamprune.RecommendationCheck{
		Status: "SUCCEEDED", Type: "UnusedPermissionRecommendation",
		OnlyIAMPrune: []string{"dynamodb:deletetable"},
	}
	if g, w := mustJSON(check), mustJSON(want); g != w {
		t.Errorf("check\n got %s\nwant %s", g, w)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
