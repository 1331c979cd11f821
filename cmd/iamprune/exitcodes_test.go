package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/sqlite"
)

// exitRow is one case of the exit-code contract (docs/exit-codes.md): a
// command, what makes the case, the exit code and words of the output.
type exitRow struct {
	cmd, name string
	code      int
	want      string // in stdout or stderr
	run       func(t *testing.T) result
}

// offline runs the CLI without AWS.
func offline(args ...string) func(t *testing.T) result {
	return func(t *testing.T) result {
		noAWS(t)
		return runCLI(t, args...)
	}
}

// onDemo runs f against the demo account in the emulator, with a fresh
// state store.
func onDemo(f func(t *testing.T, a *account) result) func(t *testing.T) result {
	return func(t *testing.T) result { return f(t, newAccount(t)) }
}

// onTerminal runs the CLI with stdin a terminal that types answer.
func onTerminal(t *testing.T, answer string, args ...string) result {
	var out, errb bytes.Buffer
	m := wire(t, &Main{Stdin: strings.NewReader(answer), Stdout: &out, Stderr: &errb, StdinIsTerminal: true,
		Getenv: func(string) string { return "" }, Now: time.Now})
	code := m.Run(context.Background(), args)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// applied applies the demo plan and returns its run id.
func applied(t *testing.T, a *account) string {
	t.Helper()
	r := runCLI(t, a.args(t, "apply", "--yes", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	return decodeRun(t, r).RunID
}

// lockedBy locks the demo account in the state store at path, as a run
// on another host that is still alive would.
func lockedBy(t *testing.T, path string) {
	t.Helper()
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	owner := iamprune.LockOwner{Host: "build-7", PID: 4242, User: "ops", RunID: "R-elsewhere", StartedAt: time.Now()}
	if _, err := st.Lock(context.Background(), "111122223333", owner, time.Hour); err != nil {
		t.Fatal(err)
	}
}

// emptyStore creates an empty state store and returns its path.
func emptyStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	return path
}

// interruptedRun runs the CLI as a real process (TestHelperProcess)
// against an endpoint that never answers, and sends it sig once it made
// its first AWS call. The environment is passed to the process, not set
// here, so the test stays parallel.
func interruptedRun(sig syscall.Signal, args ...string) func(t *testing.T) result {
	return func(t *testing.T) result {
		called, release := make(chan struct{}, 1), make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case called <- struct{}{}:
			default:
			}
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		dir := t.TempDir()
		raw, _ := json.Marshal(args)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), helperArgsEnv+"="+string(raw), "AWS_ENDPOINT_URL="+srv.URL,
			"AWS_ACCESS_KEY_ID=AKIATESTTESTTEST", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
			"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
			"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"), "IAMPRUNE_CONFIG=", "IAMPRUNE_STATE=",
			"XDG_STATE_HOME="+filepath.Join(dir, "state"))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-called:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("no AWS call within 30s")
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("still running 10s after %s", sig)
		}
		return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
	}
}

