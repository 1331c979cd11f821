package worker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

const account = "111122223333"

// env is the emulator's SQS behind an httptest server and a real SDK
// client whose calls the metrics count.
type env struct {
	emu     *emulator.Server
	url     string
	client  *sqs.Client
	metrics *Metrics
}

func newEnv(t *testing.T) *env {
	t.Helper()
	emu, cfg := emulatortest.Start(t, &snapshot.Snapshot{Meta: snapshot.Meta{AccountID: account, Region: "us-east-1"}}, emulator.Options{})
	m := NewMetrics()
	retryer := cfg.Retryer
	cfg.Retryer = func() aws.Retryer { return retry.AddWithMaxAttempts(retryer(), 2) }
	cfg.APIOptions = append(cfg.APIOptions, m.CountAWSCalls)
	return &env{emu: emu, url: aws.ToString(cfg.BaseEndpoint), client: sqs.NewFromConfig(cfg), metrics: m}
}

// queue creates a queue, with a dead-letter queue NAME-dlq when
// maxReceive > 0, and returns its URL.
func (e *env) queue(t *testing.T, name string, maxReceive int) string {
	t.Helper()
	attrs := map[string]string{}
	if maxReceive > 0 {
		if _, err := e.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")}); err != nil {
			t.Fatal(err)
		}
		attrs["RedrivePolicy"] = `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:` + account + `:` + name + `-dlq","maxReceiveCount":` + string(rune('0'+maxReceive)) + `}`
	}
	out, err := e.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl)
}

func (e *env) send(t *testing.T, url string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := e.client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) bodies(queue string) []string {
	var out []string
	for _, m := range e.emu.Messages(queue) {
		out = append(out, m.Body)
	}
	return out
}

// recorder is a Process that counts calls by body and fails or blocks on
// chosen bodies.
type recorder struct {
	mu    sync.Mutex
	calls map[string]int
	fail  map[string]bool
	// block holds a body's processing until the channel is closed (or ctx
	// ends, which fails it); started is signalled when it begins.
	block   map[string]chan struct{}
	started chan string
}

func newRecorder() *recorder {
	return &recorder{calls: map[string]int{}, fail: map[string]bool{}, block: map[string]chan struct{}{}, started: make(chan string, 100)}
}

func (r *recorder) process(ctx context.Context, body []byte) error {
	b := string(body)
	r.mu.Lock()
	r.calls[b]++
	fail, block := r.fail[b], r.block[b]
	r.mu.Unlock()
	r.started <- b
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail {
		return errors.New("poison")
	}
	return nil
}

func (r *recorder) count(b string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[b]
}

