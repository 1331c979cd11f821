package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/notify"
	"github.com/iamprune/iamprune/snapshot"
)

// notifyAccount is the demo account with the demo config's SNS topics.
func notifyAccount(t *testing.T) (*emulator.Server, string) {
	t.Helper()
	snapDir, _ := demoPaths(t)
	snap, err := snapshot.LoadDir(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	srv := emulator.New(snap, emulator.Options{Topics: []string{"iamprune-payments", "iamprune-data", "iamprune-security"}})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	inject(t, url, nil)
	return srv, filepath.Join(t.TempDir(), "state.db")
}

// on runs the CLI as of a day, with the demo config and the given state.
func on(t *testing.T, day, state string, args ...string) result {
	t.Helper()
	now, err := time.Parse(time.DateOnly, day)
	if err != nil {
		t.Fatal(err)
	}
	_, cfg := demoPaths(t)
	var out, errb strings.Builder
	m := wire(t, &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: func() time.Time { return now }})
	args = append(args, "--config", cfg, "--now", day, "--state", state, "--audit-log", filepath.Join(filepath.Dir(state), "audit.jsonl"))
	code := m.Run(context.Background(), args)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func published(srv *emulator.Server) map[string][]emulator.PublishedMessage {
	out := map[string][]emulator.PublishedMessage{}
	for _, name := range []string{"payments", "data", "security"} {
		out[name] = srv.Published("arn:aws:sns:us-east-1:111122223333:iamprune-" + name)
	}
	return out
}

// By default nothing is remediated before its owner was warned: day 0 only
// notifies, one digest per route; a week later the changes happen; and an
// owner whose channel failed is not remediated.
func TestPriorNotice(t *testing.T) {
	t.Parallel()
	srv, state := notifyAccount(t)
	srv.FailNext("Publish", "AuthorizationError", 1) // the payments digest, sent first

	r := on(t, "2026-11-28", state, "apply", "--yes", "-o", "json")
	day0 := decodeRun(t, r)
	for _, a := range day0.Results {
		if a.Status == iamprune.ResultDone {
			t.Errorf("day 0 remediated %s %s before any notice", a.Kind, a.Target)
		}
	}
	if w := iamWrites(srv); len(w) != 0 {
		t.Errorf("day 0 made IAM writes: %v", w)
	}
	msgs := published(srv)
	if len(msgs["payments"]) != 0 || len(msgs["data"]) != 1 || len(msgs["security"]) != 1 {
		t.Fatalf("day 0 digests: payments %d, data %d, security %d; want 0 (failed), 1, 1", len(msgs["payments"]), len(msgs["data"]), len(msgs["security"]))
	}
	d := msgs["data"][0]
	for _, want := range []string{"LegacyBatchRole", "erin", "2026-12-05", "exception", "principal: arn:aws:iam::111122223333:role/LegacyBatchRole"} {
		if !strings.Contains(d.Message, want) {
			t.Errorf("the data digest lacks %q:\n%s", want, d.Message)
		}
	}
	if len(d.Subject) > 100 || !strings.Contains(d.Subject, "data") {
		t.Errorf("subject %q", d.Subject)
	}
	failed := 0
	for _, n := range day0.Notifications {
		if n.Status == iamprune.NoticeFailed {
			failed++
			if n.Channel != "payments" {
				t.Errorf("failed notice on %s, want payments", n.Channel)
			}
		}
	}
	if failed != 1 {
		t.Errorf("run result reports %d failed notices, want 1: %+v", failed, day0.Notifications)
	}

	// Day 3: notified, but not long enough ago.
	r = on(t, "2026-12-01", state, "apply", "--yes", "-o", "json")
	for _, a := range decodeRun(t, r).Results {
		if a.Status == iamprune.ResultDone {
			t.Errorf("day 3 remediated %s %s", a.Kind, a.Target)
		}
	}

	// Day 7: the data and platform owners were warned a week ago; payments
	// never was (its channel failed on day 0; it is notified now).
	r = on(t, "2026-12-05", state, "apply", "--yes", "-o", "json")
	got := statuses(decodeRun(t, r))
	for _, k := range []string{"quarantine-role LegacyBatchRole", "delete-login-profile erin", "deny-unused-services ci-deployer"} {
		if got[k] != iamprune.ResultDone {
			t.Errorf("day 7: %s is %q, want done", k, got[k])
		}
	}
	for _, k := range []string{"deactivate-access-key AKIAP2J3ADGM2EXAMPLE", "delete-login-profile bob", "deny-unused-services WebAppRole"} {
		if _, ok := got[k]; ok {
			t.Errorf("day 7: %s was acted on although its owner's channel failed on day 0", k)
		}
	}
	// The owners of what changed got a digest saying how to undo it.
	doneDigest := false
	for _, m := range published(srv)["data"] {
		if strings.Contains(m.Message, "iamprune rollback ") {
			doneDigest = true
		}
	}
	if !doneDigest {
		t.Error("no digest told the data team how to roll back")
	}
}

func iamWrites(srv *emulator.Server) []emulator.Call {
	var out []emulator.Call
	for _, c := range srv.Writes() {
		if c.Service == "iam" {
			out = append(out, c)
		}
	}
	return out
}

// notify sends a first notice, nothing again the next day, and reminders
// before the remediation date; --yes is required to send.
func TestNotifyRemindersOverDays(t *testing.T) {
	t.Parallel()
	srv, state := notifyAccount(t)
	if r := on(t, "2026-11-28", state, "notify"); r.code != 2 || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("notify without --yes: exit %d %s", r.code, r.stderr)
	}
	if n := len(srv.Writes()); n != 0 {
		t.Fatalf("notify without --yes sent %d messages", n)
	}
	count := func() int {
		n := 0
		for _, ms := range published(srv) {
			n += len(ms)
		}
		return n
	}
	steps := []struct {
		day  string
		more int
	}{
		{"2026-11-28", 3}, // first notice: one digest per route
		{"2026-11-29", 0}, // nothing changed, nothing due
		{"2026-11-30", 0},
	}
	for _, s := range steps {
		before := count()
		r := on(t, s.day, state, "notify", "--yes", "-o", "json")
		if r.code != 0 {
			t.Fatalf("%s: exit %d %s", s.day, r.code, r.stderr)
		}
		if got := count() - before; got != s.more {
			t.Errorf("%s: %d digest(s) sent, want %d", s.day, got, s.more)
		}
	}
	// alice's second key: remediation due 2027-01-17; reminders 14 and 3
	// days before.
	remind := func(day string) bool {
		before := len(published(srv)["payments"])
		if r := on(t, day, state, "notify", "--yes"); r.code != 0 {
			t.Fatalf("%s: exit %d %s", day, r.code, r.stderr)
		}
		ms := published(srv)["payments"]
		return len(ms) > before && strings.Contains(ms[len(ms)-1].Message, "AKIAJY3FZJZDTEXAMPLE")
	}
	if !remind("2027-01-03") {
		t.Error("no reminder 14 days before alice's key is deactivated")
	}
	if remind("2027-01-04") {
		t.Error("the 14-day reminder was repeated the next day")
	}
	if !remind("2027-01-14") {
		t.Error("no reminder 3 days before alice's key is deactivated")
	}
}

