package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune/emulator"
)

// The fault flags of `iamprune emulator` reach the SDK, and the control
// endpoint reports them.
func TestEmulatorFaultFlags(t *testing.T) {
	t.Parallel()
	snapDir, _ := demoPaths(t)
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		m := wire(t, &Main{Stdout: pw, Stderr: io.Discard, Getenv: func(string) string { return "" }, Now: time.Now})
		done <- m.Run(ctx, []string{"emulator", "--snapshot", snapDir, "--listen", "127.0.0.1:0",
			"--fail", "TagRole=AccessDenied:2", "--latency", "iam:GetRole=100ms", "--throttle-percent", "0", "--seed", "3",
			"--rate-limit", "iam:GetRole=0.01:1"})
		pw.Close()
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("emulator exit %d", code)
		}
	}()
	sc := bufio.NewScanner(pr)
	var url string
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "export AWS_ENDPOINT_URL="); ok {
			url = u
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		t.Fatal("no endpoint printed")
	}
	c := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIATEST", "test", "")})
	tag := func() error {
		_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("LegacyBatchRole"), Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		return err
	}
	for i := range 2 {
		if err := tag(); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("TagRole %d: %v, want AccessDenied", i, err)
		}
	}
	if err := tag(); err != nil {
		t.Errorf("third TagRole: %v", err)
	}
	start := time.Now()
	if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("LegacyBatchRole")}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("GetRole took %v with --latency iam:GetRole=100ms", d)
	}
	// The bucket of GetRole held one token: the next call is throttled.
	_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("LegacyBatchRole")})
	if err == nil || !strings.Contains(err.Error(), "Throttling") {
		t.Errorf("second GetRole under --rate-limit iam:GetRole=0.01:1: %v, want Throttling", err)
	}
	resp, err := http.Get(url + emulator.ControlPath + "counters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cnt emulator.Counters
	if err := json.NewDecoder(resp.Body).Decode(&cnt); err != nil {
		t.Fatal(err)
	}
	if cnt.Injected != 2 || cnt.Writes != 1 || cnt.Throttled != 1 {
		t.Errorf("counters %+v, want 2 injected, 1 write and 1 throttled", cnt)
	}
}

func TestEmulatorFaultFlagsBad(t *testing.T) {
	t.Parallel()
	snapDir, _ := demoPaths(t)
	for _, args := range [][]string{
		{"--fail", "TagRole"},
		{"--fail", "TagRole=AccessDenied:0"},
		{"--fail", "=AccessDenied"},
		{"--op-latency", "GetRole=soon"},
		{"--throttle-percent", "150"},
		{"--latency", "-1s"},
		{"--latency", "iam:*=soon"},
		{"--rate-limit", "iam=20"},
		{"--rate-limit", "iam:*=-1"},
		{"--rate-limit", "iam:*=20:0"},
	} {
		r := runCLI(t, append([]string{"emulator", "--snapshot", snapDir, "--listen", "127.0.0.1:0"}, args...)...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
}

// A port in use is said once, naming the address (it was said twice).
func TestEmulatorPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	snapDir, _ := demoPaths(t)
	r := runCLI(t, "emulator", "--snapshot", snapDir, "--listen", l.Addr().String())
	if r.code != 1 || strings.Count(r.stderr, "cannot listen on "+l.Addr().String()) != 1 {
		t.Errorf("exit %d, want 1 naming the address once:\n%s", r.code, r.stderr)
	}
}
