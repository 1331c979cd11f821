package emulator

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/iamprune/iamprune"
)

// Fault injection beyond FailNext: a seeded share of throttled requests,
// added latency, and holds on the k-th write (to kill a client at an exact
// point). The settings are the organisation's, shared by every account, so
// that one seed gives one sequence whatever account a request acts in. The
// control endpoint (control.go) and `iamprune emulator` flags drive them.

// faults is the organisation's fault settings.
type faults struct {
	mu sync.Mutex
	// percent of requests throttled, in hundredths of a percent (0..10000).
	percent uint64
	seed    uint64
	// n numbers the requests the throttle has judged since it was set.
	n         uint64
	latency   time.Duration
	opLatency map[string]time.Duration
	holds     []*WriteHold
}

// SetThrottlePercent answers percent (0 to 100) of the requests of every
// account with the service's throttling error. Which requests are throttled
// is decided by the seed and the request's number since this call, so the
// same seed gives the same sequence of answers; with concurrent clients
// the order in which requests arrive decides which call gets which answer.
// 0 stops throttling. ThrottleEvery, if set, throttles on top.
func (s *Server) SetThrottlePercent(percent float64, seed int64) error {
	if percent < 0 || percent > 100 || percent != percent {
		return iamprune.Errorf(iamprune.EINVALID, "emulator: throttle percent %v is not between 0 and 100", percent)
	}
	f := s.org.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	f.percent = uint64(percent*100 + 0.5)
	f.seed = uint64(seed)
	f.n = 0
	return nil
}

// SetLatency delays every request of operation by d before it is answered
// (throttled or not); operation "" sets the delay of every operation that
// has none of its own. operation may name its service, as
// SERVICE:OPERATION (iam:GetRole), or all of a service's operations, as
// SERVICE:* (iam:*): a request takes the first delay set of
// SERVICE:OPERATION, OPERATION, SERVICE:* and "". d <= 0 removes the delay.
func (s *Server) SetLatency(operation string, d time.Duration) {
	f := s.org.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	if operation == "" {
		f.latency = max(d, 0)
		return
	}
	if d <= 0 {
		delete(f.opLatency, operation)
		return
	}
	if f.opLatency == nil {
		f.opLatency = map[string]time.Duration{}
	}
	f.opLatency[operation] = d
}

// ResetFaults ends every injected fault of the organisation: pending
// FailNext injections of every account, throttling (ThrottleEvery
// included), rate limits, latency, and write holds, which are released to be served.
// Call logs are kept (ResetCalls empties them).
func (s *Server) ResetFaults() {
	f := s.org.faults
	f.mu.Lock()
	f.percent, f.seed, f.n, f.latency, f.opLatency = 0, 0, 0, 0, nil
	holds := f.holds
	f.holds = nil
	f.mu.Unlock()
	s.org.limits.reset()
	for _, h := range holds {
		h.Release(true)
	}
	s.org.mu.Lock()
	servers := make([]*Server, 0, len(s.org.accounts))
	for _, a := range s.org.accounts {
		servers = append(servers, a)
	}
	s.org.mu.Unlock()
	for _, a := range servers {
		a.mu.Lock()
		a.failNext = nil
		a.every = 0
		a.mu.Unlock()
	}
}

// throttle decides whether the next request is throttled by the percentage.
func (f *faults) throttle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.percent == 0 {
		return false
	}
	f.n++
	return splitmix64(f.seed^(f.n*0x9e3779b97f4a7c15))%10000 < f.percent
}

// splitmix64 is a fixed, well-mixed hash: the throttle sequence must not
// change with Go's math/rand implementation.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// delay is the latency to add to a request of operation in service.
func (f *faults) delay(service, operation string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range [...]string{service + ":" + operation, operation, service + ":*"} {
		if d, ok := f.opLatency[k]; ok {
			return d
		}
	}
	return f.latency
}

// WriteHold stops the k-th write call (counted from HoldWrite) of an
// account before it is served, until released: a test can then kill the
// client at an exact point, and choose whether AWS received the write.
type WriteHold struct {
	account string
	left    int
	reached chan Call
	release chan bool
	once    sync.Once
	done    chan struct{}
}

