package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

// account is a test account: the emulator serving the demo snapshot, the
// SDK pointed at it, and a fresh state store.
type account struct {
	srv   *emulator.Server
	url   string
	state string
	dir   string // holds the audit log
	iam   *iam.Client
}

func newAccount(t *testing.T) *account {
	t.Helper()
	a := startAccount(t)
	inject(t, a.url, nil)
	return a
}

// newProcessAccount is newAccount for tests that start the binary as a
// subprocess: it sets the process environment, so the test stays serial.
func newProcessAccount(t *testing.T) *account {
	t.Helper()
	isolateAWS(t)
	a := startAccount(t)
	t.Setenv("AWS_ENDPOINT_URL", a.url)
	return a
}

func startAccount(t *testing.T) *account {
	t.Helper()
	snapDir, _ := demoPaths(t)
	snap, err := snapshot.LoadDir(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	srv, cfg := emulatortest.Start(t, snap, emulator.Options{})
	url := aws.ToString(cfg.BaseEndpoint)
	client := iam.NewFromConfig(cfg)
	dir := t.TempDir()
	return &account{srv: srv, url: url, state: filepath.Join(dir, "state.db"), dir: dir, iam: client}
}

// args appends the flags every apply-family command of a test needs.
func (a *account) args(t *testing.T, args ...string) []string {
	cfg := filepath.Join("testdata", "no-prior-notice", "iamprune.yaml")
	out := append([]string{}, args...)
	if args[0] == "apply" || args[0] == "plan" {
		out = append(out, "--config", cfg, "--now", demoNow)
	}
	out = append(out, "--state", a.state)
	if args[0] != "plan" && args[0] != "history" {
		out = append(out, "--audit-log", filepath.Join(a.dir, "audit.jsonl"))
	}
	return out
}

func (a *account) dump(t *testing.T) []byte {
	t.Helper()
	b, err := a.srv.Dump()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// changed lists the IAM entities that differ between two dumps.
func changed(t *testing.T, before, after []byte) []string {
	t.Helper()
	d, err := emulator.DumpDiff(before, after)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func decodeRun(t *testing.T, r result) iamprune.RunResult {
	t.Helper()
	var res iamprune.RunResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("exit %d, stdout is not a run result: %v\nstdout:\n%s\nstderr:\n%s", r.code, err, r.stdout, r.stderr)
	}
	return res
}

func statuses(res iamprune.RunResult) map[string]string {
	m := map[string]string{}
	for _, a := range res.Results {
		m[string(a.Kind)+" "+a.Target] = a.Status
	}
	return m
}

// The demo's remediations, as "kind target".
var demoRemediations = []string{
	"deactivate-access-key AKIAP2J3ADGM2EXAMPLE",
	"delete-login-profile bob",
	"delete-login-profile erin",
	"deny-unused-services WebAppRole",
	"deny-unused-services ci-deployer",
	"quarantine-role LegacyBatchRole",
}

// The entities those remediations change, and nothing else.
var demoChanged = []string{
	"AccessKeys/AKIAP2J3ADGM2EXAMPLE",
	"LoginProfiles/bob",
	"LoginProfiles/erin",
	"Roles/LegacyBatchRole",
	"Roles/WebAppRole",
	"Users/ci-deployer",
}

// apply changes exactly the plan's remediation entries, a second apply is a
// no-op without write calls, and rollback restores the account.
func TestApplyIdempotentAndRollback(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	before := acct.dump(t)

	r := runCLI(t, acct.args(t, "apply", "--yes", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("apply exit %d: %s", r.code, r.stderr)
	}
	res := decodeRun(t, r)
	got := statuses(res)
	if len(got) != len(demoRemediations) {
		t.Errorf("results %v, want exactly %v", got, demoRemediations)
	}
	for _, k := range demoRemediations {
		if got[k] != iamprune.ResultDone {
			t.Errorf("%s: %q, want done", k, got[k])
		}
	}
	after := acct.dump(t)
	if c := changed(t, before, after); !slices.Equal(c, demoChanged) {
		t.Errorf("apply changed %v, want exactly %v", c, demoChanged)
	}
	checkRemediated(t, acct.iam)

	// Again: nothing to do, no write call.
	writes := len(acct.srv.Writes())
	r = runCLI(t, acct.args(t, "apply", "--yes", "-o", "json")...)
	again := decodeRun(t, r)
	for _, a := range again.Results {
		if a.Status != iamprune.ResultAlreadyDone {
			t.Errorf("second apply: %s %s is %s, want already-done", a.Kind, a.Target, a.Status)
		}
	}
	if n := len(acct.srv.Writes()) - writes; n != 0 {
		t.Errorf("second apply made %d write calls: %v", n, acct.srv.Writes()[writes:])
	}
	if c := changed(t, after, acct.dump(t)); len(c) != 0 {
		t.Errorf("second apply changed %v", c)
	}

	// Roll back: the account is as before, but for the two login profiles,
	// which come back new, with a one-time password to change.
	r = runCLI(t, acct.args(t, "rollback", res.RunID, "--yes", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("rollback exit %d: %s", r.code, r.stderr)
	}
	rb := decodeRun(t, r)
	for _, a := range rb.Results {
		if a.Status != iamprune.ResultDone {
			t.Errorf("rollback %s %s: %s (%s)", a.Kind, a.Target, a.Status, a.Detail)
		}
	}
	if c := changed(t, before, acct.dump(t)); !slices.Equal(c, []string{"LoginProfiles/bob", "LoginProfiles/erin"}) {
		t.Errorf("after rollback these differ from before apply: %v, want only the recreated login profiles", c)
	}
	for _, u := range []string{"bob", "erin"} {
		lp, err := acct.iam.GetLoginProfile(context.Background(), &iam.GetLoginProfileInput{UserName: aws.String(u)})
		if err != nil || !lp.LoginProfile.PasswordResetRequired {
			t.Errorf("%s: login profile %v, %v; want recreated with PasswordResetRequired", u, lp, err)
		}
	}
	// The one-time passwords were shown, and never stored or logged.
	secrets := 0
	for _, a := range rb.Results {
		if _, pw, ok := strings.Cut(a.Detail, "never stored): "); ok {
			secrets++
			for _, f := range []string{acct.state, filepath.Join(acct.dir, "audit.jsonl")} {
				b, _ := os.ReadFile(f)
				if strings.Contains(string(b), strings.TrimSpace(pw)) {
					t.Errorf("the one-time password of %s is in %s", a.Target, f)
				}
			}
		}
	}
	if secrets != 2 {
		t.Errorf("%d one-time passwords shown, want 2", secrets)
	}

	// A second rollback is a no-op.
	writes = len(acct.srv.Writes())
	rb2 := decodeRun(t, runCLI(t, acct.args(t, "rollback", res.RunID, "--yes", "-o", "json")...))
	for _, a := range rb2.Results {
		if a.Status != iamprune.ResultAlreadyDone {
			t.Errorf("second rollback: %s %s is %s", a.Kind, a.Target, a.Status)
		}
	}
	if n := len(acct.srv.Writes()) - writes; n != 0 {
		t.Errorf("second rollback made %d write calls", n)
	}

	// history shows both runs; a plan after the rollback no longer shows the
	// changes as done (they are held: holds_test.go).
	h := runCLI(t, acct.args(t, "history", "-o", "json")...)
	if h.code != 0 || strings.Count(h.stdout, `"run_id"`) != 4 {
		t.Errorf("history: exit %d\n%s", h.code, h.stdout)
	}
	p := decodePlan(t, runCLI(t, acct.args(t, "plan", "-o", "json")...))
	for _, a := range p.Actions {
		if a.Done != nil {
			t.Errorf("after rollback, %s %s still shows as done", a.Kind, a.Target)
		}
	}
}

// checkRemediated reads the account back through the IAM API.
func checkRemediated(t *testing.T, c *iam.Client) {
	t.Helper()
	ctx := context.Background()
	keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.AccessKeyMetadata {
		want := iamtypes.StatusTypeActive
		if aws.ToString(k.AccessKeyId) == "AKIAP2J3ADGM2EXAMPLE" {
			want = iamtypes.StatusTypeInactive
		}
		if k.Status != want {
			t.Errorf("alice's key %s is %s, want %s", aws.ToString(k.AccessKeyId), k.Status, want)
		}
	}
	var nse *iamtypes.NoSuchEntityException
	if _, err := c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("bob")}); !errors.As(err, &nse) {
		t.Errorf("bob's login profile still exists: %v", err)
	}
	denied := func(list func() ([]string, error), get func(string) (string, error)) string {
		names, err := list()
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for _, n := range names {
			if strings.HasPrefix(n, "iamprune-") {
				doc, err := get(n)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, doc)
			}
		}
		return strings.Join(all, "\n")
	}
	role := denied(func() ([]string, error) {
		o, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("WebAppRole")})
		if err != nil {
			return nil, err
		}
		return o.PolicyNames, nil
	}, func(n string) (string, error) {
		o, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("WebAppRole"), PolicyName: aws.String(n)})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.PolicyDocument), nil
	})
	if !strings.Contains(role, "ec2%3A%2A") && !strings.Contains(role, "ec2:*") {
		t.Errorf("WebAppRole's iamprune policies do not deny ec2:*: %q", role)
	}
	// The deny for a user goes into a user policy (the reference Lambda
	// called PutRolePolicy with the user's name).
	user := denied(func() ([]string, error) {
		o, err := c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("ci-deployer")})
		if err != nil {
			return nil, err
		}
		return o.PolicyNames, nil
	}, func(n string) (string, error) {
		o, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("ci-deployer"), PolicyName: aws.String(n)})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.PolicyDocument), nil
	})
	for _, s := range []string{"sns", "sqs"} {
		if !strings.Contains(user, s+"%3A%2A") && !strings.Contains(user, s+":*") {
			t.Errorf("ci-deployer's iamprune policies do not deny %s:*: %q", s, user)
		}
	}
	pols, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("LegacyBatchRole")})
	if err != nil || !slices.Contains(pols.PolicyNames, "iamprune-quarantine") {
		t.Errorf("LegacyBatchRole is not quarantined: %v %v", pols, err)
	}
	tags, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("LegacyBatchRole")})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tg := range tags.Tags {
		found = found || aws.ToString(tg.Key) == "iamprune:quarantined-at"
	}
	if !found {
		t.Errorf("LegacyBatchRole has no quarantine tag: %v", tags.Tags)
	}
}