// exitRows is the contract, command by command.
func exitRows(t *testing.T) []exitRow {
	root := repoRoot(t)
	snap, cfg := demoPaths(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  UnusedIAMRole:\n    remediate_after_dayz: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good, badExc := excFixture("good", "exceptions.yaml"), excFixture("bad", "exceptions.yaml")
	pol := policyFixture("policy.json")
	usage := []string{"--usage", policyFixture("last-accessed.json"), "--older-than", "90", "--now", demoNow}
	const acct = "111122223333"
	return []exitRow{
		{"plan", "success", 0, "Plan: ", offline("plan", "--snapshot", snap, "--config", cfg, "--now", demoNow)},
		{"plan", "malformed config", 2, "bad.yaml:3", offline("plan", "--snapshot", snap, "--config", bad)},
		{"plan", "flag typo", 2, "did you mean --config?", offline("plan", "--confg", cfg)},
		{"plan", "unreachable account", 1, "member account(s) unreachable", func(t *testing.T) result {
			o := newOrg(t)
			return runCLI(t, "plan", "--config", o.config(t, "wrong-external-id"), "--now", demoNow, "--state", o.state)
		}},
		{"plan", "SIGINT", 130, "interrupted by SIGINT", interruptedRun(syscall.SIGINT, "plan", "--analyzer", "auto")},

		{"apply", "success", 0, "Undo with: iamprune rollback ", onDemo(func(t *testing.T, a *account) result {
			return runCLI(t, a.args(t, "apply", "--yes")...)
		})},
		{"apply", "nothing to do", 0, "no notification channel is configured", onDemo(func(t *testing.T, a *account) result {
			return runCLI(t, "apply", "--yes", "--now", demoNow, "--state", a.state)
		})},
		{"apply", "consent missing", 2, "nothing changed: --yes is required to apply 6 change(s) in account 111122223333 when stdin is not a terminal",
			onDemo(func(t *testing.T, a *account) result { return runCLI(t, a.args(t, "apply")...) })},
		{"apply", "consent declined", 2, `"999" is not the account id`, onDemo(func(t *testing.T, a *account) result {
			return onTerminal(t, "999\n", a.args(t, "apply")...)
		})},
		{"apply", "failed action", 1, "failed  deactivate-access-key  AKIAP2J3ADGM2EXAMPLE", onDemo(func(t *testing.T, a *account) result {
			a.srv.FailNext("UpdateAccessKey", "AccessDenied", 1)
			return runCLI(t, a.args(t, "apply", "--yes")...)
		})},
		{"apply", "failed notice", 1, "failed: hook (default): notify: channel \"hook\": HTTP 500", func(t *testing.T) result {
			a := newAccount(t)
			hook, _ := failingHook(t)
			return runCLI(t, "apply", "--yes", "--config", hookConfig(t, hook.URL), "--now", demoNow, "--state", a.state)
		}},
		{"apply", "blast radius", 1, "exceed limits.max_actions_per_run", onDemo(func(t *testing.T, a *account) result {
			return runCLI(t, a.args(t, "apply", "--yes", "--max-actions", "1")...)
		})},
		{"apply", "stale plan", 1, "stale", onDemo(func(t *testing.T, a *account) result {
			file := filepath.Join(t.TempDir(), "plan.json")
			if r := runCLI(t, a.args(t, "plan", "--out", file, "-o", "json")...); r.code != 0 {
				t.Fatalf("plan: %s", r.stderr)
			}
			if err := a.srv.MarkAccessKeyUsed("AKIAP2J3ADGM2EXAMPLE", time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			return runCLI(t, a.args(t, "apply", file, "--yes")...)
		})},
		{"apply", "locked state", 1, "is locked by", onDemo(func(t *testing.T, a *account) result {
			lockedBy(t, a.state)
			return runCLI(t, a.args(t, "apply", "--yes")...)
		})},
		{"apply", "unreachable account", 1, "member account(s) unreachable", func(t *testing.T) result {
			o := newOrg(t)
			return runCLI(t, "apply", "--yes", "--config", o.config(t, "wrong-external-id"), "--now", demoNow, "--state", o.state, "--audit-log", "-")
		}},
		{"apply", "malformed plan file", 2, "meta.json", onDemo(func(t *testing.T, a *account) result {
			return runCLI(t, a.args(t, "apply", filepath.Join("testdata", "edge", "meta.json"), "--yes")...)
		})},
		{"apply", "SIGTERM", 143, "interrupted by SIGTERM", interruptedRun(syscall.SIGTERM, "apply", "--yes")},

		{"rollback", "success", 0, "6 done", onDemo(func(t *testing.T, a *account) result {
			return runCLI(t, a.args(t, "rollback", applied(t, a), "--yes")...)
		})},
		{"rollback", "unknown run id", 2, "no run nonexistent-run in the state store: 'iamprune history' lists the runs", onDemo(func(t *testing.T, a *account) result {
			applied(t, a)
			return runCLI(t, a.args(t, "rollback", "nonexistent-run", "--yes")...)
		})},
		{"rollback", "no state store", 2, "'iamprune history' lists the runs", offline("rollback", "nonexistent-run", "--state", filepath.Join(root, "no-such-dir", "state.db"))},
		{"rollback", "no run id", 2, "'iamprune history' lists the runs", offline("rollback")},
		{"rollback", "consent missing", 2, "--yes is required to roll back run", onDemo(func(t *testing.T, a *account) result {
			return runCLI(t, a.args(t, "rollback", applied(t, a))...)
		})},
		{"rollback", "consent declined", 2, "is not the account id", onDemo(func(t *testing.T, a *account) result {
			return onTerminal(t, "no\n", a.args(t, "rollback", applied(t, a))...)
		})},
		{"rollback", "failed action", 1, "failed  deactivate-access-key  AKIAP2J3ADGM2EXAMPLE", onDemo(func(t *testing.T, a *account) result {
			id := applied(t, a)
			a.srv.FailNext("UpdateAccessKey", "AccessDenied", 1)
			return runCLI(t, a.args(t, "rollback", id, "--yes")...)
		})},
		{"rollback", "locked state", 1, "is locked by", onDemo(func(t *testing.T, a *account) result {
			id := applied(t, a)
			lockedBy(t, a.state)
			return runCLI(t, a.args(t, "rollback", id, "--yes")...)
		})},

		{"history", "success", 0, "No runs recorded yet.", func(t *testing.T) result {
			return offline("history", "--state", emptyStore(t))(t)
		}},
		{"history", "unknown run id", 2, "no run R-1 in the state store", func(t *testing.T) result {
			return offline("history", "R-1", "--state", emptyStore(t))(t)
		}},
		{"history", "malformed account", 2, "12-digit", offline("history", "--account", "1111")},
		{"holds", "success", 0, "", func(t *testing.T) result { return offline("holds", "--state", emptyStore(t))(t) }},
		{"holds", "bad account", 2, "12-digit", offline("holds", "--account", "12")},
		{"holds release", "unknown hold", 2, "no hold hold-1 (see 'iamprune holds')", func(t *testing.T) result {
			return offline("holds", "release", "hold-1", "--state", emptyStore(t), "--audit-log", "-")(t)
		}},

		{"report", "success", 0, "", func(t *testing.T) result {
			return offline("report", "--snapshot", snap, "--config", cfg, "--now", demoNow, "--state", emptyStore(t), "--out", filepath.Join(t.TempDir(), "r.html"))(t)
		}},
		{"report", "publish not s3", 2, "s3://", offline("report", "--snapshot", snap, "--config", cfg, "--publish", "https://example.com/r/")},
		{"report", "malformed config", 2, "bad.yaml:3", offline("report", "--snapshot", snap, "--config", bad, "--out", "-")},
		{"sweep", "success", 0, "", onDemo(func(t *testing.T, a *account) result {
			return runCLI(t, "sweep", "--dry-run", "--state", a.state)
		})},
		{"sweep", "no queue", 2, "no queue", onDemo(func(t *testing.T, a *account) result { return runCLI(t, "sweep", "--state", a.state) })},
		{"sweep", "queue ARN, not URL", 2, "is not an SQS queue URL", onDemo(func(t *testing.T, a *account) result {
			return runCLI(t, "sweep", "--state", a.state, "--queue", "arn:aws:sqs:us-east-1:111122223333:sweep")
		})},
		{"history --sweep", "unknown sweep", 2, "no sweep S-1 in the state store", func(t *testing.T) result {
			return offline("history", "--sweep", "S-1", "--state", emptyStore(t))(t)
		}},

		{"export securityhub", "success", 0, "", onDemo(func(t *testing.T, a *account) result { return runCLI(t, exportArgs(a)...) })},
		{"export securityhub", "malformed config", 2, "bad.yaml:3", offline("export", "securityhub", "--snapshot", snap, "--config", bad)},
		{"export securityhub", "rejected findings", 1, "rejected", onDemo(func(t *testing.T, a *account) result {
			a.srv.RejectFinding(asffIDs(t, a)[0], "InvalidInput", "test", -1)
			return runCLI(t, exportArgs(a)...)
		})},

		{"unlock", "malformed account", 2, "12-digit", offline("unlock", "12345")},
		{"unlock", "not locked", 0, "not locked", func(t *testing.T) result { return offline("unlock", acct, "--state", emptyStore(t))(t) }},
		{"unlock", "consent missing", 2, "--yes is required to break the lock", func(t *testing.T) result {
			state := emptyStore(t)
			lockedBy(t, state)
			return offline("unlock", acct, "--state", state)(t)
		}},
		{"unlock", "success", 0, "Broke the lock", func(t *testing.T) result {
			state := emptyStore(t)
			lockedBy(t, state)
			return offline("unlock", acct, "--state", state, "--yes")(t)
		}},

		{"notify", "success", 0, "Notices: 3 digest(s) sent.", func(t *testing.T) result {
			_, state := notifyAccount(t)
			return on(t, "2026-11-28", state, "notify", "--yes")
		}},
		{"notify", "nothing to do", 0, "Nothing to send", func(t *testing.T) result {
			_, state := notifyAccount(t)
			if r := on(t, "2026-11-28", state, "notify", "--yes"); r.code != 0 {
				t.Fatalf("notify: exit %d\n%s", r.code, r.stderr)
			}
			return on(t, "2026-11-28", state, "notify", "--yes")
		}},
		{"notify", "consent missing", 2, "--yes is required to send 3 digest(s)", func(t *testing.T) result {
			_, state := notifyAccount(t)
			return on(t, "2026-11-28", state, "notify")
		}},
		{"notify", "failed notice", 1, "failed  hook ", func(t *testing.T) result {
			a := newAccount(t)
			hook, _ := failingHook(t)
			return runCLI(t, "notify", "--yes", "--config", hookConfig(t, hook.URL), "--now", demoNow, "--state", a.state)
		}},
		{"notify", "no channel", 2, "no notification channel is configured", onDemo(func(t *testing.T, a *account) result {
			return runCLI(t, "notify", "--yes", "--now", demoNow, "--state", a.state)
		})},
		{"notify test", "failed notice", 1, "1 failed: hook (test)", func(t *testing.T) result {
			hook, _ := failingHook(t)
			return offline("notify", "test", "--config", hookConfig(t, hook.URL), "--channel", "hook", "--state", filepath.Join(t.TempDir(), "state.db"))(t)
		}},
		{"notify test", "success", 0, "1 digest(s) sent", func(t *testing.T) result {
			hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			t.Cleanup(hook.Close)
			state := filepath.Join(t.TempDir(), "state.db")
			r := offline("notify", "test", "--config", hookConfig(t, hook.URL), "--channel", "hook", "--state", state)(t)
			// Its audit event goes beside the state store, not to stderr.
			if b, _ := os.ReadFile(filepath.Join(filepath.Dir(state), "iamprune-audit.jsonl")); strings.Contains(r.stderr, `"event"`) || !strings.Contains(string(b), `"notice-sent"`) {
				t.Errorf("audit event: stderr %q, file %q", r.stderr, b)
			}
			return r
		}},
		{"notify test", "unknown channel", 2, `no channel "nope" in the config: it has payments, data, security`, offline("notify", "test", "--config", cfg, "--channel", "nope")},
		{"notify test", "no channel named", 2, "--channel NAME is required: one of payments, data, security", offline("notify", "test", "--config", cfg)},

		{"exceptions", "unknown command", 2, "want check, expiring or sync", offline("exceptions", "bogus")},
		{"exceptions check", "success", 0, "ok: ", offline("exceptions", "check", good, "--now", demoNow)},
		{"exceptions check", "problems found", 1, "problems in 1 file", offline("exceptions", "check", badExc, "--now", demoNow)},
		{"exceptions check", "unreadable file", 2, "no-such.yaml", offline("exceptions", "check", "no-such.yaml")},
		{"exceptions expiring", "success", 0, "", offline("exceptions", "expiring", "--exceptions", good, "--within", "30d", "--now", demoNow)},
		{"exceptions expiring", "bad usage", 2, "--within", offline("exceptions", "expiring", "--exceptions", good, "--within", "soon")},
		{"exceptions sync", "success", 0, "applied", func(t *testing.T) result {
			a := newSyncAccount(t)
			return runCLI(t, "exceptions", "sync", "--exceptions", a.use(t, "add"), "--now", demoNow, "--yes")
		}},
		{"exceptions sync", "consent missing", 2, "nothing changed: --yes is required to make 3 changes in account 111122223333", func(t *testing.T) result {
			a := newSyncAccount(t)
			return runCLI(t, "exceptions", "sync", "--exceptions", a.use(t, "add"), "--now", demoNow)
		}},
		{"exceptions sync", "dry run", 0, "create iamprune-", func(t *testing.T) result {
			a := newSyncAccount(t)
			r := runCLI(t, "exceptions", "sync", "--exceptions", a.use(t, "add"), "--now", demoNow, "--dry-run")
			if rules, _ := a.state(t); len(rules) != 1 {
				t.Errorf("a dry run changed the rules: %v", rules)
			}
			return r
		}},
		{"exceptions sync", "consent declined", 2, "is not the account id", func(t *testing.T) result {
			a := newSyncAccount(t)
			return onTerminal(t, "no\n", "exceptions", "sync", "--exceptions", a.use(t, "add"), "--now", demoNow)
		}},
		{"exceptions sync", "problems found", 1, "nothing synced", func(t *testing.T) result {
			newSyncAccount(t)
			return runCLI(t, "exceptions", "sync", "--exceptions", badExc, "--now", demoNow, "--yes")
		}},

		{"config reference", "success", 0, "require_prior_notice", offline("config", "reference")},
		{"config check", "success", 0, "", offline("config", "check", cfg)},
		{"config check", "malformed file", 2, "remediate_after_dayz", offline("config", "check", bad)},
		{"policy", "unknown command", 2, "want refine", offline("policy", "bogus")},
		{"policy refine", "success", 0, "", offline(append([]string{"policy", "refine", "--policy", pol}, usage...)...)},
		{"policy refine", "malformed file", 2, "bad-policy.json", offline(append([]string{"policy", "refine", "--policy", policyFixture("bad-policy.json")}, usage...)...)},
		{"snapshot capture", "success", 0, "", onDemo(func(t *testing.T, a *account) result {
			return runCLI(t, "snapshot", "capture", "--out", filepath.Join(t.TempDir(), "snap"))
		})},
		{"snapshot capture", "bad usage", 2, "--out", offline("snapshot", "capture")},
		{"emulator", "bad usage", 2, "--snapshot", offline("emulator")},
		{"emulator", "malformed snapshot", 2, "no-such-dir", offline("emulator", "--snapshot", filepath.Join(root, "no-such-dir"))},
		{"worker", "bad usage", 2, "--queue", offline("worker")},
		{"worker", "queue name, not URL", 2, `--queue: "iamprune-findings" is not a queue URL`, offline("worker", "--queue", "iamprune-findings")},
		// A worker's normal end: SIGTERM, the messages in flight drained.
		{"worker", "SIGTERM", 0, "worker: stopped", interruptedRun(syscall.SIGTERM, "worker", "--queue", "https://sqs.us-east-1.amazonaws.com/111122223333/findings", "--listen", "", "--wait", "1s")},
		{"demo", "success", 0, "== 7.", offline("demo")},
		{"demo", "flag typo", 2, "did you mean --output?", offline("demo", "--outptu", "json")},
		{"config", "unknown command", 2, "want check or reference", offline("config", "bogus")},
		{"snapshot", "unknown command", 2, "want capture", offline("snapshot", "bogus")},
		{"export", "unknown command", 2, "want securityhub", offline("export", "bogus")},
		{"completion", "unknown shell", 2, "want bash, fish, powershell or zsh", offline("completion", "tcsh")},
		{"completion bash", "success", 0, "bash completion", offline("completion", "bash")},
		{"completion zsh", "success", 0, "compdef _iamprune iamprune", offline("completion", "zsh")},
		{"completion fish", "success", 0, "fish completion", offline("completion", "fish")},
		{"completion powershell", "success", 0, "powershell completion", offline("completion", "powershell")},
		{"completion bash", "bad usage", 2, "unknown command", offline("completion", "bash", "extra")},
	}
}

// TestExitCodes drives every command through each case of the exit-code
// contract that applies to it. Output never shows an adapter's prefix.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	rows := exitRows(t)
	covered := map[string]bool{}
	for _, row := range rows {
		covered[row.cmd] = true
		t.Run(row.cmd+"/"+row.name, func(t *testing.T) {
			t.Parallel()
			r := row.run(t)
			out := r.stdout + r.stderr
			if r.code != row.code || !strings.Contains(out, row.want) {
				t.Errorf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", r.code, row.code, row.want, r.stdout, r.stderr)
			}
			for _, prefix := range []string{"sqlite: ", "dynamodb: ", "remediate: ", "app: ", "awsapi: "} {
				if strings.Contains(out, prefix) {
					t.Errorf("output leaks the adapter prefix %q:\n%s", prefix, out)
				}
			}
		})
	}
	// A command added later must join the table.
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), "iamprune ")
		if c.Runnable() && c.HasParent() && !c.Hidden && path != "help" && !covered[path] {
			t.Errorf("the exit-code table has no row for %q", path)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewMain().rootCommand())
}

// The root help and docs/exit-codes.md state the contract.
func TestExitCodesDocumented(t *testing.T) {
	t.Parallel()
	noAWS(t)
	r := runCLI(t, "--help")
	for _, want := range []string{"docs/exit-codes.md", "0        success, or nothing to do", "a stale plan, a locked account,",
		"consent missing (--yes off a terminal) or declined", "130/143  interrupted by SIGINT/SIGTERM"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("iamprune --help lacks %q", want)
		}
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "exit-codes.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| `0` |", "| `1` |", "| `2` |", "| `130`, `143` |", "TestExitCodes"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/exit-codes.md lacks %q", want)
		}
	}
}

// asffIDs are the Security Hub finding ids of the demo plan.
func asffIDs(t *testing.T, a *account) []string {
	t.Helper()
	var asff []struct {
		ID string `json:"Id"`
	}
	if err := json.Unmarshal([]byte(runCLI(t, a.args(t, "plan", "-o", "asff")...).stdout), &asff); err != nil || len(asff) == 0 {
		t.Fatalf("plan -o asff: %v", err)
	}
	ids := make([]string, len(asff))
	for i, f := range asff {
		ids[i] = f.ID
	}
	return ids
}