// start runs w in the background; stop cancels it and returns Run's
// error and how long it took to return.
func start(t *testing.T, w *Worker) (stop func() (time.Duration, error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stopped := false
	stop = func() (time.Duration, error) {
		stopped = true
		at := time.Now()
		cancel()
		select {
		case err := <-done:
			return time.Since(at), err
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after cancel")
			return 0, nil
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return stop
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWorkerDeletesOnlyAfterSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q := e.queue(t, "work", 0)
	rec := newRecorder()
	release := make(chan struct{})
	rec.block["slow"] = release
	e.send(t, q, "a", "slow", "b")
	w := &Worker{Client: e.client, QueueURL: q, Process: rec.process, Wait: time.Second, Visibility: 30 * time.Second, Concurrency: 3, Metrics: e.metrics}
	stop := start(t, w)

	eventually(t, 5*time.Second, "a and b deleted", func() bool { return slices.Equal(e.bodies(q), []string{"slow"}) })
	msgs := e.emu.Messages(q)
	if !msgs[0].InFlight {
		t.Errorf("slow message is not in flight while processed: %+v", msgs[0])
	}
	close(release)
	eventually(t, 5*time.Second, "slow deleted", func() bool { return len(e.bodies(q)) == 0 })
	if _, err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	for _, b := range []string{"a", "slow", "b"} {
		if n := rec.count(b); n != 1 {
			t.Errorf("%s processed %d times, want 1", b, n)
		}
	}
	if got := counter(t, e.metrics, "iamprune_findings_processed_total"); got != "3" {
		t.Errorf("findings processed = %s, want 3", got)
	}
}

func TestWorkerPoisonMessageIsRedriven(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q := e.queue(t, "work", 2)
	rec := newRecorder()
	rec.fail["poison"] = true
	e.send(t, q, "poison", "ok1", "ok2")
	// One at a time: the poison message must not hold the others back.
	w := &Worker{Client: e.client, QueueURL: q, Process: rec.process, Wait: time.Second, Visibility: time.Second, Concurrency: 1, Metrics: e.metrics}
	stop := start(t, w)

	eventually(t, 5*time.Second, "ok messages processed", func() bool { return rec.count("ok1") == 1 && rec.count("ok2") == 1 })
	eventually(t, 10*time.Second, "poison redriven", func() bool {
		return len(e.bodies(q)) == 0 && slices.Equal(e.bodies("work-dlq"), []string{"poison"})
	})
	if _, err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if n := rec.count("poison"); n != 2 {
		t.Errorf("poison processed %d times, want maxReceiveCount (2)", n)
	}
	if n := rec.count("ok1") + rec.count("ok2"); n != 2 {
		t.Errorf("ok messages processed %d times, want 2", n)
	}
	if got := counter(t, e.metrics, "iamprune_errors_total"); got != "2" {
		t.Errorf("errors = %s, want 2", got)
	}
	if got := counter(t, e.metrics, "iamprune_findings_processed_total"); got != "2" {
		t.Errorf("findings processed = %s, want 2", got)
	}
}

func TestWorkerExtendsVisibilityOfSlowMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q := e.queue(t, "work", 0)
	rec := newRecorder()
	release := make(chan struct{})
	rec.block["slow"] = release
	e.send(t, q, "slow")
	// Two slots, so that the free one would receive the slow message again
	// if its 2 s timeout ran out.
	w := &Worker{Client: e.client, QueueURL: q, Process: rec.process, Wait: time.Second, Visibility: 2 * time.Second, Concurrency: 2, Metrics: e.metrics}
	stop := start(t, w)
	<-rec.started
	time.Sleep(3500 * time.Millisecond)
	if msgs := e.emu.Messages(q); len(msgs) != 1 || !msgs[0].InFlight {
		t.Errorf("slow message after 3.5 s = %+v, want in flight", msgs)
	}
	close(release)
	eventually(t, 5*time.Second, "slow deleted", func() bool { return len(e.bodies(q)) == 0 })
	if _, err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if n := rec.count("slow"); n != 1 {
		t.Errorf("slow processed %d times, want 1", n)
	}
	extended := 0
	for _, c := range e.emu.Calls() {
		if c.Operation == "ChangeMessageVisibility" {
			extended++
		}
	}
	if extended < 2 {
		t.Errorf("ChangeMessageVisibility called %d times in 3.5 s with a 2 s timeout, want at least 2", extended)
	}
}

func TestWorkerGracefulShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q := e.queue(t, "work", 0)
	rec := newRecorder()
	release := make(chan struct{})
	rec.block["inflight"] = release
	e.send(t, q, "inflight")
	w := &Worker{Client: e.client, QueueURL: q, Process: rec.process, Wait: time.Second, Visibility: 30 * time.Second, Metrics: e.metrics}
	stop := start(t, w)
	<-rec.started
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	took, err := stop()
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if took < 250*time.Millisecond {
		t.Errorf("Run returned after %v, before the message in flight finished", took)
	}
	if got := e.bodies(q); len(got) != 0 {
		t.Errorf("message finished during shutdown was not deleted: %v", got)
	}
	// No receive after shutdown: a message sent now stays.
	e.send(t, q, "late")
	time.Sleep(100 * time.Millisecond)
	if n := rec.count("late"); n != 0 {
		t.Errorf("message received after shutdown")
	}
}

func TestWorkerShutdownIsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q := e.queue(t, "work", 0)
	rec := newRecorder()
	rec.block["stuck"] = make(chan struct{}) // never released
	e.send(t, q, "stuck")
	w := &Worker{Client: e.client, QueueURL: q, Process: rec.process, Wait: time.Second, Visibility: 30 * time.Second, Drain: 200 * time.Millisecond}
	stop := start(t, w)
	<-rec.started
	took, err := stop()
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if took > 3*time.Second {
		t.Errorf("Run took %v to return with a 200 ms drain", took)
	}
	// Cancelled, so failed: the message stays for another consumer.
	if got := e.bodies(q); !slices.Equal(got, []string{"stuck"}) {
		t.Errorf("queue after bounded shutdown = %v, want [stuck]", got)
	}
}

func TestWorkerHealthAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q := e.queue(t, "work", 0)
	rec := newRecorder()
	w := &Worker{Client: e.client, QueueURL: q, Process: rec.process, Wait: time.Second, Visibility: 30 * time.Second, Metrics: e.metrics}
	e.metrics.Action("deactivate-access-key", "applied")
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz before Run = %d, want 503", code)
	}

	// A failing receive makes the worker unhealthy until one succeeds.
	e.emu.FailNext("ReceiveMessage", "AccessDenied", 1000)
	stop := start(t, w)
	eventually(t, 5*time.Second, "unhealthy while receives fail", func() bool { code, _ := get("/healthz"); return code == 503 && len(e.emu.Injected()) > 0 })
	e.emu.FailNext("ReceiveMessage", "", 0)
	eventually(t, 10*time.Second, "healthy once receives succeed", func() bool { code, _ := get("/healthz"); return code == 200 })

	e.send(t, q, "one")
	eventually(t, 5*time.Second, "message processed", func() bool { return len(e.bodies(q)) == 0 })
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		"iamprune_findings_processed_total 1",
		`iamprune_actions_total{kind="deactivate-access-key",status="applied"} 1`,
		`iamprune_aws_calls_total{operation="DeleteMessage"} 1`,
		`iamprune_aws_calls_total{operation="SendMessage"} 1`,
		`iamprune_aws_calls_total{operation="ReceiveMessage"}`,
		"iamprune_errors_total ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if got := counter(t, e.metrics, "iamprune_errors_total"); got == "0" {
		t.Error("failed receives were not counted as errors")
	}
	if _, err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz after Run = %d, want 503", code)
	}
}

func TestWorkerMissingQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := &Worker{Client: e.client, QueueURL: e.url + "/" + account + "/nope", Process: newRecorder().process, Wait: time.Second}
	err := w.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Run on a missing queue = %v", err)
	}
	if err := (&Worker{}).Run(context.Background()); err == nil {
		t.Error("Run without a client succeeded")
	}
}

// counter reads an unlabelled counter's value as /metrics prints it.
func counter(t *testing.T, m *Metrics, name string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return "0"
}

// A message Process cannot take now (RetryLater) is put back, visible
// again after the delay asked rather than the long visibility timeout, and
// counted as no error; processed the next time, it is deleted.
func TestWorkerRetryLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q := e.queue(t, "work", 0)
	var (
		mu    sync.Mutex
		tries []time.Time
	)
	process := func(ctx context.Context, body []byte) error {
		mu.Lock()
		defer mu.Unlock()
		tries = append(tries, time.Now())
		if len(tries) == 1 {
			return &RetryLater{After: time.Second, Err: errors.New("account 444455556666 is locked")}
		}
		return nil
	}
	e.send(t, q, "busy")
	w := &Worker{Client: e.client, QueueURL: q, Process: process, Wait: time.Second, Visibility: 60 * time.Second, Concurrency: 1, Metrics: e.metrics}
	stop := start(t, w)
	eventually(t, 10*time.Second, "the message processed again and deleted", func() bool { return len(e.bodies(q)) == 0 })
	if _, err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tries) != 2 {
		t.Fatalf("processed %d times, want 2", len(tries))
	}
	if d := tries[1].Sub(tries[0]); d < 900*time.Millisecond || d > 8*time.Second {
		t.Errorf("put back for %s, want about 1s (not the 60s visibility timeout)", d)
	}
	if got := counter(t, e.metrics, "iamprune_errors_total"); got != "0" {
		t.Errorf("errors = %s, want 0", got)
	}
}
