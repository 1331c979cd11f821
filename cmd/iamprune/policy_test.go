package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updatePolicy = flag.Bool("update-policy", false, "rewrite testdata/policy-refine golden files")

func policyFixture(name string) string { return filepath.Join("testdata", "policy-refine", name) }

func TestPolicyRefine(t *testing.T) {
	pol := policyFixture("policy.json")
	base := []string{"policy", "refine", "--policy", pol, "--now", "2026-11-28"}
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string // stdout must equal this file
		stderr string // a substring of stderr
	}{
		{"last-accessed json", []string{"--usage", policyFixture("last-accessed.json"), "--older-than", "90"}, 0, "want-last-accessed.json", ""},
		{"finding diff", []string{"--usage", policyFixture("finding.json"), "--older-than", "90", "-o", "diff"}, 0, "want-finding.diff", ""},
		// Within a year nothing is unused but the never-used actions.
		{"finding json, long threshold", []string{"--usage", policyFixture("finding.json"), "--older-than", "365"}, 0, "want-finding-365.json", ""},
		{"no change, empty diff", []string{"--policy", policyFixture("used-policy.json"), "--usage", policyFixture("last-accessed.json"), "--older-than", "90", "-o", "diff"}, 0, "", ""},
		{"bad policy", []string{"--policy", policyFixture("bad-policy.json"), "--usage", policyFixture("finding.json"), "--older-than", "90"}, 2, "",
			"--policy " + policyFixture("bad-policy.json") + ": policy: Statement[1].Action: must be a string or a list of strings"},
		{"missing policy", []string{"--policy", policyFixture("nope.json"), "--usage", policyFixture("finding.json"), "--older-than", "90"}, 2, "",
			"--policy " + policyFixture("nope.json") + ": file does not exist"},
		{"bad usage", []string{"--usage", policyFixture("bad-usage.json"), "--older-than", "90"}, 2, "",
			"--usage " + policyFixture("bad-usage.json") + `: usage: ServicesLastAccessed[0].LastAuthenticated: "last week" is not an RFC 3339 time`},
		{"two usage entries", []string{"--usage", policyFixture("two-entries.json"), "--older-than", "90"}, 2, "", "a list of 2 entries"},
		{"not a permission finding", []string{"--usage", policyFixture("role-finding.json"), "--older-than", "90"}, 2, "", `findingType: "UnusedIAMRole" is not UnusedPermission`},
		{"usage of neither kind", []string{"--usage", policyFixture("neither.json"), "--older-than", "90"}, 2, "", "neither a GetFindingV2 output (findingDetails) nor a last-accessed.json entry (ServicesLastAccessed)"},
		{"no older-than", []string{"--usage", policyFixture("finding.json")}, 2, "", `required flag(s) "older-than" not set`},
		{"zero older-than", []string{"--usage", policyFixture("finding.json"), "--older-than", "0"}, 2, "", "--older-than: must be at least 1 day"},
		{"bad output", []string{"--usage", policyFixture("finding.json"), "--older-than", "90", "-o", "yaml"}, 2, "", `--output: "yaml" is not json or diff`},
		{"bad now", []string{"--usage", policyFixture("finding.json"), "--older-than", "90", "--now", "soon"}, 2, "", "--now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append(append([]string{}, base...), tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.stderr)
			}
			if tt.golden == "" {
				if r.stdout != "" {
					t.Errorf("stdout = %q, want nothing", r.stdout)
				}
				return
			}
			path := policyFixture(tt.golden)
			if *updatePolicy {
				if err := os.WriteFile(path, []byte(r.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if r.stdout != string(want) {
				t.Errorf("stdout differs from %s:\n%s", path, r.stdout)
			}
		})
	}
}

// Refining everything away warns that the policy should go, not be written.
func TestPolicyRefineEverythingUnused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pol := filepath.Join(dir, "p.json")
	usage := filepath.Join(dir, "u.json")
	if err := os.WriteFile(pol, []byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(usage, []byte(`[{"Arn":"arn:aws:iam::111122223333:role/r","ServicesLastAccessed":[{"ServiceNamespace":"kms"}]}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "policy", "refine", "--policy", pol, "--usage", usage, "--older-than", "30")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if want := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "every statement was removed") {
		t.Errorf("stderr = %q, want a warning", r.stderr)
	}
}
