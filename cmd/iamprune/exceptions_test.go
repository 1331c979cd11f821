package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/render"
)

// runWithEnv runs the CLI in-process with the given environment.
func runWithEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	m := wire(t, &Main{
		Stdin:  bytes.NewReader(nil),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
		Now:    func() time.Time { return time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC) },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := m.Run(ctx, args)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func excFixture(parts ...string) string {
	return filepath.Join(append([]string{"testdata", "exceptions"}, parts...)...)
}

func TestExceptionsCheckExitCodes(t *testing.T) {
	t.Parallel()
	good, goodTxt := excFixture("good", "exceptions.yaml"), excFixture("good", "allowlist.txt")
	bad := excFixture("bad", "exceptions.yaml")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // every line of stdout, in order
		stderr string   // a substring of stderr
	}{
		{"good", []string{good, goodTxt}, 0, []string{"ok: 3 entries in 2 files"}, ""},
		{"bad", []string{bad}, 1, []string{
			bad + ":5: exceptions[0].expires: 2026-11-27 is in the past (today is 2026-11-28): extend it or remove the entry",
			bad + `:6: exceptions[1].principal: "arn:aws:iam::*:role/*" is too broad: the name after role/ needs at least 3 literal characters (not * or ?), it has 0`,
			bad + ":10: exceptions[2].owner: required: the team or person who answers for this exception",
			bad + `:11: exceptions[2].services[0]: "kmss" is not a known IAM service namespace`,
			"4 problems in 1 file",
		}, ""},
		// Good and bad together: entries are compared across files, and
		// the count names only the files with problems.
		{"mixed", []string{good, bad}, 1, []string{
			bad + ":2: exceptions[0].principal: duplicates the entry at " + good + ":2: same principal, both cover UnusedIAMRole",
			bad + ":5: exceptions[0].expires: 2026-11-27 is in the past (today is 2026-11-28): extend it or remove the entry",
			bad + `:6: exceptions[1].principal: "arn:aws:iam::*:role/*" is too broad: the name after role/ needs at least 3 literal characters (not * or ?), it has 0`,
			bad + ":10: exceptions[2].owner: required: the team or person who answers for this exception",
			bad + `:11: exceptions[2].services[0]: "kmss" is not a known IAM service namespace`,
			"5 problems in 1 file",
		}, ""},
		// Expiry is judged against --now: on the day after Forensics'
		// expiry, the good file fails too.
		{"now", []string{good, "--now", "2027-07-01"}, 1, []string{
			good + ":6: exceptions[0].expires: 2027-06-30 is in the past (today is 2027-07-01): extend it or remove the entry",
			good + ":13: exceptions[1].expires: 2026-12-20 is in the past (today is 2027-07-01): extend it or remove the entry",
			"2 problems in 1 file",
		}, ""},
		{"no files", nil, 2, nil, "no exception files"},
		{"missing file", []string{good, excFixture("nope.yaml")}, 2, nil, "exceptions file " + excFixture("nope.yaml") + " does not exist"},
		{"bad output", []string{good, "-o", "xml"}, 2, nil, `--output: "xml"`},
		{"strict without against", []string{good, "--strict"}, 2, nil, "--strict needs --against"},
		{"bad now", []string{good, "--now", "tomorrow"}, 2, nil, "--now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runWithEnv(t, nil, append([]string{"exceptions", "check"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if tt.stdout != nil {
				if got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"); !reflect.DeepEqual(got, tt.stdout) {
					t.Errorf("stdout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.stdout, "\n"))
				}
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.stderr)
			}
			if strings.Contains(r.stdout, "::error") {
				t.Errorf("annotations printed without GITHUB_ACTIONS:\n%s", r.stdout)
			}
		})
	}
}

