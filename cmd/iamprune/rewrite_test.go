package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
	"github.com/iamprune/iamprune/policy"
)

// TestRewritePolicyApplyRollback rewrites the demo's principals with
// UnusedPermission findings in place through the emulator: the plan holds
// the exact documents, apply writes them and nothing else, a second apply
// writes nothing, and rollback restores the account exactly.
func TestRewritePolicyApplyRollback(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	cfg := filepath.Join("testdata", "rewrite-policy", "iamprune.yaml")
	args := func(a ...string) []string {
		out := append(a, "--config", cfg, "--state", acct.state)
		if a[0] != "plan" {
			out = append(out, "--audit-log", filepath.Join(acct.dir, "audit.jsonl"))
		}
		if a[0] != "rollback" {
			out = append(out, "--now", demoNow)
		}
		return out
	}
	before := acct.dump(t)

	p := decodePlan(t, runCLI(t, args("plan", "-o", "json")...))
	rewrites := map[string]iamprune.Action{}
	for _, a := range p.Actions {
		if a.Kind == iamprune.KindRewritePolicy {
			rewrites[a.Target] = a
		}
	}
	for _, who := range []string{"WebAppRole", "ci-deployer"} {
		a, ok := rewrites[who]
		if !ok || len(a.Policies) == 0 {
			t.Fatalf("no rewrite planned for %s: %v", who, rewrites)
		}
		// Every planned document drops the entry's services and keeps
		// what else was allowed.
		for _, c := range a.Policies {
			before, err := policy.Parse(c.Before)
			if err != nil {
				t.Fatal(err)
			}
			var after []policy.Document
			for _, d := range c.After {
				doc, err := policy.Parse(d)
				if err != nil {
					t.Fatal(err)
				}
				after = append(after, doc)
			}
			unused := map[string]bool{}
			for _, svc := range a.Services {
				unused[svc] = true
			}
			for _, svc := range catalog.Services() {
				for _, act := range catalog.Actions(svc) {
					was, is := policy.Allowed([]policy.Document{before}, act.String()), policy.Allowed(after, act.String())
					switch {
					case is && !was:
						t.Fatalf("%s %s: refinement broadened %s", who, c.Name, act)
					case is && unused[svc]:
						t.Fatalf("%s %s still allows %s", who, c.Name, act)
					case was && !is && !unused[svc]:
						t.Fatalf("%s %s lost %s, which is in use", who, c.Name, act)
					}
				}
			}
		}
	}

	r := runCLI(t, args("apply", "--yes", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("apply exit %d: %s\n%s", r.code, r.stdout, r.stderr)
	}
	res := decodeRun(t, r)
	n := 0
	for _, a := range res.Results {
		if a.Kind != iamprune.KindRewritePolicy {
			continue
		}
		n++
		if a.Status != iamprune.ResultDone || !strings.Contains(a.Detail, "rewrote the policies of "+a.Target) {
			t.Errorf("%s: %s %s", a.Target, a.Status, a.Detail)
		}
	}
	if n != len(rewrites) {
		t.Errorf("%d rewrites applied, want %d", n, len(rewrites))
	}
	after := acct.dump(t)
	c := changed(t, before, after)
	// WebAppPolicy is attached to WebAppRole only: it gets a new default
	// version; ci-deployer's inline policy is rewritten.
	for _, want := range []string{"Policies/arn:aws:iam::111122223333:policy/WebAppPolicy", "Users/ci-deployer"} {
		if !strings.Contains(strings.Join(c, " "), want) {
			t.Errorf("%s unchanged: %v", want, c)
		}
	}

	writes := len(acct.srv.Writes())
	again := decodeRun(t, runCLI(t, args("apply", "--yes", "-o", "json")...))
	for _, a := range again.Results {
		if a.Kind == iamprune.KindRewritePolicy && a.Status != iamprune.ResultAlreadyDone {
			t.Errorf("second apply: %s %s", a.Target, a.Status)
		}
	}
	if w := acct.srv.Writes()[writes:]; len(w) != 0 {
		t.Errorf("second apply wrote %v", w)
	}

	r = runCLI(t, args("rollback", res.RunID, "--yes", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("rollback exit %d: %s\n%s", r.code, r.stdout, r.stderr)
	}
	var others []string
	for _, d := range changed(t, before, acct.dump(t)) {
		if !strings.HasPrefix(d, "LoginProfiles/") { // recreated by other kinds' rollback
			others = append(others, d)
		}
	}
	if len(others) != 0 {
		t.Errorf("after rollback these differ: %v", others)
	}
}

// The walkthrough of docs/least-privilege.md plans what it shows, offline.
func TestLeastPrivilegeWalkthrough(t *testing.T) {
	t.Parallel()
	noAWS(t)
	root := repoRoot(t)
	r := runCLI(t, "plan", "--snapshot", filepath.Join(root, "examples", "demo", "snapshot"),
		"--config", filepath.Join(root, "examples", "demo", "least-privilege.yaml"), "--now", demoNow)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"rewrite-policy         WebAppRole                      ec2             200d    2026-09-09    1 service unused for 200 days (limit 120): ec2; policies: WebAppPolicy (new-version)",
		"policies: PublishDeployEvents (delete-inline); group policies are never changed (groups: ci)",
		"Policy changes: 2 policies",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
}

// A saved plan is applied with the config it was made with, unless another
// is named: its guards (protection, exceptions, allowlist) are re-checked
// against the same rules.
func TestSavedPlanKeepsItsConfig(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	cfg := filepath.Join("testdata", "rewrite-policy", "iamprune.yaml")
	planFile := filepath.Join(acct.dir, "plan.json")
	if r := runCLI(t, "plan", "--config", cfg, "--now", demoNow, "--state", acct.state, "--out", planFile, "-o", "json"); r.code != 0 {
		t.Fatalf("plan: %s", r.stderr)
	}
	r := runCLI(t, "apply", planFile, "--now", demoNow, "--state", acct.state, "--yes", "--audit-log", filepath.Join(acct.dir, "audit.jsonl"))
	if r.code != 0 || !strings.Contains(r.stderr, "using the config the plan was made with") || !strings.Contains(r.stderr, cfg) {
		t.Errorf("apply: exit %d\n%s", r.code, r.stderr)
	}
}
