package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/config"
	"github.com/iamprune/iamprune/sqlite"
)

// The demo finding for alice's aged access key, and the key it deactivates.
const (
	aliceFindingID = "65aa927d-7ce4-4bb8-bc4f-f87d4c7138be"
	aliceKey       = "AccessKeys/AKIAP2J3ADGM2EXAMPLE"
	bobFindingID   = "29215e4f-fc5d-4700-abf5-3c0b7f1a09d5"
)

// lambdaConfig is the demo's protection without the prior-notice rule, so
// that the first event remediates.
func lambdaConfig(t *testing.T) string {
	exc := filepath.Join(repoRoot(t), "examples", "demo", "exceptions.yaml")
	return fmt.Sprintf("exceptions: %q\nprotected:\n  - arn:aws:iam::*:role/BreakGlass*\nnotifications:\n  require_prior_notice: false\n", exc)
}

// findingEvent is an "Unused Access Finding for IAM entities" event as
// EventBridge delivers it.
func findingEvent(analyzer, findingID, version string, deleted bool) string {
	ev := map[string]any{
		"version": "0", "id": "dc7ce3ee-114b-3243-e249-7f10f9054b21",
		"detail-type": "Unused Access Finding for IAM entities", "source": "aws.access-analyzer",
		"account": "111122223333", "time": "2026-11-27T18:05:40Z", "region": "us-east-1",
		"resources": []string{analyzer},
		"detail": map[string]any{
			"findingId": findingID, "resource": "arn:aws:iam::111122223333:user/alice",
			"resourceType": "AWS::IAM::User", "accountId": "111122223333",
			"createdAt": "2026-03-08T06:12:44Z", "updatedAt": "2026-11-27T18:00:00Z", "analyzedAt": "2026-11-27T18:00:00Z",
			"previousStatus": "", "status": "ACTIVE", "version": version, "isDeleted": deleted,
			"findingType": "UnusedIAMUserAccessKey", "numberOfUnusedAccessKeys": 1,
		},
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

func sqsEvent(bodies map[string]string) string {
	ids := make([]string, 0, len(bodies))
	for id := range bodies {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var recs []map[string]any
	for _, id := range ids {
		recs = append(recs, map[string]any{
			"messageId": id, "receiptHandle": "AQEB" + id, "body": bodies[id],
			"attributes": map[string]string{"ApproximateReceiveCount": "1"}, "messageAttributes": map[string]any{},
			"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:iamprune", "awsRegion": "us-east-1",
		})
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return string(b)
}

// The bad SQS records: a malformed body, and a failing one: an event from
// another account's analyzer, which this account cannot read.
const (
	goodMsg      = "1-good"
	malformedMsg = "2-malformed"
	failingMsg   = "3-failing"
)

func batchBodies() map[string]string {
	return map[string]string{
		goodMsg:      findingEvent(demoAnalyzer, aliceFindingID, "v1", false),
		malformedMsg: `{"detail-type": "Unused Access Finding for IAM entities", "source": "aws.access-analyzer", "resources": ["` + demoAnalyzer + `"], "detail": {"version": "v1"}}`,
		failingMsg:   findingEvent("arn:aws:access-analyzer:us-east-1:999988887777:analyzer/unused-access-analyzer", bobFindingID, "v1", false),
	}
}

// lambdaLogBuffer is a bytes.Buffer safe for the run's concurrent writers.
type lambdaLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lambdaLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lambdaLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newLambdaTest is a handler in-process against the emulator.
func newLambdaTest(t *testing.T) (*account, *lambdaHandler, *lambdaLogBuffer) {
	a := newAccount(t)
	env := map[string]string{
		"IAMPRUNE_CONFIG_YAML": lambdaConfig(t),
		"IAMPRUNE_STATE":       a.state,
		"IAMPRUNE_NOW":         demoNow,
	}
	var stderr lambdaLogBuffer
	m := wire(t, &Main{
		Stdin: bytes.NewReader(nil), Stdout: io.Discard, Stderr: &stderr,
		Getenv: func(k string) string { return env[k] },
		Now:    time.Now,
	})
	return a, m.newLambdaHandler(), &stderr
}

func invokeJSON(t *testing.T, h *lambdaHandler, event string) (any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return h.invoke(ctx, json.RawMessage(event))
}

func TestLambdaHandlerFinding(t *testing.T) {
	t.Parallel()
	a, h, logs := newLambdaTest(t)
	before := a.dump(t)

	out, err := invokeJSON(t, h, findingEvent(demoAnalyzer, aliceFindingID, "v1", false))
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, logs)
	}
	resp := out.(*lambdaResponse)
	if resp.Outcome != app.OutcomeApplied || resp.Run == nil {
		t.Fatalf("response %+v", resp)
	}
	if got := statuses(*resp.Run); len(got) != 1 || got["deactivate-access-key AKIAP2J3ADGM2EXAMPLE"] != iamprune.ResultDone {
		t.Errorf("results %v, want only the key deactivated", got)
	}
	after := a.dump(t)
	if got := changed(t, before, after); !slices.Equal(got, []string{aliceKey}) {
		t.Errorf("changed %v, want exactly [%s]", got, aliceKey)
	}
	// Logs are JSON lines, for CloudWatch.
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}

	// The same finding version again: deduplicated, no AWS call needed.
	out, err = invokeJSON(t, h, findingEvent(demoAnalyzer, aliceFindingID, "v1", false))
	if err != nil || out.(*lambdaResponse).Outcome != app.OutcomeDuplicate {
		t.Errorf("redelivered event: %+v, %v; want duplicate", out, err)
	}
	// A new version is handled again, and apply's idempotency keeps it a no-op.
	out, err = invokeJSON(t, h, findingEvent(demoAnalyzer, aliceFindingID, "v2", false))
	if err != nil || out.(*lambdaResponse).Outcome != app.OutcomeApplied {
		t.Fatalf("new version: %+v, %v", out, err)
	}
	if got := changed(t, after, a.dump(t)); len(got) != 0 {
		t.Errorf("second version changed %v", got)
	}
}

func TestLambdaHandlerIgnoresDeletedAndMalformed(t *testing.T) {
	t.Parallel()
	a, h, _ := newLambdaTest(t)
	before := a.dump(t)

	out, err := invokeJSON(t, h, findingEvent(demoAnalyzer, aliceFindingID, "v1", true))
	if err != nil || out.(*lambdaResponse).Outcome != app.OutcomeDeleted {
		t.Errorf("isDeleted: %+v, %v; want ignored", out, err)
	}
	for _, ev := range []string{`{"detail-type": "Unused Access Finding for IAM entities"}`, `not json`, `{}`,
		strings.Replace(findingEvent(demoAnalyzer, aliceFindingID, "v1", false), `"findingId"`, `"finding_id"`, 1)} {
		if _, err := invokeJSON(t, h, ev); iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("event %s: error %v, want EINVALID", ev, err)
		}
	}
	if got := changed(t, before, a.dump(t)); len(got) != 0 {
		t.Errorf("changed %v, want nothing", got)
	}
	// Nothing needed the state store, so it was not even created.
	if _, err := os.Stat(a.state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state store created: %v", err)
	}
}

