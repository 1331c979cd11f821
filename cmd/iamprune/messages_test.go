package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iamprune/iamprune/awsapi"
)

// Without credentials, the SDK's error is followed by how to get some.
func TestNoCredentialsSaysHowToGetThem(t *testing.T) {
	t.Parallel()
	a := newAccount(t)
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now}
	m.LoadAWS = func(ctx context.Context) (aws.Config, *awsapi.Counter, error) {
		none := aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no EC2 IMDS role found")
		}))
		return awsapi.LoadConfig(ctx, awsapi.Options{Region: "us-east-1", Endpoint: a.url, Credentials: none, Logger: m.log(), Policy: m.awsPolicy()})
	}
	code := m.Run(context.Background(), []string{"plan", "--state", a.state, "--max-retries", "0"})
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"aws sso login --profile NAME", "--profile NAME", "AWS_ACCESS_KEY_ID"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}

// Every command suggests the nearest of its flags for a typo.
func TestFlagTypoSuggestsNearest(t *testing.T) {
	t.Parallel()
	noAWS(t)
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.Runnable() || !c.HasParent() || c.Name() == "help" {
			return
		}
		var flag string
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if flag == "" && len(f.Name) >= 5 && f.Name != "help" {
				flag = f.Name
			}
		})
		if flag == "" {
			return
		}
		typo := flag[:2] + flag[3:] // one letter dropped
		args := append(strings.Fields(strings.TrimPrefix(c.CommandPath(), "iamprune ")), "--"+typo)
		r := runCLI(t, args...)
		if want := "(did you mean --" + flag + "?)"; r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", args, r.code, r.stderr, want)
		}
		n++
	}
	walk(NewMain().rootCommand())
	if n < 15 {
		t.Errorf("only %d commands checked", n)
	}
	if r := runCLI(t, "plan", "--zzzzzzzz"); r.code != 2 || !strings.Contains(r.stderr, "'iamprune plan --help' lists the flags") {
		t.Errorf("no near flag: exit %d %q", r.code, r.stderr)
	}
}

