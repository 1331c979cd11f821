package app

import (
	"context"
	"log/slog"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

// planLiveIAM plans the demo account served by the emulator with --source
// iam as of now, and returns the plan with the calls it made by operation.
func planLiveIAMDemo(t *testing.T, e Env, store iamprune.Store, now time.Time) (*iamprune.Plan, map[string]int) {
	t.Helper()
	ctx := context.Background()
	in, err := LoadInputs(ctx, InputOptions{ConfigPath: filepath.Join("..", "examples", "demo", "iamprune.yaml"), Now: now, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var counter *awsapi.Counter
	load := func(ctx context.Context) (aws.Config, *awsapi.Counter, error) {
		cfg, c, err := e.LoadAWS(ctx)
		counter = c
		return cfg, c, err
	}
	p, err := MakePlan(ctx, in, PlanOptions{Source: iamprune.SourceIAM, LoadAWS: load, Store: store, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p.Plan, counter.ByOperation()
}

// Through the API, the demo planned from IAM's own data equals the plan of
// the same data read from the snapshot (finding ids included), and so the
// analyzer plan for roles, keys and passwords.
func TestLiveIAMSourceEqualsSnapshot(t *testing.T) {
	_, e := demoAccount(t)
	live, calls := planLiveIAMDemo(t, e, openStore(t), testNow)
	snap := planDemoSnapshot(t, iamprune.SourceIAM)
	if len(snap.Actions) < 10 || !reflect.DeepEqual(live.Actions, snap.Actions) {
		t.Errorf("live IAM plan:\n%s\nwant the snapshot's:\n%s", strings.Join(entries(live, allTypes...), "\n"), strings.Join(entries(snap, allTypes...), "\n"))
	}
	credentials := []iamprune.FindingType{iamprune.UnusedIAMRole, iamprune.UnusedIAMUserAccessKey, iamprune.UnusedIAMUserPassword}
	if got, want := entries(live, credentials...), entries(planDemoSnapshot(t, ""), credentials...); !reflect.DeepEqual(got, want) {
		t.Errorf("roles, keys and passwords:\n%s\nwant the analyzer's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.HasPrefix(live.Source, "IAM data of account ") {
		t.Errorf("plan source %q", live.Source)
	}
	for _, op := range []string{"AccessAnalyzer.GetFindingV2", "AccessAnalyzer.ListFindingsV2", "IAM.GetAccessKeyLastUsed", "IAM.GetUser"} {
		if calls[op] != 0 {
			t.Errorf("%s called %d times planning from IAM data", op, calls[op])
		}
	}
	if calls["IAM.GenerateServiceLastAccessedDetails"] == 0 || calls["IAM.GetCredentialReport"] != 1 {
		t.Errorf("calls %v: want service-last-accessed jobs and one credential report", calls)
	}
}

var allTypes = []iamprune.FindingType{iamprune.UnusedIAMRole, iamprune.UnusedIAMUserAccessKey, iamprune.UnusedIAMUserPassword, iamprune.UnusedPermission}

// A second plan within 4 hours reuses the cached service-last-accessed
// results: no new job, and the same plan; at 4 hours the jobs run again.
func TestLiveIAMSourceCachesLastAccessed(t *testing.T) {
	_, e := demoAccount(t)
	store := openStore(t)
	first, calls := planLiveIAMDemo(t, e, store, testNow)
	jobs := calls["IAM.GenerateServiceLastAccessedDetails"]
	if jobs == 0 {
		t.Fatalf("first plan ran no service-last-accessed job: %v", calls)
	}
	second, calls := planLiveIAMDemo(t, e, store, testNow.Add(iamprune.LastAccessedCacheTTL-time.Minute))
	if n := calls["IAM.GenerateServiceLastAccessedDetails"] + calls["IAM.GetServiceLastAccessedDetails"]; n != 0 {
		t.Errorf("second plan within 4 hours made %d service-last-accessed calls, want 0", n)
	}
	if !reflect.DeepEqual(entries(second, iamprune.UnusedPermission), entries(first, iamprune.UnusedPermission)) {
		t.Errorf("cached permissions differ:\n%s\nwant:\n%s", strings.Join(entries(second, iamprune.UnusedPermission), "\n"), strings.Join(entries(first, iamprune.UnusedPermission), "\n"))
	}
	_, calls = planLiveIAMDemo(t, e, store, testNow.Add(iamprune.LastAccessedCacheTTL))
	if got := calls["IAM.GenerateServiceLastAccessedDetails"]; got != jobs {
		t.Errorf("plan 4 hours later ran %d jobs, want %d again", got, jobs)
	}
}

// A job that fails is that principal's warning; the rest is planned.
func TestLiveIAMSourceFailedJob(t *testing.T) {
	srv, e := demoAccount(t)
	snap := planDemoSnapshot(t, iamprune.SourceIAM)
	var failed string
	for _, a := range snap.Actions {
		if a.FindingType == iamprune.UnusedPermission {
			failed = a.Principal
			break
		}
	}
	if failed == "" {
		t.Fatal("the demo has no UnusedPermission action")
	}
	srv.FailMatching("GenerateServiceLastAccessedDetails", url.Values{"Arn": {failed}}.Encode(), "NoSuchEntity", 1)
	live, _ := planLiveIAMDemo(t, e, nil, testNow)
	var want []string
	for _, s := range entries(snap, allTypes...) {
		if !strings.HasPrefix(s, failed+" "+string(iamprune.UnusedPermission)) {
			want = append(want, s)
		}
	}
	if got := entries(live, allTypes...); len(want) == len(entries(snap, allTypes...)) || !reflect.DeepEqual(got, want) {
		t.Errorf("with the job of %s failed:\n%s\nwant the snapshot's without it:\n%s", failed, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	warned := false
	for _, w := range live.Warnings {
		warned = warned || strings.Contains(w.Message, failed) && strings.Contains(w.Message, "permissions not judged")
	}
	if !warned {
		t.Errorf("no warning names the principal whose job failed: %+v", live.Warnings)
	}
}

// Where the region has no active unused-access analyzer and none was named,
// the plan says so and plans from IAM's own data; asking for the analyzer
// explicitly still fails.
func TestNoAnalyzerFallsBackToIAMData(t *testing.T) {
	snap, err := snapshot.LoadDir(filepath.Join("..", "examples", "demo", "snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	snap.Analyzer.Status = "DISABLED"
	_, cfg := emulatortest.Start(t, snap, emulator.Options{})
	load := func(context.Context) (aws.Config, *awsapi.Counter, error) {
		c := awsapi.NewCounter()
		cfg := cfg.Copy()
		c.Attach(&cfg)
		return cfg, c, nil
	}
	ctx := context.Background()
	in, err := LoadInputs(ctx, InputOptions{ConfigPath: filepath.Join("..", "examples", "demo", "iamprune.yaml"), Now: testNow, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	p, err := MakePlan(ctx, in, PlanOptions{LoadAWS: load, Store: openStore(t), Poll: time.Millisecond, Logger: log})
	if err != nil {
		t.Fatalf("plan without an analyzer: %v", err)
	}
	if !strings.HasPrefix(p.Plan.Source, "IAM data of account ") || !strings.Contains(logs.String(), "planning from IAM's own data instead") {
		t.Errorf("source %q, log %q: want the IAM data, said", p.Plan.Source, logs.String())
	}
	want := planDemoSnapshot(t, iamprune.SourceIAM)
	if !reflect.DeepEqual(p.Plan.Actions, want.Actions) {
		t.Errorf("fallback plan differs from the IAM-data plan")
	}
	_, err = MakePlan(ctx, in, PlanOptions{Source: iamprune.SourceAnalyzer, LoadAWS: load, Store: openStore(t), Logger: log})
	if err == nil || iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), "no active unused-access analyzer") {
		t.Errorf("--source analyzer without an analyzer: %v, want EINVALID", err)
	}
}