func TestLambdaHandlerSQSBatch(t *testing.T) {
	t.Parallel()
	a, h, logs := newLambdaTest(t)
	before := a.dump(t)
	out, err := invokeJSON(t, h, sqsEvent(batchBodies()))
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, logs)
	}
	resp := out.(lambdaevents.SQSEventResponse)
	var got []string
	for _, f := range resp.BatchItemFailures {
		got = append(got, f.ItemIdentifier)
	}
	slices.Sort(got)
	if want := []string{malformedMsg, failingMsg}; !slices.Equal(got, want) {
		t.Errorf("batchItemFailures %v, want %v\n%s", got, want, logs)
	}
	if got := changed(t, before, a.dump(t)); !slices.Equal(got, []string{aliceKey}) {
		t.Errorf("changed %v, want exactly [%s]", got, aliceKey)
	}
}

// One batch is one read of the account's IAM, however many records.
func TestLambdaHandlerSQSBatchReadsIAMOnce(t *testing.T) {
	t.Parallel()
	a, h, logs := newLambdaTest(t)
	out, err := invokeJSON(t, h, sqsEvent(map[string]string{
		goodMsg:  findingEvent(demoAnalyzer, aliceFindingID, "v1", false),
		"msg-lb": findingEvent(demoAnalyzer, findLegacyRole, "v1", false),
	}))
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, logs)
	}
	if f := out.(lambdaevents.SQSEventResponse).BatchItemFailures; len(f) != 0 {
		t.Fatalf("failures %v\n%s", f, logs)
	}
	reads := authDetailsReads(a)
	if reads != 1 {
		t.Errorf("the batch read the account's authorization details %d times, want once", reads)
	}
}

