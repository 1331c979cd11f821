package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

const demoNow = "2026-11-28T00:00:00Z"

func demoPaths(t *testing.T) (snap, cfg string) {
	root := repoRoot(t)
	return filepath.Join(root, "examples", "demo", "snapshot"), filepath.Join(root, "examples", "demo", "iamprune.yaml")
}

func decodePlan(t *testing.T, r result) iamprune.Plan {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var p iamprune.Plan
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("plan is not JSON: %v\n%s", err, r.stdout)
	}
	return p
}

// The plan read straight from a snapshot and the plan read through the AWS
// API from the emulator serving that snapshot must be identical, and the API
// path must never repeat a call. The edge snapshot adds URL-encoded policy
// documents, an unknown finding type and an unknown findingDetails member,
// which both paths skip with the same warnings.
func TestPlanSnapshotEqualsAPIThroughEmulator(t *testing.T) {
	t.Parallel()
	noAWS(t) // the offline plans read a fresh state store, never the default one
	snapDir, cfgPath := demoPaths(t)
	tests := []struct {
		name, dir string
		args      []string
		warnings  int
	}{
		{"demo", snapDir, []string{"--config", cfgPath}, 0},
		{"edge", filepath.Join("testdata", "edge"), nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			common := append([]string{"--now", demoNow, "-o", "json"}, tt.args...)
			offline := decodePlan(t, runCLI(t, append([]string{"plan", "--snapshot", tt.dir}, common...)...))

			snap, err := snapshot.LoadDir(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			// A tiny page size forces every paginated call onto several
			// pages, and injected throttling exercises the retryer.
			srv, cfg := emulatortest.Start(t, snap, emulator.Options{PageSize: 2, ThrottleEvery: 20})
			inject(t, aws.ToString(cfg.BaseEndpoint), nil)

			online := decodePlan(t, runCLI(t, append([]string{"plan"}, common...)...))

			if len(offline.Actions) == 0 {
				t.Fatal("the plan is empty")
			}
			if !reflect.DeepEqual(offline.Actions, online.Actions) {
				a, _ := json.MarshalIndent(offline.Actions, "", " ")
				b, _ := json.MarshalIndent(online.Actions, "", " ")
				t.Fatalf("snapshot plan and API plan differ\nsnapshot:\n%s\napi:\n%s", a, b)
			}
			// Warning sources differ by design (file index vs finding id); the
			// messages must not.
			if len(offline.Warnings) != tt.warnings || offline.Findings != online.Findings ||
				!reflect.DeepEqual(warningMessages(offline), warningMessages(online)) {
				t.Errorf("findings/warnings: snapshot %d %v, api %d %v (want %d warnings)",
					offline.Findings, offline.Warnings, online.Findings, online.Warnings, tt.warnings)
			}
			if d := srv.Duplicates(); len(d) > 0 {
				t.Errorf("AWS calls repeated in one run: %+v", d)
			}
			if len(srv.Throttled()) == 0 {
				t.Error("no request was throttled: the retry path went untested")
			}
			assertCallBudget(t, snap, srv)
		})
	}
}

func warningMessages(p iamprune.Plan) []string {
	var m []string
	for _, w := range p.Warnings {
		m = append(m, w.Message)
	}
	return m
}

