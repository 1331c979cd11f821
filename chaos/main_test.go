package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

// demoNow is the day every run plans for, and the emulator's clock, so
// that two runs write byte-identical state.
const demoNow = "2026-11-28T00:00:00Z"

var (
	// bin is the iamprune binary built once by TestMain.
	bin string
	// seed chooses every trial; CHAOS_SEED replays a failed suite.
	seed uint64 = 1
	root string
)

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	code := m.Run()
	if testing.Verbose() || code != 0 {
		printFigures(os.Stdout)
	}
	if code != 0 {
		fmt.Printf("chaos seed %d (replay with CHAOS_SEED=%d)\n", seed, seed)
	}
	os.RemoveAll(filepath.Dir(bin))
	os.Exit(code)
}

func setup() error {
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("CHAOS_SEED %q is not a number", v)
		}
		seed = s
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root = filepath.Dir(wd)
	dir, err := os.MkdirTemp("", "iamprune-chaos-")
	if err != nil {
		return err
	}
	bin = filepath.Join(dir, "iamprune")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command("go", "build", "-o", bin, "./cmd/iamprune")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("cannot build iamprune: %v\n%s", err, out)
	}
	return nil
}

// rng returns the random source of one scenario, fixed by the seed.
func rng(scenario string) *rand.Rand {
	var h uint64 = 1469598103934665603
	for _, c := range []byte(scenario) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return rand.New(rand.NewPCG(seed, h))
}

// account is one trial's account: the emulator serving the demo snapshot
// and a fresh state store.
type account struct {
	t   *testing.T
	srv *emulator.Server
	url string
	dir string
	cfg string
	env []string
}

func newAccount(t *testing.T, opts emulator.Options) *account {
	t.Helper()
	snap, err := snapshot.LoadDir(filepath.Join(root, "examples", "demo", "snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	now, _ := time.Parse(time.RFC3339, demoNow)
	opts.Now = func() time.Time { return now }
	srv := emulator.New(snap, opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	dir := t.TempDir()
	a := &account{t: t, srv: srv, url: ts.URL, dir: dir, cfg: filepath.Join(root, "chaos", "testdata", "iamprune.yaml")}
	a.env = []string{
		"HOME=" + dir,
		"TMPDIR=" + os.TempDir(),
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials"),
		"AWS_ACCESS_KEY_ID=AKIATESTTESTTEST",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=" + ts.URL,
		"XDG_STATE_HOME=" + filepath.Join(dir, "xdg"),
	}
	if v := os.Getenv("GOCOVERDIR"); v != "" {
		a.env = append(a.env, "GOCOVERDIR="+v)
	}
	return a
}

// args completes the flags of an iamprune command for this account.
func (a *account) args(args ...string) []string {
	out := slices.Clone(args)
	switch args[0] {
	case "apply", "plan", "notify":
		out = append(out, "--config", a.cfg, "--now", demoNow)
	}
	out = append(out, "--state", filepath.Join(a.dir, "state.db"))
	if args[0] != "plan" && args[0] != "history" {
		out = append(out, "--audit-log", filepath.Join(a.dir, "audit.jsonl"))
	}
	return out
}

// runTimeout bounds one iamprune run.
var runTimeout = 300 * time.Second

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, tail(r.stdout, 20), tail(r.stderr, 8))
}

// tail keeps the last n lines of s: a failed trial's plan table would
// drown the reason.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) <= n {
		return strings.Join(lines, "\n")
	}
	return fmt.Sprintf("[%d lines]\n", len(lines)-n) + strings.Join(lines[len(lines)-n:], "\n")
}

// command is iamprune with the account's flags and environment.
func (a *account) command(ctx context.Context, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, bin, a.args(args...)...)
	cmd.Env = a.env
	cmd.Stdin = nil
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