func TestLambdaHandlerSweep(t *testing.T) {
	t.Parallel()
	a, h, logs := newLambdaTest(t)
	before := a.dump(t)
	out, err := invokeJSON(t, h, `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events","account":"111122223333","time":"2026-11-28T06:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:111122223333:rule/iamprune-sweep"],"detail":{}}`)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, logs)
	}
	if resp := out.(*lambdaResponse); resp.Outcome != app.OutcomeSwept || len(resp.Run.Results) != len(demoRemediations) {
		t.Errorf("response %+v, want the demo's %d remediations", resp.Run, len(demoRemediations))
	}
	if got := changed(t, before, a.dump(t)); !slices.Equal(got, demoChanged) {
		t.Errorf("changed %v, want %v", got, demoChanged)
	}
}

// A scheduled sweep for another account is refused before any change: the
// function sweeps only the account it runs in (or an allowed member).
func TestLambdaSweepOtherAccount(t *testing.T) {
	t.Parallel()
	for _, ev := range []string{
		`{"version":"0","id":"ev-1","detail-type":"Scheduled Event","source":"aws.events","account":"999999999999","time":"2026-11-28T06:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:999999999999:rule/iamprune-sweep"],"detail":{}}`,
		`{"action":"sweep","schedule":"arn:aws:scheduler:us-east-1:999999999999:schedule/default/iamprune","executionId":"ex-1"}`,
	} {
		a, h, logs := newLambdaTest(t)
		before := a.dump(t)
		_, err := invokeJSON(t, h, ev)
		if err == nil || iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), "999999999999") {
			t.Errorf("%s: %v, want EINVALID naming the account\n%s", ev, err, logs)
		}
		if got := changed(t, before, a.dump(t)); len(got) != 0 {
			t.Errorf("a sweep for another account changed %v", got)
		}
	}
}

func TestResolveExceptions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ exc, src, want string }{
		{"exceptions.yaml", "s3://cfg/iamprune/config.yaml", "s3://cfg/iamprune/exceptions.yaml"},
		{"exceptions.yaml", "s3://cfg/config.yaml", "s3://cfg/exceptions.yaml"},
		{"exc.txt", filepath.Join("etc", "iamprune.yaml"), filepath.Join("etc", "exc.txt")},
		{"s3://b/e.yaml", "s3://cfg/c.yaml", "s3://b/e.yaml"},
		{"exceptions.yaml", "", "exceptions.yaml"}, // inline YAML: relative to the working directory
		{"", "s3://cfg/c.yaml", ""},
	} {
		if got := config.Resolve(tt.src, tt.exc); got != tt.want {
			t.Errorf("config.Resolve(%q, %q) = %q, want %q", tt.src, tt.exc, got, tt.want)
		}
	}
}