// assertCallBudget checks the number of calls per operation against what the
// snapshot requires: one discovery, one GetFindingV2 sequence per finding
// whose last use IAM cannot give (every key and permission finding; roles
// and passwords IAM has no use of), one
// authorization-details sequence, one credential report, one
// ListAccessKeys per user with a key finding, and one GetCallerIdentity.
// Keys and passwords are read on their own only where the report cannot
// answer, never more than once each.
func assertCallBudget(t *testing.T, snap *snapshot.Snapshot, srv *emulator.Server) {
	t.Helper()
	got := map[string]int{}
	firstPages := map[string]int{} // paginated calls without a Marker or nextToken
	for _, c := range srv.Calls() {
		got[c.Operation]++
		if v, err := url.ParseQuery(c.Params); err == nil && v.Get("Marker") == "" && !strings.Contains(c.Params, "nextToken") {
			firstPages[c.Operation]++
		}
	}
	active, keyUsers, pwdUsers := 0, map[string]bool{}, map[string]bool{}
	existing, names, roleUsed := map[string]bool{}, map[string]string{}, map[string]bool{}
	for _, u := range snap.Auth.UserDetailList {
		existing[u.Arn] = true
		names[u.Arn] = u.UserName
	}
	for _, r := range snap.Auth.RoleDetailList {
		existing[r.Arn] = true
		roleUsed[r.Arn] = r.RoleLastUsed != nil && r.RoleLastUsed.LastUsedDate != nil
	}
	report := srv.CredentialReport()
	fromIAM := 0
	for _, f := range snap.FindingList {
		if f.Status != "ACTIVE" {
			continue
		}
		active++
		if !existing[f.Resource] {
			continue
		}
		switch f.FindingType {
		case string(iamprune.UnusedIAMUserAccessKey):
			keyUsers[f.Resource] = true
		case string(iamprune.UnusedIAMUserPassword):
			pwdUsers[f.Resource] = true
			if row := reportRow(report, f.Resource); row != nil {
				if last, _ := row.PasswordUse(); last != nil && (f.UpdatedAt == nil || !report.GeneratedTime.Before(*f.UpdatedAt)) {
					fromIAM++
				}
			}
		case string(iamprune.UnusedIAMRole):
			if roleUsed[f.Resource] {
				fromIAM++
			}
		}
	}
	if got["GetCallerIdentity"] != 1 {
		t.Errorf("GetCallerIdentity called %d times, want 1", got["GetCallerIdentity"])
	}
	if got["ListAnalyzers"] < 1 || got["ListFindingsV2"] < 1 || got["GetAccountAuthorizationDetails"] < 1 {
		t.Errorf("missing discovery or listing calls: %v", got)
	}
	if firstPages["GetFindingV2"] != active-fromIAM {
		t.Errorf("GetFindingV2 read %d findings of %d active, want %d (the rest from IAM)", firstPages["GetFindingV2"], active, active-fromIAM)
	}
	if firstPages["GetAccountAuthorizationDetails"] != 1 {
		t.Errorf("GetAccountAuthorizationDetails read %d times, want once", firstPages["GetAccountAuthorizationDetails"])
	}
	if got["GetCredentialReport"] != 1 || got["GenerateCredentialReport"] < 1 || got["GenerateCredentialReport"] > 3 {
		t.Errorf("credential report: %d generate, %d get calls; want one report", got["GenerateCredentialReport"], got["GetCredentialReport"])
	}
	if firstPages["ListAccessKeys"] != len(keyUsers) {
		t.Errorf("ListAccessKeys read %d times, want once per user with a key finding (%d)", firstPages["ListAccessKeys"], len(keyUsers))
	}
	// Per-item reads only where the report cannot answer: at most what
	// reading every item would take.
	keys := 0
	for _, k := range snap.AccessKeys {
		for arn := range keyUsers {
			if names[arn] == k.UserName {
				keys++
			}
		}
	}
	if got["GetAccessKeyLastUsed"] > keys || got["GetLoginProfile"] > len(pwdUsers) || got["GetUser"] > got["GetLoginProfile"] {
		t.Errorf("per-item reads: %d GetAccessKeyLastUsed (of %d keys), %d GetLoginProfile and %d GetUser (of %d users)",
			got["GetAccessKeyLastUsed"], keys, got["GetLoginProfile"], got["GetUser"], len(pwdUsers))
	}
	for op := range got {
		switch op {
		case "GetCallerIdentity", "ListAnalyzers", "ListFindingsV2", "GetFindingV2", "GetAccountAuthorizationDetails",
			"GenerateCredentialReport", "GetCredentialReport", "ListAccessKeys", "GetAccessKeyLastUsed", "GetLoginProfile", "GetUser":
		default:
			t.Errorf("unexpected call %s", op)
		}
	}
}

func reportRow(r *iamprune.CredentialReport, arn string) *iamprune.CredentialReportUser {
	for i := range r.Users {
		if r.Users[i].ARN == arn {
			return &r.Users[i]
		}
	}
	return nil
}

// Every documented plan kind shows up in the demo plan, where each demo
// principal gets the kind examples/README.md promises.
func TestPlanDemoSnapshotKinds(t *testing.T) {
	t.Parallel()
	noAWS(t)
	snapDir, _ := demoPaths(t)
	cfgPath := filepath.Join("testdata", "no-prior-notice", "iamprune.yaml")
	p := decodePlan(t, runCLI(t, "plan", "--snapshot", snapDir, "--config", cfgPath, "--now", demoNow, "-o", "json"))
	kinds := map[iamprune.ActionKind]bool{}
	for _, a := range p.Actions {
		kinds[a.Kind] = true
		if a.Services == nil {
			t.Errorf("%s: services is null", a.ID)
		}
	}
	for _, k := range []iamprune.ActionKind{iamprune.KindNotify, iamprune.KindDeactivateAccessKey, iamprune.KindDeleteLoginProfile,
		iamprune.KindQuarantineRole, iamprune.KindDenyUnusedServices, iamprune.KindExempt, iamprune.KindProtected, iamprune.KindSkip} {
		if !kinds[k] {
			t.Errorf("the demo plan has no %s action", k)
		}
	}
}

