package awsapi

import (
	"context"
	"sync"
	"time"
)

// Limiter is an adaptive token bucket: it lets Rate requests a second
// through (bursts up to one second's worth), cuts the rate when the
// service answers with throttling, and wins it back slowly as requests
// succeed, never above the configured ceiling nor below a floor. One
// Limiter per service is shared by every client and worker of a process
// (see Policy), so that parallel workers slow down together instead of
// each hammering a throttled service.
type Limiter struct {
	mu      sync.Mutex
	ceiling float64 // requests per second configured; <= 0 means unlimited
	rate    float64 // current rate
	tokens  float64 // may go negative: requests already promised a slot
	last    time.Time
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error

	throttles int64
	// cut is when the rate was last cut: a throttled request sent before
	// it was paced at the old rate and does not cut it again.
	cut time.Time
}

// Adaptive tuning: each throttling answer multiplies the rate by
// limiterDecrease; each success adds ceiling/limiterRecoverySteps, so that
// recovering from the floor takes about that many successful requests.
const (
	limiterDecrease      = 0.7
	limiterFloorDivisor  = 50
	limiterRecoverySteps = 100
)

// NewLimiter returns a limiter at ceiling requests a second; one with a
// ceiling <= 0 never waits.
func NewLimiter(ceiling float64) *Limiter {
	return &Limiter{ceiling: ceiling, rate: ceiling, tokens: max(ceiling, 1), now: time.Now, sleep: sleepCtx}
}

// Wait blocks until the next request may go, or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	if l.ceiling <= 0 {
		l.mu.Unlock()
		return nil
	}
	l.refill()
	l.tokens--
	var wait time.Duration
	if l.tokens < 0 {
		wait = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	return l.sleep(ctx, wait)
}

// refill adds the tokens earned since the last call; l.mu is held.
func (l *Limiter) refill() {
	now := l.now()
	if !l.last.IsZero() {
		l.tokens = min(l.tokens+now.Sub(l.last).Seconds()*l.rate, l.burst())
	}
	l.last = now
}

func (l *Limiter) burst() float64 { return max(l.rate, 1) }

func (l *Limiter) floor() float64 { return l.ceiling / limiterFloorDivisor }

// Throttled records a throttling answer: the rate drops, and the bucket's
// burst is spent so that the next requests are spaced at the new rate.
func (l *Limiter) Throttled() { l.ThrottledSent(time.Time{}) }

// ThrottledSent records a throttling answer to a request sent at sent (a
// zero sent: unknown). The rate is cut once per congestion, as TCP does:
// requests already in flight when it was cut were sent at the old rate,
// and their throttling says nothing of the new one, so they only count.
// Without this, the answers to the parallel requests of one burst would
// cut the rate many times over, far below what the service allows.
func (l *Limiter) ThrottledSent(sent time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.throttles++
	if l.ceiling <= 0 || !sent.IsZero() && sent.Before(l.cut) {
		return
	}
	l.refill()
	l.rate = max(l.rate*limiterDecrease, l.floor())
	l.tokens = min(l.tokens, 0)
	l.cut = l.now()
}

// Succeeded records an answer that was not throttling: the rate recovers
// by a small step.
func (l *Limiter) Succeeded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ceiling <= 0 || l.rate >= l.ceiling {
		return
	}
	l.refill()
	l.rate = min(l.rate+l.ceiling/limiterRecoverySteps, l.ceiling)
}

// Rate returns the current rate in requests a second (0: unlimited).
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ceiling <= 0 {
		return 0
	}
	return l.rate
}

// Throttles returns how many throttling answers the limiter saw.
func (l *Limiter) Throttles() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.throttles
}

// setCeiling changes the configured rate, keeping how far below it the
// current rate is.
func (l *Limiter) setCeiling(c float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ceiling > 0 && c > 0 {
		l.rate = l.rate / l.ceiling * c
	} else {
		l.rate = c
	}
	l.ceiling = c
	l.tokens = min(l.tokens, max(c, 1))
}