// Under the real runtime-interface emulator: the built binary is the
// bootstrap, and the invocations go through the Lambda runtime API.
func TestLambdaUnderRIE(t *testing.T) {
	rie := os.Getenv("IAMPRUNE_TEST_LAMBDA_RIE")
	if rie == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("IAMPRUNE_TEST_LAMBDA_RIE is not set: scripts/test installs aws-lambda-rie and sets it")
		}
		t.Skip("IAMPRUNE_TEST_LAMBDA_RIE is not set (scripts/test sets it)")
	}
	a := newProcessAccount(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	invokeAddr, apiAddr := lambdaFreeAddr(t), lambdaFreeAddr(t)
	cmd := exec.Command(rie, "--log-level", "error",
		"--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", apiAddr, bin)
	cmd.Env = append(os.Environ(),
		"IAMPRUNE_CONFIG_YAML="+lambdaConfig(t),
		"IAMPRUNE_STATE="+a.state,
		"IAMPRUNE_NOW="+demoNow,
	)
	var logs lambdaLogBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("rie and function output:\n%s", logs.String())
		}
	})
	lambdaWaitListening(t, invokeAddr)
	url := "http://" + invokeAddr + "/2015-03-31/functions/function/invocations"

	type lambdaError struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	invoke := func(event string) (map[string]any, lambdaError) {
		t.Helper()
		resp, err := http.Post(url, "application/json", strings.NewReader(event))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var le lambdaError
		_ = json.Unmarshal(body, &le)
		var out map[string]any
		if le.ErrorMessage == "" {
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatalf("response %q: %v", body, err)
			}
		}
		return out, le
	}

	before := a.dump(t)
	t.Run("aged key deactivated", func(t *testing.T) {
		out, le := invoke(findingEvent(demoAnalyzer, aliceFindingID, "v1", false))
		if le.ErrorMessage != "" || out["outcome"] != app.OutcomeApplied {
			t.Fatalf("response %v, error %+v", out, le)
		}
		if got := changed(t, before, a.dump(t)); !slices.Equal(got, []string{aliceKey}) {
			t.Errorf("changed %v, want exactly [%s]", got, aliceKey)
		}
	})
	t.Run("isDeleted does nothing", func(t *testing.T) {
		mid := a.dump(t)
		out, le := invoke(findingEvent(demoAnalyzer, bobFindingID, "v1", true))
		if le.ErrorMessage != "" || out["outcome"] != app.OutcomeDeleted {
			t.Fatalf("response %v, error %+v", out, le)
		}
		if got := changed(t, mid, a.dump(t)); len(got) != 0 {
			t.Errorf("changed %v", got)
		}
	})
	t.Run("malformed errors", func(t *testing.T) {
		mid := a.dump(t)
		_, le := invoke(`{"detail-type": "Unused Access Finding for IAM entities", "source": "aws.access-analyzer", "resources": ["` + demoAnalyzer + `"], "detail": {"version": "v1"}}`)
		if !strings.Contains(le.ErrorMessage, "detail.findingId") {
			t.Errorf("error %+v, want one naming detail.findingId", le)
		}
		if got := changed(t, mid, a.dump(t)); len(got) != 0 {
			t.Errorf("changed %v", got)
		}
	})
	t.Run("SQS batch reports the bad records", func(t *testing.T) {
		bodies := batchBodies()
		// A version this process has not seen, so the good record is processed.
		bodies[goodMsg] = findingEvent(demoAnalyzer, aliceFindingID, "v2", false)
		out, le := invoke(sqsEvent(bodies))
		if le.ErrorMessage != "" {
			t.Fatalf("error %+v", le)
		}
		var resp lambdaevents.SQSEventResponse
		b, _ := json.Marshal(out)
		if err := json.Unmarshal(b, &resp); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range resp.BatchItemFailures {
			got = append(got, f.ItemIdentifier)
		}
		slices.Sort(got)
		if want := []string{malformedMsg, failingMsg}; !slices.Equal(got, want) {
			t.Errorf("batchItemFailures %v, want %v (response %s)", got, want, b)
		}
	})
}

func lambdaFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func lambdaWaitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// A record about a principal an earlier record of the batch changed reads
// IAM afresh: the cached facts are stale for it.
func TestLambdaHandlerSQSBatchRereadsChangedPrincipal(t *testing.T) {
	t.Parallel()
	a, h, logs := newLambdaTest(t)
	out, err := invokeJSON(t, h, sqsEvent(map[string]string{
		"1-first":  findingEvent(demoAnalyzer, aliceFindingID, "v1", false),
		"2-second": findingEvent(demoAnalyzer, aliceFindingID, "v2", false),
	}))
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, logs)
	}
	if f := out.(lambdaevents.SQSEventResponse).BatchItemFailures; len(f) != 0 {
		t.Fatalf("failures %v\n%s", f, logs)
	}
	reads := authDetailsReads(a)
	if reads != 2 {
		t.Errorf("read the account's authorization details %d times, want twice (alice changed in between)", reads)
	}
}