func TestPlanOutputsRenderTheSamePlan(t *testing.T) {
	t.Parallel()
	noAWS(t)
	snapDir, cfgPath := demoPaths(t)
	p := decodePlan(t, runCLI(t, "plan", "--snapshot", snapDir, "--config", cfgPath, "--now", demoNow, "-o", "json"))
	for _, format := range []string{"table", "markdown"} {
		r := runCLI(t, "plan", "--snapshot", snapDir, "--config", cfgPath, "--now", demoNow, "-o", format)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", format, r.code, r.stderr)
		}
		for _, a := range p.Actions {
			if !strings.Contains(r.stdout, a.Principal) {
				t.Errorf("%s output lacks principal %s", format, a.Principal)
			}
		}
	}
}

func TestPlanBadInputExitsTwo(t *testing.T) {
	t.Parallel()
	noAWS(t)
	snapDir, cfgPath := demoPaths(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badCfg := write("bad.yaml", "analyzer: auto\nrules:\n  UnusedIAMRole:\n    remediate_after_dayz: 10\n")
	badExc := write("bad.txt", "# ok\narn:aws:iam::111122223333:role/Forensics\nnot-an-arn\n")
	brokenSnap := filepath.Join(dir, "snap")
	if err := os.MkdirAll(brokenSnap, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"meta.json", "account-authorization-details.json", "access-keys.json", "login-profiles.json"} {
		b, err := os.ReadFile(filepath.Join(snapDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(brokenSnap, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A truncated findings.json.
	b, err := os.ReadFile(filepath.Join(snapDir, "findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(brokenSnap, "findings.json"), b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown config key", []string{"plan", "--snapshot", snapDir, "--config", badCfg}, []string{"bad.yaml:4", "remediate_after_dayz"}},
		{"bad exceptions line", []string{"plan", "--snapshot", snapDir, "--exceptions", badExc}, []string{"bad.txt:3", "not-an-arn"}},
		{"truncated findings", []string{"plan", "--snapshot", brokenSnap}, []string{"findings.json"}},
		{"missing snapshot", []string{"plan", "--snapshot", filepath.Join(dir, "nope")}, []string{"nope"}},
		{"bad --now", []string{"plan", "--snapshot", snapDir, "--now", "yesterday"}, []string{"--now", "yesterday"}},
		{"bad output", []string{"plan", "--snapshot", snapDir, "-o", "yaml"}, []string{"yaml"}},
		{"snapshot and analyzer", []string{"plan", "--snapshot", snapDir, "--analyzer", "auto", "--config", cfgPath}, []string{"--snapshot", "--analyzer"}},
		{"unknown flag", []string{"plan", "--frobnicate"}, []string{"frobnicate"}},
		{"bad source", []string{"plan", "--snapshot", snapDir, "--source", "cloudtrail"}, []string{"--source", "cloudtrail"}},
		{"missing config", []string{"plan", "--snapshot", snapDir, "--config", filepath.Join(dir, "none.yaml")}, []string{"none.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstderr: %s", r.code, r.stderr)
			}
			if strings.TrimSpace(r.stdout) != "" {
				t.Errorf("a failed plan printed output:\n%s", r.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not mention %q", r.stderr, w)
				}
			}
		})
	}
}

func TestDemoRunsThroughTheAPI(t *testing.T) {
	t.Parallel()
	noAWS(t)
	r := runCLI(t, "demo")
	if r.code != 0 {
		t.Fatalf("demo exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"== 1. plan (2026-11-28)", "0 repeated", "Notices: 3 digest(s) sent.", "iamprune: 4 items for payments",
		"== 3. a week later (2026-12-05)", "6 done, 0 already done, 0 skipped, 0 failed",
		"access key AKIAP2J3ADGM2EXAMPLE is Inactive", "6 of 6 already done, 0 IAM write calls", "== 6. rollback",
		"differs only in: LoginProfiles/bob, LoginProfiles/erin", "never stored",
		"== 7. plan again: a rollback sticks", "6 rolled-back item(s) are planned exempt, held until 2027-01-04 (holds.days: 30)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	// The demo's JSON plan equals the offline plan of the same files.
	snapDir, cfgPath := demoPaths(t)
	demo := decodePlan(t, runCLI(t, "demo", "-o", "json"))
	offline := decodePlan(t, runCLI(t, "plan", "--snapshot", snapDir, "--config", cfgPath, "--now", demoNow, "-o", "json"))
	// Reasons name exception files by the path they were read from.
	root := filepath.Clean(repoRoot(t)) + string(filepath.Separator)
	for i := range offline.Actions {
		offline.Actions[i].Reason = strings.ReplaceAll(offline.Actions[i].Reason, root, "")
	}
	if !reflect.DeepEqual(demo.Actions, offline.Actions) {
		a, _ := json.MarshalIndent(demo.Actions, "", " ")
		b, _ := json.MarshalIndent(offline.Actions, "", " ")
		t.Errorf("demo plan differs from the offline plan of examples/demo\ndemo:\n%s\noffline:\n%s", a, b)
	}
}