// notify test sends a signed sample digest to one channel.
func TestNotifyTestChannel(t *testing.T) {
	t.Parallel()
	var body []byte
	var sig string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		sig = r.Header.Get(notify.HeaderSignature)
	}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "iamprune.yaml")
	conf := "notifications:\n  channels:\n    - {name: hook, type: webhook, url: \"" + srv.URL + "\", secret_env: HOOK_SECRET}\n  default: [hook]\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	m := wire(t, &Main{Stdout: &out, Stderr: &errb, Now: time.Now, Getenv: func(k string) string {
		if k == "HOOK_SECRET" {
			return "s3cret"
		}
		return ""
	}})
	if code := m.Run(context.Background(), []string{"notify", "test", "--config", cfg, "--channel", "hook"}); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	if err := notify.VerifySignature("s3cret", sig, body, time.Now(), time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	var d iamprune.Digest
	if err := json.Unmarshal(body, &d); err != nil || len(d.Principals) != 1 {
		t.Errorf("body is not a digest: %v %s", err, body)
	}
	if code := m.Run(context.Background(), []string{"notify", "test", "--config", cfg, "--channel", "nope"}); code != 2 {
		t.Errorf("unknown channel: exit %d", code)
	}
}

// An owner hears, once, that the exception covering them is about to end.
func TestNotifyExpiringException(t *testing.T) {
	t.Parallel()
	srv, state := notifyAccount(t)
	// The demo's WebAppRole exception (payments) expires on 2027-03-31.
	if r := on(t, "2027-03-20", state, "notify", "--yes"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	found := 0
	for _, m := range published(srv)["payments"] {
		if strings.Contains(m.Message, "expires on 2027-03-31") {
			found++
		}
	}
	if found != 1 {
		t.Errorf("%d digests announce the expiry, want 1", found)
	}
	if r := on(t, "2027-03-21", state, "notify", "--yes"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, m := range published(srv)["payments"][1:] {
		if strings.Contains(m.Message, "expires on 2027-03-31") {
			t.Error("the expiry was announced twice")
		}
	}
}

// A run stopped by the blast-radius limit is reported to the default route.
func TestRefusedRunGoesToDefaultRoute(t *testing.T) {
	t.Parallel()
	srv, state := notifyAccount(t)
	if r := on(t, "2026-11-28", state, "notify", "--yes"); r.code != 0 {
		t.Fatalf("notify: exit %d %s", r.code, r.stderr)
	}
	before := len(published(srv)["security"])
	r := on(t, "2026-12-05", state, "apply", "--yes", "--max-actions", "1", "-o", "json")
	if res := decodeRun(t, r); r.code != 1 || res.Refused == "" {
		t.Fatalf("want a refused run, got exit %d %+v", r.code, res)
	}
	msgs := published(srv)["security"][before:]
	found := false
	for _, m := range msgs {
		found = found || strings.Contains(m.Message, "max_actions_per_run")
	}
	if !found {
		t.Errorf("the refusal did not reach the default route; security got %d message(s)", len(msgs))
	}
	if w := iamWrites(srv); len(w) != 0 {
		t.Errorf("a refused run wrote to IAM: %v", w)
	}
}

// apply asks before sending notices, even when no change is due.
func TestApplyNeedsConsentToNotify(t *testing.T) {
	t.Parallel()
	srv, state := notifyAccount(t)
	r := on(t, "2026-11-28", state, "apply")
	if r.code != 2 || !strings.Contains(r.stderr, "send 3 digest(s)") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if w := srv.Writes(); len(w) != 0 {
		t.Errorf("apply without consent wrote: %v", w)
	}
}

// A run the account guards refuse sends owners nothing but the refusal:
// notices built from a plan that may not be applied must not go out.
func TestRefusedRunSendsNoOwnerNotice(t *testing.T) {
	t.Parallel()
	srv, state := notifyAccount(t)
	planFile := filepath.Join(t.TempDir(), "plan.json")
	_, cfg := demoPaths(t)
	var out, errb strings.Builder
	m := wire(t, &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now})
	if code := m.Run(context.Background(), []string{"plan", "--config", cfg, "--now", "2026-11-28", "--state", state, "--out", planFile}); code != 0 {
		t.Fatalf("plan: exit %d %s", code, errb.String())
	}
	raw, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(raw), `"account": "111122223333",`+"\n  \"source\"", `"account": "444455556666",`+"\n  \"source\"", 1)
	if edited == string(raw) {
		t.Fatalf("the plan file has no top-level account to edit:\n%.400s", raw)
	}
	if err := os.WriteFile(planFile, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	r := on(t, "2026-11-28", state, "apply", planFile, "--yes", "-o", "json")
	if res := decodeRun(t, r); r.code != 1 || !strings.Contains(res.Refused, "plan is for account 444455556666") {
		t.Fatalf("want a refusal by the account guard, got exit %d %+v\n%s", r.code, res, r.stderr)
	}
	got := published(srv)
	if n := len(got["payments"]) + len(got["data"]); n != 0 {
		t.Errorf("a refused run sent %d owner notice(s)", n)
	}
	if len(got["security"]) != 1 || !strings.Contains(got["security"][0].Message, "plan is for account 444455556666") {
		t.Errorf("the default route got %d message(s), want the refusal only", len(got["security"]))
	}
}