// Under GitHub Actions each problem is also an ::error annotation on
// stdout, escaped by the workflow-command rules.
func TestExceptionsCheckGitHubAnnotations(t *testing.T) {
	t.Parallel()
	bad := excFixture("bad", "exceptions.yaml")
	r := runWithEnv(t, map[string]string{"GITHUB_ACTIONS": "true"}, "exceptions", "check", bad)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := []string{
		"::error file=" + bad + ",line=5::exceptions[0].expires: 2026-11-27 is in the past (today is 2026-11-28): extend it or remove the entry",
		"::error file=" + bad + `,line=6::exceptions[1].principal: "arn:aws:iam::*:role/*" is too broad: the name after role/ needs at least 3 literal characters (not * or ?), it has 0`,
		"::error file=" + bad + ",line=10::exceptions[2].owner: required: the team or person who answers for this exception",
		"::error file=" + bad + `,line=11::exceptions[2].services[0]: "kmss" is not a known IAM service namespace`,
	}
	var got []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "::") {
			got = append(got, l)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("annotations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The plain lines and the summary are still there.
	if !strings.Contains(r.stdout, bad+":5: exceptions[0].expires") || !strings.HasSuffix(r.stdout, "4 problems in 1 file\n") {
		t.Errorf("stdout lacks the plain report:\n%s", r.stdout)
	}

	// With -o json, stdout stays JSON and the annotations go to stderr.
	r = runWithEnv(t, map[string]string{"GITHUB_ACTIONS": "true"}, "exceptions", "check", bad, "-o", "json")
	var rep render.CheckReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if r.code != 1 || len(rep.Problems) != 4 || strings.Count(r.stderr, "::error file=") != 4 {
		t.Errorf("json: exit %d, %d problems, stderr:\n%s", r.code, len(rep.Problems), r.stderr)
	}
}

// --config supplies max_days and, with no FILE, the exceptions file
// (relative to the config).
func TestExceptionsCheckConfig(t *testing.T) {
	t.Parallel()
	cfg := excFixture("config", "iamprune.yaml")
	file := excFixture("config", "exceptions.yaml")
	r := runWithEnv(t, nil, "exceptions", "check", "--config", cfg)
	want := file + ":9: exceptions[1].expires: 2026-12-29 is 31 days ahead, more than exceptions.max_days (30)\n1 problem in 1 file\n"
	if r.code != 1 || r.stdout != want {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	// The same file without the config is held to the default 365 days.
	if r := runWithEnv(t, nil, "exceptions", "check", file); r.code != 0 || r.stdout != "ok: 2 entries in 1 file\n" {
		t.Errorf("default max_days: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// $IAMPRUNE_CONFIG works like --config.
	if r := runWithEnv(t, map[string]string{"IAMPRUNE_CONFIG": cfg}, "exceptions", "check"); r.code != 1 {
		t.Errorf("IAMPRUNE_CONFIG: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// --against a snapshot lists what each entry covers; a stale entry is a
// warning, and a problem with --strict.
func TestExceptionsCheckAgainstSnapshot(t *testing.T) {
	t.Parallel()
	snap, _ := demoPaths(t)
	file := excFixture("stale", "exceptions.yaml")
	stale := file + ":7: exceptions[1].principal: warning: stale: matches no principal and no finding in snapshot " + snap

	r := runWithEnv(t, nil, "exceptions", "check", file, "--against", snap)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		file + ":2  arn:aws:iam::111122223333:role/Forensics  (UnusedIAMRole)\n" +
			"  principal  arn:aws:iam::111122223333:role/Forensics\n" +
			"  finding    45133b6e-aaf9-42fe-899a-85544b2770ae  UnusedIAMRole  ACTIVE  arn:aws:iam::111122223333:role/Forensics\n",
		file + ":7  arn:aws:iam::111122223333:role/DecommissionedRole\n  (stale: nothing matches)\n",
		stale + "\nok: 2 entries in 1 file, 1 warning\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks\n%s\ngot:\n%s", want, r.stdout)
		}
	}

	r = runWithEnv(t, map[string]string{"GITHUB_ACTIONS": "true"}, "exceptions", "check", file, "--against", snap, "--strict", "-o", "json")
	if r.code != 1 {
		t.Fatalf("--strict: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rep render.CheckReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Line != 7 || len(rep.Warnings) != 0 {
		t.Errorf("--strict problems %+v warnings %+v", rep.Problems, rep.Warnings)
	}
	if len(rep.Coverage) != 2 || rep.Coverage[0].Stale || !rep.Coverage[1].Stale ||
		len(rep.Coverage[0].Findings) != 1 || rep.Coverage[0].Findings[0].ID != "45133b6e-aaf9-42fe-899a-85544b2770ae" {
		t.Errorf("coverage %+v", rep.Coverage)
	}
	if !strings.Contains(r.stderr, "::error file="+file+",line=7::exceptions[1].principal: stale") {
		t.Errorf("no stale annotation on stderr:\n%s", r.stderr)
	}

	if r := runWithEnv(t, nil, "exceptions", "check", file, "--against", excFixture("no-such-snapshot")); r.code != 2 {
		t.Errorf("missing snapshot: exit %d, want 2\n%s", r.code, r.stderr)
	}
}

func TestExceptionsExpiring(t *testing.T) {
	t.Parallel()
	good := excFixture("good", "exceptions.yaml")
	r := runWithEnv(t, nil, "exceptions", "expiring", "--exceptions", good, "--exceptions", excFixture("good", "allowlist.txt"), "--within", "30d", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var rep render.ExpiringReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	want := []render.ExpiringEntry{{
		Principal: "arn:aws:iam::111122223333:role/WebAppRole", FindingTypes: []iamprune.FindingType{iamprune.UnusedPermission}, Services: []string{"kms"},
		Owner: "payments-team@example.com", Ticket: "SEC-1301", Reason: "Yearly restore drill decrypts backups with KMS.",
		Expires: "2026-12-20", DaysLeft: 22, File: good, Line: 8,
	}}
	if !reflect.DeepEqual(rep.Exceptions, want) || rep.Within != "30d" {
		t.Errorf("got %+v\nwant %+v", rep, want)
	}

	tests := []struct {
		name  string
		args  []string
		code  int
		lines []string // stdout lines, with runs of spaces collapsed
	}{
		{"table", []string{"--within", "720h"}, 0, []string{
			"PRINCIPAL FINDING TYPES SERVICES OWNER TICKET EXPIRES DAYS LEFT FILE",
			"arn:aws:iam::111122223333:role/WebAppRole UnusedPermission kms payments-team@example.com SEC-1301 2026-12-20 22 " + good + ":8",
		}},
		{"last day and expired", []string{"--now", "2027-06-30", "--within", "0d"}, 0, []string{
			"PRINCIPAL FINDING TYPES SERVICES OWNER TICKET EXPIRES DAYS LEFT FILE",
			"arn:aws:iam::111122223333:role/WebAppRole UnusedPermission kms payments-team@example.com SEC-1301 2026-12-20 expired 192d ago " + good + ":8",
			"arn:aws:iam::111122223333:role/Forensics UnusedIAMRole - security@example.com SEC-1234 2027-06-30 0 (last day) " + good + ":2",
		}},
		{"nothing", []string{"--within", "1d"}, 0, []string{"no exception expires within 1d (by 2026-11-29)"}},
		{"bad within", []string{"--within", "a month"}, 2, nil},
		{"negative within", []string{"--within", "-1h"}, 2, nil},
		{"bad output", []string{"-o", "csv"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runWithEnv(t, nil, append([]string{"exceptions", "expiring", "--exceptions", good}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if tt.lines == nil {
				return
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
				got = append(got, strings.Join(strings.Fields(l), " "))
			}
			if !reflect.DeepEqual(got, tt.lines) {
				t.Errorf("stdout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.lines, "\n"))
			}
		})
	}

	// With no --exceptions, the config's file is listed; with neither, usage.
	if r := runWithEnv(t, nil, "exceptions", "expiring", "--config", excFixture("config", "iamprune.yaml"), "-o", "json"); r.code != 0 ||
		!strings.Contains(r.stdout, `"principal": "arn:aws:iam::111122223333:role/Forensics"`) {
		t.Errorf("--config: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runWithEnv(t, nil, "exceptions", "expiring"); r.code != 2 || !strings.Contains(r.stderr, "no exceptions file") {
		t.Errorf("no file: exit %d\n%s", r.code, r.stderr)
	}
}

func TestParseWithin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"0d", 0, true},
		{"720h", 720 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"d", 0, false},
		{"-3d", 0, false},
		{"1.5d", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := app.ParseWithin(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("app.ParseWithin(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