// HoldWrite holds the k-th write call (k >= 1, as Writes counts them, on
// this server's account) arriving from now on. Reached receives the call
// when it arrives; it then waits for Release.
func (s *Server) HoldWrite(k int) *WriteHold {
	h := &WriteHold{account: s.Account(), left: max(k, 1), reached: make(chan Call, 1), release: make(chan bool, 1), done: make(chan struct{})}
	f := s.org.faults
	f.mu.Lock()
	f.holds = append(f.holds, h)
	f.mu.Unlock()
	return h
}

// Reached receives the held call once it has arrived.
func (h *WriteHold) Reached() <-chan Call { return h.reached }

// Done is closed once the held call has been answered after Release,
// so that the state shows its outcome.
func (h *WriteHold) Done() <-chan struct{} { return h.done }

// Release lets the held call go on: served as usual if serve is true (the
// write happens even if its client is gone), otherwise answered with an
// InternalFailure without touching the state or the call log, as a request
// lost on the way. Only the first Release counts.
func (h *WriteHold) Release(serve bool) {
	h.once.Do(func() { h.release <- serve })
}

// holdWrite counts c against the pending holds of its account and blocks it
// if it is a held one. It returns false when the call must be dropped.
func (s *Server) holdWrite(c Call, r *http.Request) bool {
	if !isWrite(c) {
		return true
	}
	f := s.org.faults
	f.mu.Lock()
	var held *WriteHold
	keep := f.holds[:0]
	for _, h := range f.holds {
		if h.account != s.Account() {
			keep = append(keep, h)
			continue
		}
		if h.left--; h.left == 0 && held == nil {
			held = h
			continue
		}
		keep = append(keep, h)
	}
	f.holds = keep
	f.mu.Unlock()
	if held == nil {
		return true
	}
	if slot, ok := r.Context().Value(holdSlotKey{}).(*holdSlot); ok {
		slot.h = held
	}
	held.reached <- c
	select {
	case serve := <-held.release:
		return serve
	case <-r.Context().Done():
		// The client is gone; the write still reaches the state unless the
		// test says otherwise, so wait for its word.
		return <-held.release
	}
}

// isWrite reports whether c changes state, as Writes counts.
func isWrite(c Call) bool {
	switch c.Service {
	case iamService.Name:
		return iamService.Writes[c.Operation]
	case "access-analyzer":
		return analyzerWrites[c.Operation]
	case "s3":
		return s3Writes[c.Operation]
	case snsService.Name:
		return snsService.Writes[c.Operation]
	case "sqs":
		return sqsWrites[c.Operation]
	}
	return false
}

// Counters are the figures of one account's call logs.
type Counters struct {
	Account string `json:"account"`
	// Calls answered (not throttled, not failed by injection), of which
	// Writes change state.
	Calls  int `json:"calls"`
	Writes int `json:"writes"`
	// SQS are the calls to SQS, counted in Calls: a queue's traffic
	// (long polls included) rather than work on the account.
	SQS int `json:"sqs"`
	// Injected failures (FailNext) and throttled requests.
	Injected  int `json:"injected"`
	Throttled int `json:"throttled"`
	// Duplicates: distinct calls answered more than once (see Duplicates).
	Duplicates int `json:"duplicates"`
	// Pending is the injected failures still to come, by operation.
	Pending map[string]int `json:"pending,omitempty"`
}

// Counters returns the figures of this account's call logs.
func (s *Server) Counters() Counters {
	writes := len(s.Writes())
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Counters{
		Account: s.Account(), Calls: len(s.calls), Writes: writes,
		Injected: len(s.injected), Throttled: len(s.throttled),
		Duplicates: len(duplicates(s.calls, s.invocations)),
	}
	for _, call := range s.calls {
		if call.Service == "sqs" {
			c.SQS++
		}
	}
	for op, inj := range s.failNext {
		if c.Pending == nil {
			c.Pending = map[string]int{}
		}
		c.Pending[op] = inj.n
	}
	return c
}

// holdSlot carries the hold of a request to the end of ServeHTTP, which
// closes its Done once the answer is written.
type holdSlot struct{ h *WriteHold }

type holdSlotKey struct{}

// withHoldSlot prepares r for a write hold; the returned func ends it.
func withHoldSlot(r *http.Request) (*http.Request, func()) {
	slot := &holdSlot{}
	return r.WithContext(context.WithValue(r.Context(), holdSlotKey{}, slot)), func() {
		if slot.h != nil {
			close(slot.h.done)
		}
	}
}