// authDetailsReads counts the account reads: first pages of
// GetAccountAuthorizationDetails.
func authDetailsReads(a *account) int {
	reads := 0
	for _, c := range a.srv.Calls() {
		if c.Operation == "GetAccountAuthorizationDetails" && !strings.Contains(c.Params, "Marker=") {
			reads++
		}
	}
	return reads
}

// With a sweep queue (IAMPRUNE_SWEEP_QUEUE_URL, as the stack sets it), a
// scheduled sweep only enqueues; the function then takes the message from
// its SQS event source: while another run holds the account, the message
// is reported for redelivery with nothing changed; once the lock is free,
// it is planned and applied.
func TestLambdaSweepFansOut(t *testing.T) {
	t.Parallel()
	a := newAccount(t)
	sq := sqs.New(sqs.Options{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), BaseEndpoint: aws.String(a.url)})
	created, err := sq.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("sweep")})
	if err != nil {
		t.Fatal(err)
	}
	queue := aws.ToString(created.QueueUrl)
	env := map[string]string{"IAMPRUNE_CONFIG_YAML": lambdaConfig(t), "IAMPRUNE_STATE": a.state, "IAMPRUNE_NOW": demoNow, "IAMPRUNE_SWEEP_QUEUE_URL": queue}
	var logs lambdaLogBuffer
	m := wire(t, &Main{Stdin: bytes.NewReader(nil), Stdout: io.Discard, Stderr: &logs, Getenv: func(k string) string { return env[k] }, Now: time.Now})
	h := m.newLambdaHandler()
	before := a.dump(t)
	out, err := invokeJSON(t, h, `{"version":"0","id":"ev-2","detail-type":"Scheduled Event","source":"aws.events","account":"111122223333","time":"2026-11-28T06:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:111122223333:rule/iamprune-sweep"],"detail":{}}`)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, logs.String())
	}
	resp := out.(*lambdaResponse)
	msgs := a.srv.Messages(queue)
	if resp.Outcome != app.OutcomeEnqueued || resp.Enqueued == nil || resp.Enqueued.Messages != 1 || len(msgs) != 1 || resp.Run != nil {
		t.Fatalf("response %+v, %d message(s) queued", resp, len(msgs))
	}
	if got := changed(t, before, a.dump(t)); len(got) != 0 {
		t.Fatalf("enqueuing changed %v", got)
	}

	st, err := sqlite.Open(a.state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	held, err := st.Lock(context.Background(), "111122223333", iamprune.LockOwner{Host: "another-host", PID: 7}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	batch := sqsEvent(map[string]string{"m-1": msgs[0].Body})
	out, err = invokeJSON(t, h, batch)
	if err != nil {
		t.Fatal(err)
	}
	if f := out.(lambdaevents.SQSEventResponse).BatchItemFailures; len(f) != 1 || f[0].ItemIdentifier != "m-1" {
		t.Errorf("busy account: failures %+v, want m-1", f)
	}
	if got := changed(t, before, a.dump(t)); len(got) != 0 {
		t.Errorf("a busy account changed: %v", got)
	}
	if err := held.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, err = invokeJSON(t, h, batch)
	if err != nil {
		t.Fatal(err)
	}
	if f := out.(lambdaevents.SQSEventResponse).BatchItemFailures; len(f) != 0 {
		t.Errorf("failures %+v\n%s", f, logs.String())
	}
	if got := changed(t, before, a.dump(t)); !slices.Equal(got, demoChanged) {
		t.Errorf("changed %v, want %v", got, demoChanged)
	}
	r := runCLI(t, "history", "--sweep", resp.Enqueued.SweepID, "--state", a.state)
	if r.code != 0 || !strings.Contains(r.stdout, "1 of 1 message(s) done, complete") {
		t.Errorf("history --sweep: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
