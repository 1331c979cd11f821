package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func TestWorkerUsage(t *testing.T) {
	t.Parallel()
	noAWS(t)
	r := runCLI(t, "worker", "--help")
	if r.code != 0 {
		t.Fatalf("--help: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"--queue", "--listen", "--concurrency", "--config", "--state", "/healthz", "/metrics", "dead-letter"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("worker --help lacks %q", want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"worker"}, "--queue is required"},
		{[]string{"worker", "--queue", "https://sqs.us-east-1.amazonaws.com/111122223333/q", "--concurrency", "0"}, "--concurrency"},
		{[]string{"worker", "--queue", "https://sqs.us-east-1.amazonaws.com/111122223333/q", "--wait", "30s"}, "--wait"},
	} {
		if r := runCLI(t, tc.args...); r.code != exitInvalid || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %s", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// The worker processes an EventBridge finding event from the queue as
// the Lambda function does: the aged key is deactivated, exactly that,
// and the message deleted; a malformed body is left in the queue to be
// redriven. It serves /healthz and /metrics, counts its AWS calls and
// actions, and stops on cancel with exit 0.
func TestWorkerCommand(t *testing.T) {
	t.Parallel()
	a := newAccount(t)
	sq := sqs.New(sqs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		BaseEndpoint: aws.String(a.url),
	})
	created, err := sq.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("findings")})
	if err != nil {
		t.Fatal(err)
	}
	queue := aws.ToString(created.QueueUrl)

	if r := runCLI(t, "worker", "--queue", strings.TrimSuffix(queue, "findings")+"nope", "--listen", "", "--wait", "1s", "--state", a.state); r.code != exitProblems || !strings.Contains(r.stderr, "nope") {
		t.Errorf("missing queue: exit %d, %s", r.code, r.stderr)
	}

	event, err := os.ReadFile(filepath.Join("testdata", "worker", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	before := a.dump(t)
	for _, body := range []string{"not json", string(event)} {
		if _, err := sq.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}

	addr := freeAddr(t)
	var out, errb syncBuffer
	m := wire(t, &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- m.Run(ctx, []string{"worker", "--queue", queue, "--listen", addr, "--wait", "1s", "--visibility", "2s",
			"--config", filepath.Join("testdata", "no-prior-notice", "iamprune.yaml"), "--now", demoNow, "--state", a.state})
	}()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("timed out waiting for %s; stderr:\n%s", what, errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("healthy", func() bool { code, _ := get("/healthz"); return code == http.StatusOK })
	// The event's message is deleted; the malformed one stays.
	waitFor("event processed", func() bool {
		msgs := a.srv.Messages(queue)
		return len(msgs) == 1 && msgs[0].Body == "not json" && msgs[0].ReceiveCount > 0
	})
	if got := changed(t, before, a.dump(t)); !slices.Equal(got, []string{"AccessKeys/AKIAP2J3ADGM2EXAMPLE"}) {
		t.Errorf("changed = %v, want exactly the aged key", got)
	}
	code, metrics := get("/metrics")
	for _, want := range []string{
		"iamprune_findings_processed_total 1",
		`iamprune_actions_total{kind="deactivate-access-key"`,
		`iamprune_aws_calls_total{operation="ReceiveMessage"}`,
		`iamprune_aws_calls_total{operation="UpdateAccessKey"} 1`,
		`iamprune_aws_calls_total{operation="GetFindingV2"}`,
	} {
		if code != http.StatusOK || !strings.Contains(metrics, want) {
			t.Errorf("/metrics (%d) lacks %q:\n%s", code, want, metrics)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("worker exit %d after cancel: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("worker did not stop after cancel")
	}
	if !strings.Contains(errb.String(), "processing failed; message left for retry or redrive") {
		t.Errorf("the malformed message's error is not logged:\n%s", errb.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the worker's goroutines and the
// test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// On SIGTERM the worker drains and exits 0, as its help and
// docs/deployment.md say: stopping is how a container's worker ends (it
// used to exit 143 like an interrupted command).
func TestWorkerExitsZeroOnSIGTERM(t *testing.T) {
	t.Parallel()
	a := newAccount(t)
	sq := sqs.New(sqs.Options{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), BaseEndpoint: aws.String(a.url)})
	created, err := sq.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("idle")})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	m := wire(t, &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now})
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	done := make(chan int, 1)
	go func() {
		done <- m.Run(ctx, []string{"worker", "--queue", aws.ToString(created.QueueUrl), "--listen", "", "--wait", "1s", "--state", a.state})
	}()
	time.Sleep(300 * time.Millisecond)
	cancel(&interrupted{sig: syscall.SIGTERM})
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("worker exit %d after SIGTERM, want 0: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("worker did not stop after SIGTERM")
	}
}
