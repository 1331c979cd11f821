package awsapi

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

// fastPolicy is the default policy with backoff in milliseconds, so that
// tests of many retries stay fast.
func fastPolicy() *Policy {
	p := DefaultRetryPolicy()
	p.BaseDelay, p.MaxBackoff, p.RequestsPerSecond = 100*time.Microsecond, time.Millisecond, 5000
	return NewPolicy(p)
}

// limiterClock drives a Limiter: sleeping advances it.
type limiterClock struct {
	t     time.Time
	slept []time.Duration
}

func (c *limiterClock) now() time.Time { return c.t }
func (c *limiterClock) sleep(_ context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
	return nil
}

func newTestLimiter(ceiling float64) (*Limiter, *limiterClock) {
	c := &limiterClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := NewLimiter(ceiling)
	l.now, l.sleep = c.now, c.sleep
	return l, c
}

func TestLimiterPaces(t *testing.T) {
	l, c := newTestLimiter(10)
	ctx := context.Background()
	for range 10 { // one second's burst goes at once
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.slept) != 0 {
		t.Fatalf("the burst waited: %v", c.slept)
	}
	start := c.t
	for range 20 {
		_ = l.Wait(ctx)
	}
	if got := c.t.Sub(start); got < 1900*time.Millisecond || got > 2100*time.Millisecond {
		t.Errorf("20 requests past the burst took %v at 10/s, want 2s", got)
	}
}

func TestLimiterAdapts(t *testing.T) {
	l, c := newTestLimiter(20)
	l.Throttled()
	if r := l.Rate(); r != 20*limiterDecrease {
		t.Fatalf("rate after a throttle %v, want %v", r, 20*limiterDecrease)
	}
	// The burst is spent: the next request waits a slot at the new rate.
	_ = l.Wait(context.Background())
	if len(c.slept) != 1 || c.slept[0] < time.Second/15 {
		t.Errorf("waits after a throttle: %v", c.slept)
	}
	for range 100 {
		l.Throttled()
	}
	if r := l.Rate(); r != 20.0/limiterFloorDivisor {
		t.Errorf("rate after a storm %v, want the floor %v", r, 20.0/limiterFloorDivisor)
	}
	// Recovery is slow: ten successes win back a tenth of the ceiling.
	for range 10 {
		l.Succeeded()
	}
	if r := l.Rate(); r < 2.3 || r > 2.5 {
		t.Errorf("rate after 10 successes %v, want about 2.4", r)
	}
	for range 1000 {
		l.Succeeded()
	}
	if r := l.Rate(); r != 20 {
		t.Errorf("rate after recovery %v, want the ceiling 20", r)
	}
	if l.Throttles() != 101 {
		t.Errorf("throttles %d", l.Throttles())
	}
	unlimited, c2 := newTestLimiter(0)
	for range 1000 {
		_ = unlimited.Wait(context.Background())
	}
	unlimited.Throttled()
	if len(c2.slept) != 0 || unlimited.Rate() != 0 {
		t.Errorf("an unlimited limiter waited %v", c2.slept)
	}
}

func TestRetryPolicyBackoff(t *testing.T) {
	p := DefaultRetryPolicy()
	for attempt := 1; attempt <= 15; attempt++ {
		ceiling := min(p.MaxBackoff, p.BaseDelay<<attempt)
		for range 20 {
			if d := p.Backoff(attempt); d < 0 || d > ceiling {
				t.Fatalf("Backoff(%d) = %v, outside [0, %v]", attempt, d, ceiling)
			}
		}
	}
	if d := p.Backoff(1000); d > p.MaxBackoff {
		t.Errorf("Backoff(1000) = %v", d)
	}
}

