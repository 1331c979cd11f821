package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// helperArgsEnv carries the CLI arguments of a re-executed test binary.
const helperArgsEnv = "IAMPRUNE_TEST_HELPER_ARGS"

// TestHelperProcess is the real process of the signal tests: the test binary
// re-executed runs the CLI as main does, signals included. Run directly, it
// checks that a signal context ends cleanly without a signal.
func TestHelperProcess(t *testing.T) {
	t.Parallel()
	raw := os.Getenv(helperArgsEnv)
	if raw == "" {
		ctx, stop := signalContext(context.Background())
		stop()
		if cause := context.Cause(ctx); cause == nil || errors.As(cause, new(*interrupted)) {
			t.Errorf("after stop without a signal the cause is %v", cause)
		}
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		os.Exit(99)
	}
	ctx, stop := signalContext(context.Background())
	code := NewMain().Run(ctx, args)
	stop()
	os.Exit(code)
}

// A plan blocked on an endpoint that never answers stops on SIGTERM and
// SIGINT, exiting 143 and 130.
func TestPlanInterrupted(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			isolateAWS(t)
			called := make(chan struct{}, 1)
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case called <- struct{}{}:
				default:
				}
				select { // never answers
				case <-r.Context().Done():
				case <-release:
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(release) })
			args, _ := json.Marshal([]string{"plan", "--analyzer", "auto", "--state", t.TempDir() + "/state.db"})
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
			cmd.Env = append(os.Environ(), helperArgsEnv+"="+string(args), "AWS_ENDPOINT_URL="+srv.URL)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-called:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("plan made no AWS call within 30s")
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("plan still running 10s after %s", tt.sig)
			}
			if got := cmd.ProcessState.ExitCode(); got != tt.code {
				t.Errorf("exit %d after %s, want %d", got, tt.sig, tt.code)
			}
		})
	}
}