// A saved plan is applied exactly, and refused when stale.
func TestApplySavedPlan(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.json")
	if r := runCLI(t, acct.args(t, "plan", "--out", planFile, "-o", "json")...); r.code != 0 {
		t.Fatalf("plan --out: %s", r.stderr)
	}

	// The key is used after the plan was made: the plan is stale.
	if err := acct.srv.MarkAccessKeyUsed("AKIAP2J3ADGM2EXAMPLE", time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	writes := len(acct.srv.Writes())
	r := runCLI(t, acct.args(t, "apply", planFile, "--yes", "-o", "json")...)
	res := decodeRun(t, r)
	if r.code != 1 || !strings.Contains(res.Refused, "stale") {
		t.Errorf("stale plan: exit %d, refused %q", r.code, res.Refused)
	}
	if n := len(acct.srv.Writes()) - writes; n != 0 {
		t.Errorf("a stale plan made %d write calls", n)
	}

	// A fresh saved plan applies exactly its entries.
	if r := runCLI(t, acct.args(t, "plan", "--out", planFile, "-o", "json")...); r.code != 0 {
		t.Fatalf("plan --out: %s", r.stderr)
	}
	res = decodeRun(t, runCLI(t, acct.args(t, "apply", planFile, "--yes", "-o", "json")...))
	got := statuses(res)
	for _, k := range demoRemediations {
		want := iamprune.ResultDone
		if k == "deactivate-access-key AKIAP2J3ADGM2EXAMPLE" {
			continue // used since: the new plan does not remediate it
		}
		if got[k] != want {
			t.Errorf("%s: %q, want %s", k, got[k], want)
		}
	}
	if _, ok := got["deactivate-access-key AKIAP2J3ADGM2EXAMPLE"]; ok {
		t.Error("a key used since the finding was acted on")
	}
}

// A protected principal slipped into a saved plan is never touched.
func TestApplyTamperedPlanSparesProtected(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	planFile := filepath.Join(t.TempDir(), "plan.json")
	if r := runCLI(t, acct.args(t, "plan", "--out", planFile, "-o", "json")...); r.code != 0 {
		t.Fatalf("plan --out: %s", r.stderr)
	}
	b, _ := os.ReadFile(planFile)
	var p iamprune.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	var kept []iamprune.Action
	for _, a := range p.Actions {
		if a.Kind == iamprune.KindProtected && a.FindingType == iamprune.UnusedIAMRole {
			a.Kind = iamprune.KindQuarantineRole
			a.Basis = &iamprune.Basis{LastUsed: a.LastAccessed}
			kept = append(kept, a)
		}
	}
	if len(kept) < 3 {
		t.Fatalf("want the demo's protected roles, got %d", len(kept))
	}
	p.Actions = kept
	b, _ = json.Marshal(p)
	if err := os.WriteFile(planFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	before := acct.dump(t)
	res := decodeRun(t, runCLI(t, acct.args(t, "apply", planFile, "--yes", "-o", "json")...))
	for _, a := range res.Results {
		if a.Status != iamprune.ResultSkipped || !strings.Contains(a.Detail, "protected") {
			t.Errorf("%s %s: %s %q, want skipped as protected", a.Kind, a.Target, a.Status, a.Detail)
		}
	}
	if c := changed(t, before, acct.dump(t)); len(c) != 0 {
		t.Errorf("a tampered plan changed %v", c)
	}
}

func TestApplyGuards(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	before := acct.dump(t)
	dir := t.TempDir()
	otherAccount := filepath.Join(dir, "accounts.yaml")
	if err := os.WriteFile(otherAccount, []byte("accounts: [\"999999999999\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"blast radius", acct.args(t, "apply", "--yes", "--max-actions", "5"), 1, "max_actions_per_run"},
		{"no consent without a terminal", acct.args(t, "apply"), 2, "--yes"},
		{"account not allowed", append(acct.args(t, "apply", "--yes"), "--config", otherAccount), 1, "accounts allowlist"},
		{"snapshot", append(acct.args(t, "apply", "--yes"), "--snapshot", "testdata/edge"), 2, "emulator"},
		{"bad saved plan", acct.args(t, "apply", "testdata/edge/meta.json", "--yes"), 2, "meta.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s\n%s", r.code, tt.code, tt.want, r.stdout, r.stderr)
			}
		})
	}
	if w := acct.srv.Writes(); len(w) != 0 {
		t.Errorf("guarded applies made write calls: %v", w)
	}
	if c := changed(t, before, acct.dump(t)); len(c) != 0 {
		t.Errorf("guarded applies changed %v", c)
	}
}

