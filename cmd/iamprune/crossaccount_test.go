package main

import (
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

const memberAccount = "444455556666"

// org is a delegated-admin account whose organisation analyzer reports on
// a member account, both served by the emulator; iamprune reaches the
// member through the role it assumes there with sts:AssumeRole.
type org struct {
	home, member *emulator.Server
	dir, state   string
}

func newOrg(t *testing.T) *org {
	t.Helper()
	root := filepath.Join(repoRoot(t), "emulator", "testdata", "org")
	home, err := snapshot.LoadDir(filepath.Join(root, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := snapshot.LoadDir(filepath.Join(root, "member-"+memberAccount))
	if err != nil {
		t.Fatal(err)
	}
	// The real clock: assumed-role credentials expire by it.
	srv, cfg := emulatortest.Start(t, home, emulator.Options{})
	member, err := srv.AddMember(mem)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetRecommendationPolls(0)
	inject(t, aws.ToString(cfg.BaseEndpoint), nil)
	dir := t.TempDir()
	return &org{home: srv, member: member, dir: dir, state: filepath.Join(dir, "state.db")}
}

// config writes a config reaching the member with externalID.
func (o *org) config(t *testing.T, externalID string) string {
	t.Helper()
	path := filepath.Join(o.dir, "iamprune-"+externalID+".yaml")
	cfg := `accounts:
  allow: ["111122223333", "` + memberAccount + `"]
  role_name: iamprune-remediation
  external_id: ` + externalID + `
rules:
  UnusedPermission: {notify_after_days: 30, remediate_after_days: 120, action: rewrite-policy}
notifications:
  require_prior_notice: false
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (o *org) dumps(t *testing.T) (home, member []byte) {
	t.Helper()
	h, err := o.home.Dump()
	if err != nil {
		t.Fatal(err)
	}
	m, err := o.member.Dump()
	if err != nil {
		t.Fatal(err)
	}
	return h, m
}

func (o *org) assumed(account string) int {
	n := 0
	for _, a := range o.home.Assumed() {
		if a.Account == account {
			n++
		}
	}
	return n
}

// TestCrossAccount plans, applies and rolls back remediations in a member
// account through the emulator's STS: the role is assumed once per run
// with the external id, the member's IAM changes and the home's does not,
// and rollback restores the member exactly.
func TestCrossAccount(t *testing.T) {
	t.Parallel()
	o := newOrg(t)
	cfg := o.config(t, "iamprune-ext")
	homeBefore, memberBefore := o.dumps(t)

	r := runCLI(t, "plan", "--config", cfg, "--now", demoNow, "--state", o.state, "-o", "json")
	if r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	var plan iamprune.Plan
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]iamprune.Action{}
	for _, a := range plan.Actions {
		if a.Account != memberAccount {
			t.Errorf("action %s %s in account %s", a.Kind, a.Target, a.Account)
		}
		kinds[string(a.Kind)+" "+a.Target] = a
	}
	if _, ok := kinds["deactivate-access-key AKIACIBOT00000000001"]; !ok {
		t.Errorf("no key deactivation planned in the member: %v", slices.Collect(maps.Keys(kinds)))
	}
	rw, ok := kinds["rewrite-policy app-deployer"]
	if !ok || len(rw.Policies) == 0 {
		t.Fatalf("no policy rewrite planned for app-deployer: %v", slices.Collect(maps.Keys(kinds)))
	}
	if rw.Recommendation == nil || rw.Recommendation.Status != "SUCCEEDED" {
		t.Errorf("recommendation not compared: %+v", rw.Recommendation)
	}
	if n := o.assumed(memberAccount); n != 1 {
		t.Errorf("plan assumed the member role %d times, want 1", n)
	}
	for _, a := range o.home.Assumed() {
		if a.ExternalId != "iamprune-ext" || a.RoleArn != "arn:aws:iam::"+memberAccount+":role/iamprune-remediation" || a.SessionName != "iamprune" {
			t.Errorf("assumed %+v", a)
		}
	}

	r = runCLI(t, "apply", "--config", cfg, "--now", demoNow, "--state", o.state, "--yes", "-o", "json",
		"--audit-log", filepath.Join(o.dir, "audit.jsonl"))
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	res := decodeRun(t, r)
	done := 0
	for _, a := range res.Results {
		if a.Status != iamprune.ResultDone {
			t.Errorf("%s %s: %s %s", a.Kind, a.Target, a.Status, a.Detail)
		}
		done++
	}
	if done < 3 {
		t.Errorf("apply made %d changes, want the key, the role and the policy rewrite", done)
	}
	if n := o.assumed(memberAccount); n != 2 {
		t.Errorf("apply assumed the member role %d times in all, want once per run (2)", n)
	}
	homeAfter, memberAfter := o.dumps(t)
	if string(homeAfter) != string(homeBefore) {
		t.Errorf("the home account changed: %v", changed(t, homeBefore, homeAfter))
	}
	got := changed(t, memberBefore, memberAfter)
	for _, want := range []string{"AKIACIBOT00000000001", "legacy-etl", "app-deployer"} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("member change of %s missing: %v", want, got)
		}
	}

	// The member's journal is read: the next plan shows the changes done.
	var again iamprune.Plan
	r = runCLI(t, "plan", "--config", cfg, "--now", demoNow, "--state", o.state, "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &again); err != nil {
		t.Fatal(err)
	}
	for _, a := range again.Actions {
		if a.Kind.IsRemediation() && a.Done == nil {
			t.Errorf("after apply, %s %s in %s is not shown as done", a.Kind, a.Target, a.Account)
		}
	}

	r = runCLI(t, "rollback", res.RunID, "--config", cfg, "--state", o.state, "--yes", "--audit-log", filepath.Join(o.dir, "audit.jsonl"))
	if r.code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if _, memberBack := o.dumps(t); string(memberBack) != string(memberBefore) {
		t.Errorf("rollback left the member changed: %v", changed(t, memberBefore, memberBack))
	}
}

// A member whose role cannot be assumed is reported, and its findings are
// skipped with the reason; it never fails the run nor passes for deleted
// principals.
func TestCrossAccountUnreachable(t *testing.T) {
	t.Parallel()
	o := newOrg(t)
	cfg := o.config(t, "wrong-external-id")
	r := runCLI(t, "plan", "--config", cfg, "--now", demoNow, "--state", o.state, "-o", "json")
	if r.code != 1 || !strings.Contains(r.stderr, "iamprune: 1 member account(s) unreachable") {
		t.Fatalf("plan: exit %d, want 1 (an unreachable account)\n%s", r.code, r.stderr)
	}
	var plan iamprune.Plan
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Actions) != 3 {
		t.Fatalf("want the 3 member findings skipped, got %d actions", len(plan.Actions))
	}
	for _, a := range plan.Actions {
		if a.Kind != iamprune.KindSkip || !strings.Contains(a.Reason, "account "+memberAccount+" unreachable") || !strings.Contains(a.Reason, "AccessDenied") {
			t.Errorf("%s %s: %s", a.Kind, a.Target, a.Reason)
		}
	}
	if !strings.Contains(r.stderr, "member account unreachable") {
		t.Errorf("no warning on stderr:\n%s", r.stderr)
	}
	// The report is written, and exits 1 as plan does (it exited 0).
	out := filepath.Join(o.dir, "report.html")
	r = runCLI(t, "report", "--config", cfg, "--now", demoNow, "--state", o.state, "--out", out)
	if html, err := os.ReadFile(out); r.code != 1 || err != nil || !strings.Contains(r.stderr, "1 member account(s) unreachable") || !strings.Contains(string(html), "unreachable") {
		t.Errorf("report: exit %d (want 1), written %v\n%s", r.code, err, r.stderr)
	}
	// Without a role, iamprune does not pretend to reach the member.
	r = runCLI(t, "plan", "--now", demoNow, "--state", o.state, "-o", "json")
	if r.code != 1 || !strings.Contains(r.stdout, "no cross-account role is configured") {
		t.Errorf("plan without role_name: exit %d\n%s", r.code, r.stdout)
	}
	if n := len(o.home.Assumed()); n != 0 {
		t.Errorf("%d roles assumed", n)
	}
}

// The Lambda in the delegated-admin account handles an organisation
// analyzer's event about a member account's key: it assumes the member
// role and deactivates exactly that key there.
func TestLambdaCrossAccount(t *testing.T) {
	t.Parallel()
	o := newOrg(t)
	cfg, err := os.ReadFile(o.config(t, "iamprune-ext"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"IAMPRUNE_CONFIG_YAML": string(cfg), "IAMPRUNE_STATE": o.state, "IAMPRUNE_NOW": demoNow}
	var stderr lambdaLogBuffer
	m := wire(t, &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Getenv: func(k string) string { return env[k] }, Now: time.Now})
	h := m.newLambdaHandler()
	homeBefore, memberBefore := o.dumps(t)

	const analyzer = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/org-unused-access"
	out, err := invokeJSON(t, h, findingEvent(analyzer, "4f1c2a9e-0b6d-4c2e-9a51-7d3e8f000001", "v1", false))
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, stderr.String())
	}
	resp := out.(*lambdaResponse)
	if got := statuses(*resp.Run); len(got) != 1 || got["deactivate-access-key AKIACIBOT00000000001"] != iamprune.ResultDone {
		t.Errorf("results %v, want only the member's key deactivated", got)
	}
	homeAfter, memberAfter := o.dumps(t)
	if string(homeAfter) != string(homeBefore) {
		t.Errorf("home changed: %v", changed(t, homeBefore, homeAfter))
	}
	if got := changed(t, memberBefore, memberAfter); !slices.Equal(got, []string{"AccessKeys/AKIACIBOT00000000001"}) {
		t.Errorf("member changed %v", got)
	}
	if n := o.assumed(memberAccount); n != 1 {
		t.Errorf("assumed the member role %d times, want 1", n)
	}
}