// A service that throttles every request is tried MaxRetries+1 times, and
// a policy changed after the client was made applies to it.
func TestPolicyRetriesThrottling(t *testing.T) {
	isolateEnv(t)
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>`))
	}))
	defer srv.Close()
	policy := fastPolicy()
	cfg, counter, err := LoadConfig(context.Background(), Options{Region: "us-east-1", Endpoint: srv.URL, Policy: policy,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	client := iam.NewFromConfig(cfg)
	if _, err := client.ListUsers(context.Background(), &iam.ListUsersInput{}); err == nil || !IsThrottle(err) {
		t.Fatalf("err = %v, want throttling", err)
	}
	if n := requests.Load(); n != DefaultMaxRetries+1 || counter.Attempts() != DefaultMaxRetries+1 || counter.Total() != 1 {
		t.Errorf("%d requests, counter %d attempts %d calls; want %d attempts of 1 call", n, counter.Attempts(), counter.Total(), DefaultMaxRetries+1)
	}
	if th := policy.Throttles()["IAM"]; th != DefaultMaxRetries+1 {
		t.Errorf("limiter saw %d throttles, want %d", th, DefaultMaxRetries+1)
	}
	rp := policy.Get()
	rp.MaxRetries = 2
	policy.Set(rp)
	requests.Store(0)
	_, _ = client.ListUsers(context.Background(), &iam.ListUsersInput{})
	if n := requests.Load(); n != 3 {
		t.Errorf("after Set(MaxRetries: 2): %d requests, want 3", n)
	}
	// Copies (member accounts) share the policy.
	member := cfg.Copy()
	requests.Store(0)
	_, _ = iam.NewFromConfig(member).ListUsers(context.Background(), &iam.ListUsersInput{})
	if n := requests.Load(); n != 3 {
		t.Errorf("member config: %d requests, want 3", n)
	}
}

// Reads through the emulator with half and a third of all requests
// throttled give exactly what unthrottled reads give, with no call made
// twice.
func TestThrottleStorm(t *testing.T) {
	snap, err := snapshot.LoadDir(filepath.Join("testdata", "emulator", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	read := func(t *testing.T, every int) (string, *emulator.Server, *Counter, *Policy) {
		isolateEnv(t)
		emu := emulator.New(snap, emulator.Options{PageSize: 2, ThrottleEvery: every})
		srv := httptest.NewServer(emu)
		t.Cleanup(srv.Close)
		policy := fastPolicy()
		cfg, counter, err := LoadConfig(context.Background(), Options{Region: snap.Meta.Region, Endpoint: srv.URL, Policy: policy,
			Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
		if err != nil {
			t.Fatal(err)
		}
		findings, warnings, err := NewFindingSource(cfg, "auto").Findings(context.Background())
		if err != nil {
			t.Fatalf("findings with every %d throttled: %v", every, err)
		}
		facts, err := NewFacts(cfg).Facts(context.Background(), findings)
		if err != nil {
			t.Fatalf("facts with every %d throttled: %v", every, err)
		}
		b, _ := json.Marshal([]any{findings, warnings, facts})
		return string(b), emu, counter, policy
	}
	clean, _, _, _ := read(t, 0)
	for _, every := range []int{2, 3} {
		got, emu, counter, policy := read(t, every)
		if got != clean {
			t.Errorf("every %d throttled: the reads differ from unthrottled ones", every)
		}
		if d := emu.Duplicates(); len(d) > 0 {
			t.Errorf("every %d throttled: calls made twice: %v", every, d)
		}
		th := len(emu.Throttled())
		if th == 0 || counter.Attempts() != counter.Total()+th {
			t.Errorf("every %d throttled: %d throttled, counter %d calls %d attempts", every, th, counter.Total(), counter.Attempts())
		}
		sum := int64(0)
		for _, n := range policy.Throttles() {
			sum += n
		}
		if sum != int64(th) {
			t.Errorf("every %d throttled: limiters saw %d throttles, emulator sent %d", every, sum, th)
		}
	}
}

// The config's documented defaults are the policy's.
func TestConfigDefaultsMatchPolicy(t *testing.T) {
	c, p := iamprune.DefaultConfig().AWS, DefaultRetryPolicy()
	if c.MaxRetries != p.MaxRetries || c.MaxRequestsPerSecond != p.RequestsPerSecond {
		t.Errorf("config defaults %+v, policy defaults %+v", c, p)
	}
}

// Throttling answers to requests sent before the last cut do not cut the
// rate again: the parallel requests of one burst cut it once, not once
// each (which would sink it far below what the service allows).
func TestLimiterCutsOncePerCongestion(t *testing.T) {
	l, c := newTestLimiter(20)
	sent := c.t
	c.t = c.t.Add(10 * time.Millisecond)
	for range 8 { // eight requests of one burst come back throttled
		l.ThrottledSent(sent)
	}
	if r := l.Rate(); r != 20*limiterDecrease {
		t.Fatalf("rate after one burst throttled %v, want one cut to %v", r, 20*limiterDecrease)
	}
	c.t = c.t.Add(10 * time.Millisecond)
	later := c.t
	c.t = c.t.Add(10 * time.Millisecond)
	l.ThrottledSent(later) // sent at the new rate: cut again
	if r := l.Rate(); math.Abs(r-20*limiterDecrease*limiterDecrease) > 1e-9 {
		t.Errorf("rate after a throttle at the new rate %v, want %v", r, 20*limiterDecrease*limiterDecrease)
	}
	if l.Throttles() != 9 {
		t.Errorf("throttles %d, want every answer counted", l.Throttles())
	}
}
