package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

// A digest whose SNS publish fails for longer than the SDK retries is sent
// again by the notice layer: delivered once per route, and notify exits 0.
func TestNoticeRetriedThroughCLI(t *testing.T) {
	t.Parallel()
	srv, state := notifyAccount(t)
	// One notice attempt is 1+12 SDK attempts: 20 failures outlast the
	// first and part of the second.
	srv.FailNext("Publish", "InternalError", 20)
	r := on(t, "2026-11-28", state, "notify", "--yes", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for name, msgs := range published(srv) {
		if len(msgs) != 1 {
			t.Errorf("%s: %d digests published, want exactly 1", name, len(msgs))
		}
	}
	var out struct{ Notifications []iamprune.NotificationResult }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if n := out.Notifications; len(n) == 0 || n[0].Status != iamprune.NoticeSent || n[0].Attempts != 2 {
		t.Errorf("notifications %+v, want the first sent on its 2nd attempt", n)
	}
}

// failingHook is a webhook endpoint that always answers 500.
func failingHook(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// hookConfig is the demo policy without prior notice, notifying only a
// webhook.
func hookConfig(t *testing.T, url string) string {
	t.Helper()
	root := repoRoot(t)
	conf := "exceptions: " + filepath.Join(root, "examples", "demo", "exceptions.yaml") + "\n" +
		"protected: ['arn:aws:iam::*:role/BreakGlass*']\n" +
		"notifications:\n  require_prior_notice: false\n  owner_tags: [team, owner]\n" +
		"  channels:\n    - {name: hook, type: webhook, url: \"" + url + "\"}\n  default: [hook]\n"
	p := filepath.Join(t.TempDir(), "iamprune.yaml")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A digest lost after every retry fails notify and apply (exit 1); apply's
// changes stand and are reported.
func TestLostNoticeFailsTheRun(t *testing.T) {
	t.Parallel()
	t.Run("notify", func(t *testing.T) {
		_, state := notifyAccount(t)
		hook, requests := failingHook(t)
		cfg := hookConfig(t, hook.URL)
		r := runCLI(t, "notify", "--yes", "--config", cfg, "--now", demoNow, "--state", state, "-o", "json")
		if r.code != 1 {
			t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
		}
		if got := requests.Load(); got != 6 {
			t.Errorf("%d requests to the endpoint, want 1 + 5 retries", got)
		}
		if !strings.Contains(r.stdout, `"status": "failed"`) || !strings.Contains(r.stdout, "after 6 attempts") {
			t.Errorf("output does not report the lost digest:\n%s", r.stdout)
		}
	})
	t.Run("apply", func(t *testing.T) {
		a := newAccount(t)
		hook, requests := failingHook(t)
		cfg := hookConfig(t, hook.URL)
		r := runCLI(t, "apply", "--yes", "-o", "json", "--config", cfg, "--now", demoNow, "--state", a.state,
			"--audit-log", filepath.Join(a.dir, "audit.jsonl"))
		if r.code != 1 {
			t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
		}
		res := decodeRun(t, r)
		done := 0
		for _, x := range res.Results {
			if x.Status == iamprune.ResultDone {
				done++
			}
		}
		if done == 0 || res.Refused != "" {
			t.Errorf("the run's changes were not reported: %+v", res)
		}
		failed := 0
		for _, n := range res.Notifications {
			if n.Status == iamprune.NoticeFailed {
				failed++
			}
		}
		if failed == 0 || requests.Load() != int32(6*failed) {
			t.Errorf("%d failed notices, %d requests; want each tried 6 times", failed, requests.Load())
		}
		if len(iamWrites(a.srv)) == 0 {
			t.Error("no IAM change was made")
		}
	})
}

// throttledAccount serves the demo snapshot, throttling every Nth request
// (0: none), at a fixed clock so that dumps of two runs compare.
func throttledAccount(t *testing.T, every int) (*emulator.Server, string, string) {
	t.Helper()
	snapDir, _ := demoPaths(t)
	snap, err := snapshot.LoadDir(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	srv, cfg := emulatortest.Start(t, snap, emulator.Options{ThrottleEvery: every, PageSize: 2, Now: func() time.Time { return at }})
	inject(t, aws.ToString(cfg.BaseEndpoint), nil)
	dir := t.TempDir()
	return srv, filepath.Join(dir, "state.db"), dir
}

// With half or a third of all requests throttled, plan and apply give what
// they give unthrottled: the same plan, the same results, the same account
// afterwards, and no call made twice.
func TestThrottleStormPlanAndApply(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join("testdata", "no-prior-notice", "iamprune.yaml")
	run := func(t *testing.T, every int) (plan string, results map[string]string, dump []byte, srv *emulator.Server) {
		srv, state, dir := throttledAccount(t, every)
		r := runCLI(t, "plan", "--config", cfg, "--now", demoNow, "--state", state, "-o", "json")
		p := decodePlan(t, r)
		b, _ := json.Marshal(p.Actions)
		if d := srv.Duplicates(); len(d) > 0 {
			t.Errorf("every %d throttled: plan made calls twice: %v", every, d)
		}
		r = runCLI(t, "apply", "--yes", "-o", "json", "--config", cfg, "--now", demoNow, "--state", state,
			"--audit-log", filepath.Join(dir, "audit.jsonl"))
		if r.code != 0 {
			t.Fatalf("apply with every %d throttled: exit %d\n%s", every, r.code, r.stderr)
		}
		res := decodeRun(t, r)
		d, err := srv.Dump()
		if err != nil {
			t.Fatal(err)
		}
		// Run ids differ between runs (the quarantine tags carry them).
		d = bytes.ReplaceAll(d, []byte(res.RunID), []byte("RUN"))
		return string(b), statuses(res), d, srv
	}
	calls := func(srv *emulator.Server) []string {
		var out []string
		for _, c := range srv.Calls() {
			out = append(out, c.Service+" "+c.Operation) // params carry the run id
		}
		slices.Sort(out)
		return out
	}
	cleanPlan, cleanResults, cleanDump, cleanSrv := run(t, 0)
	if len(cleanResults) == 0 {
		t.Fatal("the clean apply did nothing")
	}
	for _, every := range []int{2, 3} {
		plan, results, dump, srv := run(t, every)
		if plan != cleanPlan {
			t.Errorf("every %d throttled: the plan differs from the clean one", every)
		}
		if !reflect.DeepEqual(results, cleanResults) {
			t.Errorf("every %d throttled: results %v, want %v", every, results, cleanResults)
		}
		if d, err := emulator.DumpDiff(cleanDump, dump); err != nil || len(d) > 0 {
			t.Errorf("every %d throttled: the account differs from the clean run's: %v %v", every, d, err)
		}
		if len(srv.Throttled()) == 0 {
			t.Errorf("every %d: nothing was throttled", every)
		}
		// Retries are invisible: the calls answered are the clean run's.
		if got, want := calls(srv), calls(cleanSrv); !slices.Equal(got, want) {
			t.Errorf("every %d throttled: %d calls answered, the clean run %d: %s", every, len(got), len(want), callDiff(got, want))
		}
	}
}

func TestMaxRetriesFlag(t *testing.T) {
	t.Parallel()
	srv, state, _ := throttledAccount(t, 1) // everything throttled
	cfg := filepath.Join("testdata", "no-prior-notice", "iamprune.yaml")
	r := runCLI(t, "plan", "--config", cfg, "--now", demoNow, "--state", state, "--max-retries", "3")
	if r.code != 1 || !strings.Contains(r.stderr, "Rate exceeded") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := len(srv.Throttled()); n != 4 {
		t.Errorf("%d attempts with --max-retries 3, want 4", n)
	}
	if r := runCLI(t, "plan", "--max-retries", "-2"); r.code != 2 {
		t.Errorf("--max-retries -2: exit %d", r.code)
	}
}

// callDiff names the calls answered more or fewer times in got than in want.
func callDiff(got, want []string) string {
	n := map[string]int{}
	for _, c := range got {
		n[c]++
	}
	for _, c := range want {
		n[c]--
	}
	var out []string
	for c, d := range n {
		if d != 0 {
			out = append(out, fmt.Sprintf("%s %+d", c, d))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
