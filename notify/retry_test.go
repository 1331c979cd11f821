package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/iamprune/iamprune"
)

// flakyEndpoint answers its first fail requests with status (and
// Retry-After when given), then 204; it counts the deliveries it accepted.
type flakyEndpoint struct {
	mu         sync.Mutex
	fail       int
	status     int
	retryAfter string
	requests   int
	delivered  []string // X-Iamprune-Delivery of each accepted request
}

func (f *flakyEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	f.delivered = append(f.delivered, r.Header.Get(HeaderDelivery))
	w.WriteHeader(http.StatusNoContent)
}

// sleeps records the waits a Sender asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func webhookSender(t *testing.T, ep *flakyEndpoint, sl *sleeps) (*Sender, []Delivery) {
	t.Helper()
	srv := httptest.NewServer(ep)
	t.Cleanup(srv.Close)
	hook := &Webhook{Channel: iamprune.Channel{Name: "hook", Type: iamprune.ChannelWebhook, URL: srv.URL}}
	ds := twoDeliveries(t)[1:]
	ds[0].Channels = []string{"hook"}
	return &Sender{Notifiers: map[string]iamprune.Notifier{"hook": hook}, Sleep: sl.sleep}, ds
}

// A digest survives an endpoint that fails a few times: it is delivered
// exactly once, after backing off between tries, with the default retries.
func TestSenderWebhookRecovers(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		ep := &flakyEndpoint{fail: 3, status: status}
		sl := &sleeps{}
		s, ds := webhookSender(t, ep, sl)
		rep := s.Send(context.Background(), ds, "run")
		if rep.Failed() || rep.Channels[0].Attempts != 4 {
			t.Errorf("HTTP %d x3: report %+v, want sent after 4 attempts", status, rep.Channels)
		}
		if len(ep.delivered) != 1 || ep.requests != 4 {
			t.Errorf("HTTP %d x3: %d deliveries in %d requests, want 1 in 4", status, len(ep.delivered), ep.requests)
		}
		if len(sl.d) != 3 {
			t.Errorf("HTTP %d x3: %d waits, want 3", status, len(sl.d))
		}
		for i, d := range sl.d {
			if d < 0 || d > BackoffCeiling(i+1) {
				t.Errorf("wait %d = %v, outside [0, %v]", i+1, d, BackoffCeiling(i+1))
			}
		}
	}
}

// An endpoint that never recovers fails the delivery after the default
// retries: 1 + DefaultRetries requests, and the error says so.
func TestSenderWebhookGivesUp(t *testing.T) {
	ep := &flakyEndpoint{fail: 1 << 30, status: http.StatusInternalServerError}
	sl := &sleeps{}
	s, ds := webhookSender(t, ep, sl)
	rep := s.Send(context.Background(), ds, "run")
	c := rep.Channels[0]
	if !rep.Failed() || c.Status != iamprune.NoticeFailed || c.Attempts != DefaultRetries+1 || ep.requests != DefaultRetries+1 {
		t.Fatalf("report %+v after %d requests, want failed after %d", c, ep.requests, DefaultRetries+1)
	}
	if !strings.Contains(c.Error, "HTTP 500") || !strings.Contains(c.Error, "after 6 attempts") {
		t.Errorf("error %q", c.Error)
	}
	if len(sl.d) != DefaultRetries {
		t.Errorf("%d waits, want %d", len(sl.d), DefaultRetries)
	}
}

// A client error other than 429 is the request's fault: never retried.
func TestSenderWebhookClientErrorNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 410, 413} {
		ep := &flakyEndpoint{fail: 1, status: status}
		sl := &sleeps{}
		s, ds := webhookSender(t, ep, sl)
		rep := s.Send(context.Background(), ds, "run")
		if !rep.Failed() || rep.Channels[0].Attempts != 1 || ep.requests != 1 || len(sl.d) != 0 {
			t.Errorf("HTTP %d: report %+v, %d requests, %d waits; want one failed attempt", status, rep.Channels, ep.requests, len(sl.d))
		}
	}
}

