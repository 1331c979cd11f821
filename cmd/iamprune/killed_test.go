package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// cliEnv, when set in the environment, makes the test binary run the CLI
// with these arguments (a JSON list) instead of the tests: a real process
// for tests to kill.
const cliEnv = "IAMPRUNE_TEST_CLI_ARGS"

func TestMain(m *testing.M) {
	if s := os.Getenv(cliEnv); s != "" {
		var args []string
		if err := json.Unmarshal([]byte(s), &args); err != nil {
			panic(err)
		}
		os.Exit(NewMain().Run(context.Background(), args))
	}
	os.Exit(m.Run())
}

// hangingProxy forwards to the emulator but holds the n-th IAM write
// until the client goes away, never forwarding it: the process is caught
// in the middle of an apply, holding the lock.
type hangingProxy struct {
	url  string
	hung chan string // the operation held
}

func newHangingProxy(t *testing.T, target string, n int) *hangingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &hangingProxy{hung: make(chan string, 1)}
	var mu sync.Mutex
	writes := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		op := form.Get("Action")
		if isWrite(op) {
			mu.Lock()
			writes++
			hold := writes == n
			mu.Unlock()
			if hold {
				p.hung <- op
				<-r.Context().Done()
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func isWrite(op string) bool {
	for _, p := range []string{"Put", "Delete", "Tag", "Untag", "Update", "Attach", "Detach", "Create"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// An apply killed with SIGKILL in the middle of its changes leaves its
// lock and a running run. history shows the run as interrupted at once;
// the next apply and a rollback of the killed run succeed at once, without
// waiting for the lease: the lock's holder is a dead process of this host.
func TestKilledApplyRecoversAtOnce(t *testing.T) {
	acct := newProcessAccount(t)
	proxy := newHangingProxy(t, acct.url, 2)
	args, _ := json.Marshal(acct.args(t, "apply", "--yes", "-o", "json"))
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), cliEnv+"="+string(args), "AWS_ENDPOINT_URL="+proxy.url)
	var out bytes.Buffer
	child.Stdout, child.Stderr = &out, &out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case op := <-proxy.hung:
		t.Logf("killing the apply during %s", op)
	case <-time.After(60 * time.Second):
		child.Process.Kill()
		t.Fatalf("the apply never reached its second write:\n%s", out.String())
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	h := runCLI(t, acct.args(t, "history", "-o", "json")...)
	var hist struct{ Runs []iamprune.Run }
	if err := json.Unmarshal([]byte(h.stdout), &hist); err != nil || len(hist.Runs) != 1 {
		t.Fatalf("history: %v\n%s%s", err, h.stdout, h.stderr)
	}
	killed := hist.Runs[0]
	if killed.Status != iamprune.RunInterrupted || !strings.Contains(killed.Detail, "no longer runs on this host") {
		t.Errorf("history shows the killed run as %s (%s), want interrupted", killed.Status, killed.Detail)
	}

	start := time.Now()
	r := runCLI(t, acct.args(t, "apply", "--yes", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("apply after kill -9: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "broke the stale lock of account") {
		t.Errorf("no warning about the stale lock:\n%s", r.stderr)
	}
	rb := runCLI(t, acct.args(t, "rollback", killed.ID, "--yes", "-o", "json")...)
	if rb.code != 0 {
		t.Fatalf("rollback of the killed run: exit %d\n%s", rb.code, rb.stderr)
	}
	undone := 0
	for _, a := range decodeRun(t, rb).Results {
		if a.Status == iamprune.ResultDone {
			undone++
		}
	}
	if undone != 1 {
		t.Errorf("rollback undid %d changes, want the one the killed run made: %s", undone, rb.stdout)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("recovery took %s: it waited for the lease", d)
	}
	h = runCLI(t, acct.args(t, "history", "-o", "json")...)
	if err := json.Unmarshal([]byte(h.stdout), &hist); err != nil {
		t.Fatal(err)
	}
	for _, run := range hist.Runs {
		if run.ID == killed.ID && run.Status != iamprune.RunInterrupted {
			t.Errorf("killed run recorded as %s, want interrupted", run.Status)
		}
	}
}
