package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/iamprune/iamprune/emulator"
)

// FanOutSpec is how a fanned-out sweep is consumed: Workers `iamprune
// worker` processes, each with --concurrency Concurrency.
type FanOutSpec struct {
	Workers, Concurrency int
	// PageSize is the sweep's --page-size (0: the default, an account a
	// message).
	PageSize int
}

// Apply serves org through `iamprune emulator` with e, runs `iamprune
// apply --yes` on it through the AWS APIs, and returns every account's
// state dump afterwards (Result.Dump): the reference a fanned-out sweep
// must reach.
func (r *Runner) Apply(ctx context.Context, name string, org *Org, e Emulation) (Result, error) {
	res := Result{Scenario: name, Findings: org.Spec.Findings()}
	em, err := r.startEmulator(ctx, org, e)
	if err != nil {
		return res, err
	}
	defer em.stop()
	dir, err := os.MkdirTemp(r.Dir, "apply-")
	if err != nil {
		return res, err
	}
	cfg, err := r.writeConfig(dir, unpaced)
	if err != nil {
		return res, err
	}
	r.logf("%s: applying %d findings through the emulator (latency %q, rate limits %q)", name, res.Findings, e.Latency, e.RateLimit)
	args := []string{"apply", "--yes", "--now", Now, "-o", "json", "--log-level", "error", "--config", cfg, "--state", filepath.Join(dir, "state.db")}
	cmd := exec.CommandContext(ctx, r.Binary, args...)
	cmd.Env = append(r.baseEnv(), em.env()...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	rss := watchRSS(cmd.Process.Pid)
	err = cmd.Wait()
	res.Wall, res.RSS = time.Since(start), rss()
	if err != nil {
		return res, fmt.Errorf("iamprune apply: %w\n%s", err, stderr.Bytes())
	}
	return res, em.measure(org, &res)
}

// FanOut serves org through `iamprune emulator` with e and an SQS queue,
// starts spec's workers on the queue, enqueues a sweep (`iamprune sweep
// --queue`), and lets the workers plan and apply it until every message
// is done. Wall is from the start
// of enqueuing to the last message done; RSS the largest worker's peak;
// Calls exclude SQS (the queue's traffic); Dump is every account's state
// afterwards. A sweep that does not complete, or completes with a failed
// message, is an error.
func (r *Runner) FanOut(ctx context.Context, name string, org *Org, e Emulation, spec FanOutSpec) (Result, error) {
	res := Result{Scenario: name, Findings: org.Spec.Findings()}
	em, err := r.startEmulator(ctx, org, e)
	if err != nil {
		return res, err
	}
	defer em.stop()
	dir, err := os.MkdirTemp(r.Dir, "fanout-")
	if err != nil {
		return res, err
	}
	cfg, err := r.writeConfig(dir)
	if err != nil {
		return res, err
	}
	queue, err := em.createQueue(ctx, "iamprune-bench-sweep")
	if err != nil {
		return res, err
	}
	state := filepath.Join(dir, "state.db")
	env := append(r.baseEnv(), em.env()...)
	r.logf("%s: sweeping %d findings in %d account(s) through the emulator's SQS, %d worker(s) x concurrency %d (latency %q, rate limits %q)",
		name, res.Findings, org.Spec.Accounts, spec.Workers, spec.Concurrency, e.Latency, e.RateLimit)

	// The workers wait on the queue first, as long-running consumers do.
	done, finish, err := r.consume(ctx, env, spec, queue, cfg, state)
	if err != nil {
		return res, err
	}
	start := time.Now()
	args := []string{"sweep", "--queue", queue, "--config", cfg, "--state", state, "-o", "json", "--log-level", "error"}
	if spec.PageSize > 0 {
		args = append(args, "--page-size", strconv.Itoa(spec.PageSize))
	}
	sweep := exec.CommandContext(ctx, r.Binary, args...)
	sweep.Env = env
	out, err := sweep.Output()
	if err != nil {
		finish()
		return res, fmt.Errorf("iamprune sweep: %w\n%s", err, stderrOf(err))
	}
	var enq struct {
		Sweep struct {
			ID       string `json:"sweep_id"`
			Messages int    `json:"messages"`
		} `json:"sweep"`
	}
	if err := json.Unmarshal(out, &enq); err != nil || enq.Sweep.ID == "" {
		finish()
		return res, fmt.Errorf("iamprune sweep -o json: %v\n%s", err, out)
	}
	<-done
	res.Wall = time.Since(start)
	res.RSS = finish()
	if err := r.checkSweep(ctx, env, state, enq.Sweep.ID, enq.Sweep.Messages); err != nil {
		return res, err
	}
	return res, em.measure(org, &res)
}

// consume starts spec's workers on queue. done is closed when a worker
// logs that its message completed the sweep (or ctx ends, or ten minutes
// pass); finish then stops the workers and returns their largest peak RSS.
func (r *Runner) consume(ctx context.Context, env []string, spec FanOutSpec, queue, cfg, state string) (done chan struct{}, finish func() int64, err error) {
	var (
		cmds  []*exec.Cmd
		peaks []func() int64
	)
	finish = func() int64 {
		var hwm int64
		for _, p := range peaks {
			hwm = max(hwm, p()) // while the workers live: VmHWM goes with them
		}
		for _, c := range cmds {
			c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range cmds {
			c.Wait()
		}
		return hwm
	}
	complete := make(chan struct{}, 1)
	for range max(spec.Workers, 1) {
		cmd := exec.CommandContext(ctx, r.Binary, "worker", "--queue", queue, "--listen", "", "--wait", "1s",
			"--concurrency", strconv.Itoa(max(spec.Concurrency, 1)), "--lock-retry", "1s",
			"--config", cfg, "--now", Now, "--state", state, "--log-level", "info")
		cmd.Env = env
		pipe, err := cmd.StderrPipe()
		if err != nil {
			finish()
			return nil, nil, err
		}
		if err := cmd.Start(); err != nil {
			finish()
			return nil, nil, err
		}
		cmds, peaks = append(cmds, cmd), append(peaks, watchRSS(cmd.Process.Pid))
		go scanWorker(pipe, r.Log, r.Verbose, complete)
	}
	done = make(chan struct{})
	go func() {
		select {
		case <-complete:
		case <-ctx.Done():
		case <-time.After(10 * time.Minute):
		}
		close(done)
	}()
	return done, finish, nil
}

// doneLine matches a worker's log line for a finished sweep message.
var doneLine = regexp.MustCompile(`msg="sweep: message done".* done=(\d+) expected=(\d+)`)

// scanWorker reads a worker's log, passes its warnings and errors (and,
// verbose, its sweep lines) to log (nil discards), and signals complete when a message it finished
// completed the sweep.
func scanWorker(pipe io.Reader, log io.Writer, verbose bool, complete chan<- struct{}) {
	sc := bufio.NewScanner(pipe)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if log != nil && (strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || verbose && strings.Contains(line, "sweep")) {
			fmt.Fprintln(log, "worker:", line)
		}
		if m := doneLine.FindStringSubmatch(line); m != nil && m[1] == m[2] {
			select {
			case complete <- struct{}{}:
			default:
			}
		}
	}
}

// checkSweep reads the sweep's progress: every message done, none failed.
func (r *Runner) checkSweep(ctx context.Context, env []string, state, id string, messages int) error {
	cmd := exec.CommandContext(ctx, r.Binary, "history", "--sweep", id, "--state", state, "-o", "json")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("iamprune history --sweep %s: %w\n%s", id, err, stderrOf(err))
	}
	var h struct {
		Sweep struct {
			Expected int `json:"expected"`
			Done     int `json:"done"`
		} `json:"sweep"`
		Parts []struct {
			Account string `json:"account"`
			Status  string `json:"status"`
			Detail  string `json:"detail"`
		} `json:"parts"`
	}
	if err := json.Unmarshal(out, &h); err != nil {
		return fmt.Errorf("iamprune history --sweep -o json: %v\n%s", err, out)
	}
	// The sweep command enqueues the first pages; consumers chain the rest.
	if h.Sweep.Expected < messages || h.Sweep.Done != h.Sweep.Expected || len(h.Parts) != h.Sweep.Expected {
		return fmt.Errorf("sweep %s: %d of %d message(s) done (%d part(s)), %d enqueued by the sweep command", id, h.Sweep.Done, h.Sweep.Expected, len(h.Parts), messages)
	}
	for _, p := range h.Parts {
		if p.Status != "done" {
			return fmt.Errorf("sweep %s: account %s %s: %s", id, p.Account, p.Status, p.Detail)
		}
	}
	return nil
}