// run runs iamprune to its end.
func (a *account) run(args ...string) result {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	start := time.Now()
	defer func() { a.t.Logf("iamprune %s: %v", args[0], time.Since(start).Round(time.Millisecond)) }()
	cmd, out, errb := a.command(ctx, args...)
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		a.t.Fatalf("iamprune %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func (a *account) dump() []byte {
	a.t.Helper()
	b, err := a.srv.Dump()
	if err != nil {
		a.t.Fatal(err)
	}
	return b
}

// runIDs lists the account's apply runs, newest first.
func (a *account) applyRuns() []string {
	a.t.Helper()
	r := a.run("history", "-o", "json", "--limit", "0")
	if r.code != 0 {
		a.t.Fatalf("history: %v", r)
	}
	var h struct {
		Runs []iamprune.Run `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
		a.t.Fatalf("history is not JSON: %v\n%s", err, r.stdout)
	}
	var ids []string
	for _, run := range h.Runs {
		if run.Kind == iamprune.RunApply {
			ids = append(ids, run.ID)
		}
	}
	return ids
}

// rollbackAll rolls back every apply run, newest first, and reports the
// runs whose rollback did not exit 0.
func (a *account) rollbackAll() []string {
	a.t.Helper()
	var bad []string
	for _, id := range a.applyRuns() {
		if r := a.run("rollback", id, "--yes", "-o", "json"); r.code != 0 {
			bad = append(bad, fmt.Sprintf("rollback %s: %v", id, r))
		}
	}
	return bad
}

// restored compares a dump after rollback with the one before apply. A
// deleted login profile comes back as a new one, with its own date, a
// password to change and no last use, so those fields are left out.
func restored(before, after []byte) ([]string, error) {
	b, err := dropLoginVolatiles(before)
	if err != nil {
		return nil, err
	}
	c, err := dropLoginVolatiles(after)
	if err != nil {
		return nil, err
	}
	return emulator.DumpDiff(b, c)
}

// volatileTags are the tags iamprune writes whose values name the run
// and its time: two correct applies differ there.
var volatileTags = map[string]bool{"iamprune:run-id": true, "iamprune:quarantined-at": true}

// normalDump masks the values of volatileTags.
func normalDump(dump []byte) []byte {
	var d map[string]any
	if err := json.Unmarshal(dump, &d); err != nil {
		return dump
	}
	for _, section := range []string{"Users", "Roles"} {
		list, _ := d[section].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			tags, _ := m["Tags"].([]any)
			for _, tag := range tags {
				if tm, ok := tag.(map[string]any); ok {
					if k, _ := tm["Key"].(string); volatileTags[k] {
						tm["Value"] = "(volatile)"
					}
				}
			}
		}
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return dump
	}
	return b
}

// sameState compares two dumps but for volatileTags; it returns the
// entities that differ.
func sameState(want, got []byte) []string {
	d, err := emulator.DumpDiff(normalDump(want), normalDump(got))
	if err != nil {
		return []string{err.Error()}
	}
	return d
}

func dropLoginVolatiles(dump []byte) ([]byte, error) {
	var d map[string]any
	if err := json.Unmarshal(normalDump(dump), &d); err != nil {
		return nil, fmt.Errorf("dump is not JSON: %w", err)
	}
	if lps, ok := d["LoginProfiles"].([]any); ok {
		for _, lp := range lps {
			if m, ok := lp.(map[string]any); ok {
				delete(m, "CreateDate")
				delete(m, "PasswordResetRequired")
				delete(m, "PasswordLastUsed")
			}
		}
	}
	return json.Marshal(d)
}

// reference is one uninterrupted apply of the demo, made once.
type reference struct {
	before, after []byte
	changed       []string // entities the apply changes
	writes        []emulator.Call
	plan          []byte // normalised plan JSON
}

var (
	refOnce sync.Once
	ref     reference
	refErr  error
)

func clean(t *testing.T) reference {
	t.Helper()
	refOnce.Do(func() {
		a := newAccount(t, emulator.Options{})
		ref.before = a.dump()
		p := a.run("plan", "-o", "json")
		if p.code != 0 {
			refErr = fmt.Errorf("clean plan: %v", p)
			return
		}
		if ref.plan, refErr = normalPlan([]byte(p.stdout)); refErr != nil {
			return
		}
		a.srv.ResetCalls()
		if r := a.run("apply", "--yes", "-o", "json"); r.code != 0 {
			refErr = fmt.Errorf("clean apply: %v", r)
			return
		}
		ref.after = a.dump()
		ref.writes = a.srv.Writes()
		if d := writeDuplicates(a.srv); len(d) > 0 {
			refErr = fmt.Errorf("clean apply repeated writes: %v", d)
			return
		}
		ref.changed, refErr = emulator.DumpDiff(ref.before, ref.after)
		if refErr == nil && len(ref.changed) == 0 {
			refErr = errors.New("the clean apply changed nothing")
		}
	})
	if refErr != nil {
		t.Fatal(refErr)
	}
	return ref
}

// normalPlan drops what differs between two plans of the same account:
// the time the plan was made and the path of the config file (scenarios
// use configs that differ only in how AWS is called).
func normalPlan(b []byte) ([]byte, error) {
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("plan is not JSON: %w\n%s", err, b)
	}
	delete(p, "generated_at")
	delete(p, "config")
	return json.MarshalIndent(p, "", "  ")
}

// lost counts the entities the clean apply changes that a trial left as
// they were before: actions that never happened.
func lost(r reference, after []byte) int {
	d, err := emulator.DumpDiff(r.before, after)
	if err != nil {
		return len(r.changed)
	}
	n := 0
	for _, c := range r.changed {
		if !slices.Contains(d, c) {
			n++
		}
	}
	return n
}

// figure is one scenario's row of the table.
type figure struct {
	scenario                                     string
	trials, consistent, writes, duplicates, lost int
}

var (
	figMu   sync.Mutex
	figures = map[string]*figure{}
)

// record adds one trial to a scenario's figures.
func record(scenario string, consistent bool, writes, duplicates, lostActions int) {
	figMu.Lock()
	defer figMu.Unlock()
	f := figures[scenario]
	if f == nil {
		f = &figure{scenario: scenario}
		figures[scenario] = f
	}
	f.trials++
	if consistent {
		f.consistent++
	}
	f.writes += writes
	f.duplicates += duplicates
	f.lost += lostActions
}

func printFigures(w *os.File) {
	figMu.Lock()
	defer figMu.Unlock()
	names := make([]string, 0, len(figures))
	for n := range figures {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\ttrials\tconsistent\twrites\tduplicates\tlost actions\t\n")
	for _, n := range names {
		f := figures[n]
		fmt.Fprintf(tw, "%s\t%d\t%d (%d%%)\t%d\t%d\t%d\t\n", f.scenario, f.trials, f.consistent, 100*f.consistent/max(f.trials, 1), f.writes, f.duplicates, f.lost)
	}
	tw.Flush()
	fmt.Fprintf(w, "chaos seed %d\n", seed)
}

// checkBar asserts the bar of a scenario: 0 duplicates, 0 lost actions,
// every trial consistent.
func checkBar(t *testing.T, scenario string) {
	t.Helper()
	figMu.Lock()
	f := figures[scenario]
	figMu.Unlock()
	if f == nil {
		return // every trial of it was left out by -run
	}
	if f.duplicates != 0 || f.lost != 0 || f.consistent != f.trials {
		t.Errorf("%s: %d/%d consistent, %d duplicates, %d lost actions; the bar is all consistent, 0 and 0 (seed %d)",
			scenario, f.consistent, f.trials, f.duplicates, f.lost, seed)
	}
}

// short keeps a trial count modest under -short.
func trials(n int) int {
	if testing.Short() {
		return max(n/4, 1)
	}
	return n
}

// writeDuplicates returns the writes made more than once (by different
// SDK invocations: a retry of one call is the same write). Reads are
// repeated on purpose, to check an item again before changing it.
func writeDuplicates(srv *emulator.Server) []emulator.Call {
	writes := map[emulator.Call]bool{}
	for _, w := range srv.Writes() {
		writes[w] = true
	}
	var out []emulator.Call
	for _, d := range srv.Duplicates() {
		if writes[d] {
			out = append(out, d)
		}
	}
	return out
}

func joinLines(ss []string) string { return strings.Join(ss, "\n") }
