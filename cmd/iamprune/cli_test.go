package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

// Warnings are structured log records; --log-format json makes them one
// JSON object per line, as CloudWatch wants.
func TestLogFormatJSON(t *testing.T) {
	t.Parallel()
	noAWS(t)
	r := runCLI(t, "plan", "--snapshot", filepath.Join("testdata", "edge"), "--now", demoNow, "--log-format", "json", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	findingWarnings := 0
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if rec["level"] != "WARN" {
			t.Errorf("record %v is not a warning", rec)
		}
		if rec["source"] != nil {
			findingWarnings++
		}
	}
	if findingWarnings != 2 {
		t.Fatalf("want 2 warnings about findings, got:\n%s", r.stderr)
	}
	if r := runCLI(t, "plan", "--log-format", "xml"); r.code != 2 || !strings.Contains(r.stderr, "--log-format") {
		t.Errorf("bad --log-format: exit %d %s", r.code, r.stderr)
	}
}

// Progress goes to stderr only when it is a terminal.
func TestProgressOnlyOnTerminal(t *testing.T) {
	t.Parallel()
	snap, err := snapshot.LoadDir(filepath.Join("testdata", "edge"))
	if err != nil {
		t.Fatal(err)
	}
	_, cfg := emulatortest.Start(t, snap, emulator.Options{})
	inject(t, aws.ToString(cfg.BaseEndpoint), nil)
	for _, tty := range []bool{false, true} {
		var out, errb bytes.Buffer
		m := wire(t, &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now, StderrIsTerminal: tty})
		if code := m.Run(context.Background(), []string{"plan", "--now", demoNow, "--log-level", "error"}); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		shown := strings.Contains(errb.String(), "reading findings")
		if shown != tty {
			t.Errorf("terminal=%v: progress shown=%v: %q", tty, shown, errb.String())
		}
		if strings.Contains(out.String(), "reading findings") {
			t.Error("progress leaked into stdout")
		}
	}
}

// The emulator command prints its URL, serves the real SDK, and stops when
// its context ends (SIGINT/SIGTERM in main).
func TestEmulatorCommand(t *testing.T) {
	t.Parallel()
	noAWS(t)
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	m := wire(t, &Main{Stdout: pw, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- m.Run(ctx, []string{"emulator", "--snapshot", filepath.Join("testdata", "edge"), "--listen", "127.0.0.1:0"})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v (%s)", err, errb.String())
	}
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("ready line has no URL: %q", line)
	}
	url := strings.TrimSpace(line[i:])
	go io.Copy(io.Discard, pr)

	client := sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIATEST", "test", ""),
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "111122223333" {
		t.Errorf("account = %s", aws.ToString(out.Account))
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("emulator exited %d: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not stop")
	}
	if r := runCLI(t, "emulator"); r.code != 2 || !strings.Contains(r.stderr, "--snapshot") {
		t.Errorf("emulator without --snapshot: exit %d %s", r.code, r.stderr)
	}
}

func TestHelpExplainsItself(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"plan", "--help"}, {"emulator", "--help"}, {"demo", "--help"}} {
		r := runCLI(t, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: exit %d, output %q", args, r.code, r.stdout)
		}
	}
	r := runCLI(t, "plan", "--help")
	for _, k := range []string{"notify", "deactivate-access-key", "exempt", "protected", "skip", "--snapshot", "--now", "AWS_ENDPOINT_URL"} {
		if !strings.Contains(r.stdout, k) {
			t.Errorf("plan --help does not mention %s", k)
		}
	}
}