// Retry-After, in seconds or as an HTTP date, is waited for when it is
// longer than the backoff, and capped at MaxRetryAfter.
func TestSenderHonoursRetryAfter(t *testing.T) {
	tests := []struct {
		name, header string
		min, max     time.Duration
	}{
		{"seconds", "7", 7 * time.Second, 7 * time.Second},
		{"date", time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat), 15 * time.Second, 20 * time.Second},
		{"capped", "86400", MaxRetryAfter, MaxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := &flakyEndpoint{fail: 1, status: http.StatusTooManyRequests, retryAfter: tt.header}
			sl := &sleeps{}
			s, ds := webhookSender(t, ep, sl)
			s.Backoff = func(int) time.Duration { return time.Millisecond }
			rep := s.Send(context.Background(), ds, "run")
			if rep.Failed() || len(ep.delivered) != 1 {
				t.Fatalf("report %+v, %d deliveries", rep.Channels, len(ep.delivered))
			}
			if len(sl.d) != 1 || sl.d[0] < tt.min || sl.d[0] > tt.max {
				t.Errorf("waits %v, want one in [%v, %v]", sl.d, tt.min, tt.max)
			}
		})
	}
}

// flakySNS fails its first fail publishes with err.
type flakySNS struct {
	fakeSNS
	fail int
	err  error
}

func (f *flakySNS) Publish(ctx context.Context, in *sns.PublishInput, opt ...func(*sns.Options)) (*sns.PublishOutput, error) {
	if len(f.inputs) < f.fail {
		f.inputs = append(f.inputs, in)
		return nil, f.err
	}
	return f.fakeSNS.Publish(ctx, in, opt...)
}

// SNS throttling and server faults are retried; client faults are not.
func TestSenderSNSRetries(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		attempts int
		sent     bool
	}{
		{"throttled", &smithy.GenericAPIError{Code: "Throttled", Fault: smithy.FaultClient}, 3, true},
		{"throttling", &smithy.GenericAPIError{Code: "Throttling", Fault: smithy.FaultClient}, 3, true},
		{"server fault", &smithy.GenericAPIError{Code: "InternalError", Fault: smithy.FaultServer}, 3, true},
		{"network", errors.New("dial tcp: connection refused"), 3, true},
		{"not found", &smithy.GenericAPIError{Code: "NotFound", Fault: smithy.FaultClient}, 1, false},
		{"denied", &smithy.GenericAPIError{Code: "AuthorizationError", Fault: smithy.FaultClient}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flakySNS{fail: 2, err: tt.err}
			ch := &SNS{Channel: iamprune.Channel{Name: "sns", Type: iamprune.ChannelSNS, TopicARN: testTopic}, Client: f}
			sl := &sleeps{}
			s := &Sender{Notifiers: map[string]iamprune.Notifier{"sns": ch}, Sleep: sl.sleep}
			rep := s.Send(context.Background(), twoDeliveries(t)[1:], "run")
			c := rep.Channels[0]
			if c.Attempts != tt.attempts || (c.Status == iamprune.NoticeSent) != tt.sent {
				t.Errorf("report %+v, want %d attempts, sent %v", c, tt.attempts, tt.sent)
			}
		})
	}
}

// SMTP 4xx replies and dropped connections are retried, 5xx are not.
func TestSenderEmailRetryClassification(t *testing.T) {
	for _, tt := range []struct {
		err  error
		temp bool
	}{
		{classifySMTP(errors.New("read tcp: connection reset by peer")), true},
		{classifySMTP(&textproto.Error{Code: 421, Msg: "try later"}), true},
		{classifySMTP(&textproto.Error{Code: 451, Msg: "greylisted"}), true},
		{classifySMTP(&textproto.Error{Code: 550, Msg: "no such user"}), false},
	} {
		if Temporary(tt.err) != tt.temp {
			t.Errorf("Temporary(%v) = %v, want %v", tt.err, !tt.temp, tt.temp)
		}
	}
}