// The "Undo with" hint is a command that works as printed: it names the
// state store and the config (whose holds.days the rollback applies).
func TestUndoHintNamesEveryFlag(t *testing.T) {
	t.Parallel()
	newAccount(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "my config.yaml")
	conf := "exceptions: " + filepath.Join(repoRoot(t), "examples", "demo", "exceptions.yaml") +
		"\nprotected: ['arn:aws:iam::*:role/BreakGlass*']\nnotifications: {require_prior_notice: false}\nholds: {days: 3}\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "elsewhere", "state.db")
	audit := filepath.Join(dir, "audit.jsonl")
	r := runCLI(t, "apply", "--yes", "--config", cfg, "--state", state, "--audit-log", audit, "--now", demoNow)
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	_, hint, ok := strings.Cut(r.stdout, "Undo with: ")
	hint, _, _ = strings.Cut(hint, "\n")
	if !ok || !strings.Contains(hint, "--state "+state) || !strings.Contains(hint, "--config '"+cfg+"'") {
		t.Fatalf("hint %q lacks --state or --config (quoted)", hint)
	}
	// The rollback's audit events go where the apply's went.
	if !strings.Contains(hint, "--audit-log "+audit) {
		t.Errorf("hint %q lacks --audit-log %s", hint, audit)
	}
	before, _ := os.ReadFile(audit)
	// Run it as a shell would split it.
	args := shellSplit(t, strings.TrimPrefix(hint, "iamprune "))
	r = runCLI(t, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "6 done") || !strings.Contains(r.stdout, "Held for 3 days") {
		t.Errorf("the hint %v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
	}
	if after, _ := os.ReadFile(audit); len(after) <= len(before) {
		t.Errorf("the rollback wrote nothing to the apply's audit log %s", audit)
	}
}

// shellSplit splits words the way a POSIX shell does for single quotes.
func shellSplit(t *testing.T, s string) []string {
	var out []string
	var cur strings.Builder
	quoted, inWord := false, false
	for _, c := range s {
		switch {
		case c == '\'':
			quoted, inWord = !quoted, true
		case c == ' ' && !quoted:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
			}
			inWord = false
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// An apply with nothing planned says why, and records no run.
func TestApplyNothingPlannedSaysWhy(t *testing.T) {
	t.Parallel()
	a := newAccount(t)
	r := runCLI(t, "apply", "--yes", "--now", demoNow, "--state", a.state)
	want := "Nothing to apply: 8 remediation(s) wait for their owners to be notified first (notifications.require_prior_notice), " +
		"and no notification channel is configured, so nobody can be: configure notifications.channels, or set require_prior_notice: false."
	if r.code != 0 || !strings.Contains(r.stderr, want) || strings.Contains(r.stdout, "Run ") || strings.Contains(r.stdout, "Nothing new to apply") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if h := runCLI(t, "history", "--state", a.state); h.code != 0 || !strings.Contains(h.stdout, "No runs recorded yet.") {
		t.Errorf("history after an apply with nothing to do: exit %d\n%s", h.code, h.stdout)
	}
	if len(a.srv.Writes()) != 0 {
		t.Error("write calls were made")
	}
	// -o json still prints a result, without a run id.
	r = runCLI(t, "apply", "--yes", "--now", demoNow, "--state", a.state, "-o", "json")
	if res := decodeRun(t, r); r.code != 0 || res.RunID != "" || len(res.Results) != 0 {
		t.Errorf("json: exit %d %+v", r.code, res)
	}
}

// The audit log goes beside the state store, not to stderr; "-" keeps
// stderr.
func TestAuditLogBesideTheState(t *testing.T) {
	t.Parallel()
	a := newAccount(t)
	cfg := filepath.Join("testdata", "no-prior-notice", "iamprune.yaml")
	r := runCLI(t, "apply", "--yes", "--config", cfg, "--now", demoNow, "--state", a.state, "-o", "json")
	if r.code != 0 || strings.Contains(r.stderr, `"event"`) {
		t.Fatalf("exit %d; stderr has audit events:\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(a.state), "iamprune-audit.jsonl"))
	if err != nil || bytes.Count(b, []byte(`"event":"action-done"`)) != 6 {
		t.Fatalf("audit log beside the state: %v\n%s", err, b)
	}
	r = runCLI(t, "rollback", decodeRun(t, r).RunID, "--state", a.state, "--audit-log", "-", "--yes")
	if r.code != 0 || !strings.Contains(r.stderr, `"event":"run-started"`) {
		t.Errorf("--audit-log -: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// Only cobra's own usage errors are bad usage (2): a run-time failure whose
// message contains the same words is a failure (1).
func TestUsageErrorsByPrefix(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]bool{
		`unknown flag: --confg`:                   true,
		`accepts 1 arg(s), received 0`:            true,
		`invalid argument "x" for "--limit" flag`: true,
		`required flag(s) "policy" not set`:       true,
		`write state.db: invalid argument`:        false,
		`s3: the bucket accepts no more requests`: false,
		`sqs: unknown command in message body`:    false,
	} {
		if got := isUsageError(errors.New(msg)); got != want {
			t.Errorf("isUsageError(%q) = %v, want %v", msg, got, want)
		}
	}
}

// The root help's emulator line and its help name every service the
// README's command table says it serves.
func TestEmulatorHelpNamesItsServices(t *testing.T) {
	t.Parallel()
	noAWS(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(readme), "serves a snapshot as ")
	list, _, _ = strings.Cut(list, " over the real wire protocols")
	services := strings.Split(strings.ReplaceAll(list, " and ", ", "), ", ")
	if !ok || len(services) < 7 {
		t.Fatalf("README's emulator row lists %q", services)
	}
	root, help := runCLI(t, "--help").stdout, runCLI(t, "emulator", "--help").stdout
	line := root[strings.Index(root, "\n  emulator "):]
	line, _, _ = strings.Cut(line[1:], "\n")
	for _, s := range services {
		if !strings.Contains(line, s) || !strings.Contains(help, s) {
			t.Errorf("%s: in the root help's %q: %v; in 'emulator --help': %v", s, line, strings.Contains(line, s), strings.Contains(help, s))
		}
	}
}

// plan --out says how to apply the saved plan with the flags it needs: the
// state store and the exceptions it was made with. Followed as printed, the
// run is recorded in that state store.
func TestPlanSavedHintNamesItsFlags(t *testing.T) {
	t.Parallel()
	a := newAccount(t)
	planFile := filepath.Join(a.dir, "plan.json")
	exc := filepath.Join(repoRoot(t), "examples", "demo", "exceptions.yaml")
	r := runCLI(t, a.args(t, "plan", "--out", planFile, "--exceptions", exc)...)
	if r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	_, hint, ok := strings.Cut(r.stderr, `apply="`)
	hint, _, _ = strings.Cut(hint, `"`)
	if !ok || !strings.Contains(hint, "--state "+a.state) || !strings.Contains(hint, "--exceptions "+exc) {
		t.Fatalf("hint %q lacks --state %s or --exceptions %s", hint, a.state, exc)
	}
	args := append(shellSplit(t, strings.TrimPrefix(hint, "iamprune ")), "--yes", "--now", demoNow)
	if r := runCLI(t, args...); r.code != 0 || !strings.Contains(r.stdout, "6 done") {
		t.Fatalf("%v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
	}
	if h := runCLI(t, "history", "--state", a.state); !strings.Contains(h.stdout, "apply") {
		t.Errorf("the apply is not in the plan's state store:\n%s%s", h.stdout, h.stderr)
	}
}
