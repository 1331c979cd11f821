package chaos

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/iamprune/iamprune/emulator"
)

// flaky is a notice endpoint that fails its first n requests, then
// accepts; it counts what it accepted.
type flaky struct {
	mu         sync.Mutex
	fail       int
	status     int    // of the failures
	retryAfter string // Retry-After of the failures, if any
	requests   int
	accepted   int
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.requests <= f.fail {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		w.WriteHeader(f.status)
		return
	}
	f.accepted++
	w.Write([]byte("ok"))
}

func (f *flaky) counts() (requests, accepted int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.accepted
}

// Notice endpoints failing N times: a webhook answering 500, a Slack
// webhook answering 429 with Retry-After, and SNS failing Publish with
// InternalError, each N times. notify succeeds and each digest is
// delivered exactly once.
func TestNoticeEndpointsFailing(t *testing.T) {
	t.Parallel()
	const scenario = "notice endpoints failing"
	t.Run("fails", func(t *testing.T) {
		for _, n := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%d-times", n), func(t *testing.T) {
				t.Parallel()
				noticeTrial(t, scenario, n)
			})
		}
	})
	checkBar(t, scenario)
}

func noticeTrial(t *testing.T, scenario string, n int) {
	hook := &flaky{fail: n, status: http.StatusInternalServerError}
	chat := &flaky{fail: n, status: http.StatusTooManyRequests, retryAfter: "1"}
	hs, cs := httptest.NewServer(hook), httptest.NewServer(chat)
	t.Cleanup(hs.Close)
	t.Cleanup(cs.Close)
	a := newAccount(t, emulator.Options{Topics: []string{"iamprune-security"}})
	topic := a.srv.TopicARN("iamprune-security")
	a.srv.FailNext("Publish", "InternalError", n)
	a.cfg = filepath.Join(a.dir, "iamprune.yaml")
	conf := fmt.Sprintf(`exceptions: %q
protected:
  - arn:aws:iam::*:role/BreakGlass*
notifications:
  channels:
    - {name: hook, type: webhook, url: %q}
    - {name: chat, type: slack, webhook_url: %q}
    - {name: sns, type: sns, topic_arn: %q}
  default: [hook, chat, sns]
`, filepath.Join(root, "examples", "demo", "exceptions.yaml"), hs.URL, cs.URL, topic)
	if err := os.WriteFile(a.cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var problems []string
	if r := a.run("notify", "--yes"); r.code != 0 {
		problems = append(problems, "notify: "+r.String())
	}
	deliveries, duplicates, lostNotices := 0, 0, 0
	count := func(name string, requests, accepted int) {
		deliveries += accepted
		switch {
		case accepted == 0:
			lostNotices++
			problems = append(problems, fmt.Sprintf("%s: no digest delivered after %d tries", name, requests))
		case accepted > 1:
			duplicates += accepted - 1
			problems = append(problems, fmt.Sprintf("%s: the digest was delivered %d times", name, accepted))
		}
	}
	req, acc := hook.counts()
	count("webhook", req, acc)
	req, acc = chat.counts()
	count("slack", req, acc)
	count("sns", len(a.srv.Injected())+len(a.srv.Published(topic)), len(a.srv.Published(topic)))
	record(scenario, len(problems) == 0, deliveries, duplicates, lostNotices)
	if len(problems) > 0 {
		t.Errorf("seed %d, endpoints failing %d times:\n%s", seed, n, joinLines(problems))
	}
}