func stderrOf(err error) []byte {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.Stderr
	}
	return nil
}

// writeConfig writes the benchmark's config in dir, with extra YAML.
func (r *Runner) writeConfig(dir string, extra ...string) (string, error) {
	cfg := filepath.Join(dir, "iamprune-bench.yaml")
	return cfg, os.WriteFile(cfg, []byte(configYAML+strings.Join(extra, "")), 0o644)
}

// unpaced lifts iamprune's own pace (aws.max_requests_per_second), for
// the reference apply, which nothing throttles: it only has to be right,
// and quickly.
const unpaced = "aws:\n  max_requests_per_second: 100000\n"

// env points an iamprune process at the emulator.
func (p *emulatorProc) env() []string {
	return []string{"AWS_ENDPOINT_URL=" + p.url, "AWS_REGION=" + Region, "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench"}
}

// createQueue creates a queue in the home account, as a user would with
// `aws sqs create-queue`, and returns its URL.
func (p *emulatorProc) createQueue(ctx context.Context, name string) (string, error) {
	c := sqs.New(sqs.Options{Region: Region, BaseEndpoint: aws.String(p.url),
		Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", "")})
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("emulator: cannot create queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// measure adds the emulator's counters (SQS excluded), the rate bound and
// every account's state dump to res.
func (p *emulatorProc) measure(org *Org, res *Result) error {
	for _, a := range org.accounts() {
		var c emulator.Counters
		if err := p.get("counters?account="+a, &c); err != nil {
			return err
		}
		res.Calls += c.Calls - c.SQS
		res.Throttled += c.Throttled
		var dump json.RawMessage
		if err := p.get("dump?account="+a, &dump); err != nil {
			return err
		}
		res.Dump = append(append(res.Dump, dump...), '\n')
	}
	var stats []emulator.RateLimitStats
	if err := p.get("ratelimits", &stats); err != nil {
		return err
	}
	res.Bound = rateBound(stats)
	res.Buckets = stats
	return nil
}

// rateBound is the least time the buckets allow for the calls they
// admitted: over every bucket, (admitted - burst) / rate, the largest.
func rateBound(stats []emulator.RateLimitStats) time.Duration {
	var b time.Duration
	for _, s := range stats {
		need := time.Duration(max(float64(s.Admitted)-s.Burst, 0) / s.Rate * float64(time.Second))
		b = max(b, need)
	}
	return b
}

// accounts are the home account and the members.
func (o *Org) accounts() []string {
	out := []string{HomeAccount}
	for i := range o.Spec.Accounts {
		out = append(out, MemberAccount(i))
	}
	return out
}

// watchRSS samples the peak resident set (VmHWM) of process pid every
// 10 ms until the returned function is called, which returns the peak.
// Call it before waiting for the process: VmHWM goes with it.
func watchRSS(pid int) func() int64 {
	stop, peak := make(chan struct{}), make(chan int64, 1)
	go func() {
		var hwm int64
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			hwm = max(hwm, vmHWM(pid))
			select {
			case <-stop:
				peak <- hwm
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(stop); return <-peak }
}

// runTags are the tags whose values name the run that made a change, and
// when: they differ between two runs that made the same changes.
var runTags = regexp.MustCompile(`("Key": "iamprune:(?:run-id|quarantined-at)",\s*"Value": )"[^"]*"`)

// Normalise blanks, in an emulator state dump, the values that name the
// run that made a change and its time, so that the dumps of two runs
// that made the same changes are equal.
func Normalise(dump []byte) []byte {
	return runTags.ReplaceAll(dump, []byte(`$1"-"`))
}