// Two applies at once against one state store: each change is made once.
func TestConcurrentAppliesActOnce(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runCLI(t, acct.args(t, "apply", "--yes", "-o", "json")...)
		}()
	}
	wg.Wait()
	done := 0
	for _, r := range results {
		if r.code != 0 && !strings.Contains(r.stderr, "lock") {
			t.Errorf("exit %d without a lock conflict: %s", r.code, r.stderr)
			continue
		}
		if r.code == 0 {
			for _, a := range decodeRun(t, r).Results {
				if a.Status == iamprune.ResultDone {
					done++
				}
			}
		}
	}
	if done != len(demoRemediations) {
		t.Errorf("%d changes done across both runs, want %d", done, len(demoRemediations))
	}
	seen := map[string]int{}
	for _, w := range acct.srv.Writes() {
		seen[w.Operation+" "+w.Params]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("write made %d times: %s", n, k)
		}
	}
}

// A key iamprune deactivated is deleted once delete_after_days have passed
// since, and a rollback of the delete says it cannot be undone.
func TestDeleteAccessKeyAfterGracePeriod(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	cfg := filepath.Join(t.TempDir(), "iamprune.yaml")
	if err := os.WriteFile(cfg, []byte("rules:\n  UnusedIAMUserAccessKey: {action: delete-access-key, delete_after_days: 30}\nnotifications: {require_prior_notice: false}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	at := func(day string, args ...string) result {
		t.Helper()
		now, _ := time.Parse(time.DateOnly, day)
		var out, errb strings.Builder
		m := wire(t, &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: func() time.Time { return now }})
		args = append(args, "--state", acct.state, "-o", "json")
		if args[0] == "apply" {
			args = append(args, "--config", cfg, "--now", day)
		}
		code := m.Run(context.Background(), args)
		return result{stdout: out.String(), stderr: errb.String(), code: code}
	}
	kinds := func(r result) map[string]string {
		out := map[string]string{}
		for _, a := range decodeRun(t, r).Results {
			if a.Target == "AKIAP2J3ADGM2EXAMPLE" {
				out[string(a.Kind)] = a.Status
			}
		}
		return out
	}
	// Day 0: the key is deactivated, not deleted.
	if got := kinds(at("2026-11-28", "apply", "--yes", "--audit-log", filepath.Join(t.TempDir(), "a"))); got["deactivate-access-key"] != iamprune.ResultDone || len(got) != 1 {
		t.Fatalf("day 0: %v", got)
	}
	// Day 10: within the grace period, nothing new.
	if got := kinds(at("2026-12-08", "apply", "--yes", "--audit-log", filepath.Join(t.TempDir(), "a"))); got["deactivate-access-key"] != iamprune.ResultAlreadyDone {
		t.Errorf("day 10: %v", got)
	}
	// Day 31: deleted.
	r := at("2026-12-29", "apply", "--yes", "--audit-log", filepath.Join(t.TempDir(), "a"))
	if got := kinds(r); got["delete-access-key"] != iamprune.ResultDone {
		t.Fatalf("day 31: %v\n%s", got, r.stderr)
	}
	keys, err := acct.iam.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.AccessKeyMetadata {
		if aws.ToString(k.AccessKeyId) == "AKIAP2J3ADGM2EXAMPLE" {
			t.Error("the key still exists")
		}
	}
	// Rolling back the delete fails, and says why.
	run := decodeRun(t, r).RunID
	rb := at("2026-12-29", "rollback", run, "--yes", "--audit-log", filepath.Join(t.TempDir(), "a"))
	if rb.code != 1 || !strings.Contains(rb.stdout, "create-access-key") {
		t.Errorf("rollback of a delete: exit %d\n%s", rb.code, rb.stdout)
	}
}
