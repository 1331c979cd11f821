package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/iamprune/iamprune/emulator"
)

// Runner runs the iamprune binary Binary on generated organisations under
// Dir, one child process per measured run, so that its peak RSS is its own.
type Runner struct {
	Binary string
	Dir    string
	// Log receives the progress lines; nil discards. Verbose adds the
	// sweep workers' progress and every rate-limit bucket's figures.
	Log     io.Writer
	Verbose bool
}

// Result is one measured run.
type Result struct {
	Scenario string
	Findings int
	// Calls are the AWS calls the emulator answered (throttled tries
	// excluded), Throttled the tries it throttled.
	Calls, Throttled int
	Wall             time.Duration
	// Bound is the least time the rate limits allow for Calls: over every
	// token bucket, (calls it admitted - its burst) / its rate, the
	// largest. 0 when no limit applies.
	Bound time.Duration
	// RSS is the plan process's peak resident set, in bytes.
	RSS int64
	// Plan is the plan's JSON output.
	Plan []byte
	// Dump is every account's emulator state afterwards, home first;
	// Buckets the emulator's rate-limit figures.
	Dump    []byte
	Buckets []emulator.RateLimitStats
	Note    string
}

// Fraction is Bound / Wall: how close the run came to the rate limits
// (1 is the limit itself); 0 when no limit applies.
func (r Result) Fraction() float64 {
	if r.Bound == 0 || r.Wall == 0 {
		return 0
	}
	return r.Bound.Seconds() / r.Wall.Seconds()
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

// SnapshotPlan generates a single account with s.Units units and plans its
// snapshot.
func (r *Runner) SnapshotPlan(ctx context.Context, name string, s Spec) (Result, error) {
	dir, err := os.MkdirTemp(r.Dir, "snap-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	o, err := Write(dir, Spec{Units: s.Units})
	if err != nil {
		return Result{}, err
	}
	res := Result{Scenario: name, Findings: s.Findings()}
	r.logf("%s: planning %d findings from a snapshot", name, res.Findings)
	out, wall, rss, err := r.plan(ctx, nil, "--snapshot", o.Home)
	res.Plan, res.Wall, res.RSS = out, wall, rss
	return res, err
}

// Emulation is how the emulator behaves in an API run: the values of its
// --latency and --rate-limit flags ("" for none).
type Emulation struct {
	Latency, RateLimit string
}

// APIPlan serves org through `iamprune emulator` with e and plans it
// through the AWS APIs, reaching the members through their role.
func (r *Runner) APIPlan(ctx context.Context, name string, org *Org, e Emulation) (Result, error) {
	res := Result{Scenario: name, Findings: org.Spec.Findings()}
	em, err := r.startEmulator(ctx, org, e)
	if err != nil {
		return res, err
	}
	defer em.stop()
	cfg, err := r.writeConfig(r.Dir)
	if err != nil {
		return res, err
	}
	r.logf("%s: planning %d findings in %d account(s) through the emulator (latency %q, rate limits %q)", name, res.Findings, max(org.Spec.Accounts, 1), e.Latency, e.RateLimit)
	res.Plan, res.Wall, res.RSS, err = r.plan(ctx, em.env(), "--config", cfg)
	if err != nil {
		return res, err
	}
	return res, em.measure(org, &res)
}

// configYAML reaches the members through the generated role.
const configYAML = `accounts:
  role_name: ` + RoleName + `
  external_id: ` + ExternalID + `
notifications:
  require_prior_notice: false
limits:
  max_actions_per_run: 100000
`

// plan runs `iamprune plan -o json` with env added, and measures it.
func (r *Runner) plan(ctx context.Context, env []string, args ...string) (out []byte, wall time.Duration, rss int64, err error) {
	args = append([]string{"plan", "--now", Now, "-o", "json", "--log-level", "error", "--state", filepath.Join(r.Dir, "state.db")}, args...)
	cmd := exec.CommandContext(ctx, r.Binary, args...)
	cmd.Env = append(r.baseEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err = cmd.Start(); err != nil {
		return nil, 0, 0, err
	}
	// The child's own high-water mark: getrusage's maxrss of a child
	// starts from the parent's at fork, VmHWM from its own exec.
	peak := watchRSS(cmd.Process.Pid)
	err = cmd.Wait()
	wall = time.Since(start)
	rss = peak()
	if err != nil {
		return nil, wall, rss, fmt.Errorf("iamprune %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes(), wall, rss, nil
}

// baseEnv isolates the child from the user's AWS setup and state.
func (r *Runner) baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.Dir, "XDG_STATE_HOME=" + r.Dir,
		"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_EC2_METADATA_DISABLED=true"}
}

// emulatorProc is a running `iamprune emulator`.
type emulatorProc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func (r *Runner) startEmulator(ctx context.Context, org *Org, e Emulation) (*emulatorProc, error) {
	args := []string{"emulator", "--snapshot", org.Home, "--listen", "127.0.0.1:0", "--log-level", "error"}
	for _, m := range org.Members {
		args = append(args, "--member", m)
	}
	if e.Latency != "" {
		args = append(args, "--latency", e.Latency)
	}
	if e.RateLimit != "" {
		args = append(args, "--rate-limit", e.RateLimit)
	}
	cmd := exec.CommandContext(ctx, r.Binary, args...)
	cmd.Env = r.baseEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &emulatorProc{cmd: cmd, done: make(chan struct{})}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "export AWS_ENDPOINT_URL="); ok {
			p.url = u
			break
		}
	}
	go func() { io.Copy(io.Discard, stdout); close(p.done) }()
	if p.url == "" {
		p.stop()
		return nil, fmt.Errorf("iamprune emulator printed no endpoint")
	}
	return p, nil
}

func (p *emulatorProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	p.cmd.Wait()
}

func (p *emulatorProc) get(path string, v any) error {
	resp, err := http.Get(p.url + emulator.ControlPath + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("emulator %s: HTTP %d %s", path, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// WriteTable prints results as a Markdown table.
func WriteTable(w io.Writer, rs []Result) {
	fmt.Fprintln(w, "| scenario | findings | AWS calls | calls/finding | throttled | wall time | rate bound | fraction of bound | peak RSS |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		calls, per, thr, bound, frac := "–", "–", "–", "–", "–"
		if r.Calls > 0 {
			calls, per, thr = fmt.Sprint(r.Calls), fmt.Sprintf("%.2f", float64(r.Calls)/float64(r.Findings)), fmt.Sprint(r.Throttled)
		}
		if r.Bound > 0 {
			bound, frac = fmt.Sprintf("%.1f s", r.Bound.Seconds()), fmt.Sprintf("%.2f", r.Fraction())
		}
		name := r.Scenario
		if r.Note != "" {
			name += " (" + r.Note + ")"
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %.2f s | %s | %s | %d MB |\n",
			name, r.Findings, calls, per, thr, r.Wall.Seconds(), bound, frac, (r.RSS+(1<<19))>>20)
	}
}

// DefaultRateLimit is the emulator --rate-limit of the rate-limited run:
// AWS-like per-account buckets for Access Analyzer, IAM and STS.
const DefaultRateLimit = "access-analyzer:*=50,iam:*=20,sts:*=20"

// vmHWM is the peak resident set of a running process, in bytes (0 once
// it is gone, or where /proc has no such figure).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb * 1024
		}
	}
	return 0
}
