package emulator

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iamprune/iamprune"
)

// Per-operation rate limits, as AWS enforces them: a token bucket per
// account and operation (or per account and service, for a SERVICE:* rule),
// refilled at Rate tokens a second up to Burst. A request that finds its
// bucket empty is answered with the service's throttling error, exactly as
// a throttle injected by SetThrottlePercent is (Throttling from IAM, STS
// and SNS, ThrottlingException from Access Analyzer and SQS, SlowDown from
// S3), and takes no token. The rules are the organisation's; every account
// has buckets of its own, as AWS limits each account separately.

// RateLimit is one rule: requests of Operation in Service ("iam",
// "access-analyzer", "sts", "sns", "s3", "sqs": the SigV4 signing name)
// are allowed Rate a second, with bursts of up to Burst. Operation "*" is
// one bucket shared by every operation of the service that has no rule
// of its own.
type RateLimit struct {
	Service   string  `json:"service"`
	Operation string  `json:"operation"`
	Rate      float64 `json:"rate"`
	Burst     float64 `json:"burst"`
}

// String renders r as ParseRateLimits reads it.
func (r RateLimit) String() string {
	return r.Service + ":" + r.Operation + "=" + strconv.FormatFloat(r.Rate, 'f', -1, 64) + ":" + strconv.FormatFloat(r.Burst, 'f', -1, 64)
}

// ParseRateLimits reads a comma-separated list of
// SERVICE:OPERATION=RATE[:BURST], such as
// "iam:*=20,access-analyzer:GetFindingV2=50:10". RATE is requests a second
// (> 0; 0 removes the rule when given to SetRateLimit); BURST defaults to
// one second's worth (RATE, at least 1).
func ParseRateLimits(s string) ([]RateLimit, error) {
	var out []RateLimit
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		r, err := parseRateLimit(item)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func parseRateLimit(s string) (RateLimit, error) {
	bad := iamprune.Errorf(iamprune.EINVALID, "emulator: rate limit %q: want SERVICE:OPERATION=RATE[:BURST] with RATE >= 0 a second, such as iam:*=20 or access-analyzer:GetFindingV2=50:10", s)
	key, val, ok := strings.Cut(s, "=")
	svc, op, ok2 := strings.Cut(key, ":")
	if !ok || !ok2 || svc == "" || op == "" {
		return RateLimit{}, bad
	}
	rs, bs, hasBurst := strings.Cut(val, ":")
	rate, err := strconv.ParseFloat(rs, 64)
	if err != nil || rate < 0 || rate != rate {
		return RateLimit{}, bad
	}
	r := RateLimit{Service: svc, Operation: op, Rate: rate, Burst: max(rate, 1)}
	if hasBurst {
		b, err := strconv.ParseFloat(bs, 64)
		if err != nil || b < 1 {
			return RateLimit{}, bad
		}
		r.Burst = b
	}
	return r, nil
}

// RateLimitStats are the figures of one bucket: its rule, the account it
// belongs to, and the requests it let through and throttled.
type RateLimitStats struct {
	Account string `json:"account"`
	RateLimit
	Admitted  int `json:"admitted"`
	Throttled int `json:"throttled"`
}

// limits are the organisation's rules and every account's buckets.
type limits struct {
	mu      sync.Mutex
	now     func() time.Time
	rules   map[string]RateLimit // by SERVICE:OPERATION
	buckets map[bucketKey]*bucket
}

type bucketKey struct{ account, service, op string }

type bucket struct {
	rule      RateLimit
	tokens    float64
	last      time.Time
	admitted  int
	throttled int
}

// SetRateLimit sets a rule for every account (see RateLimit); a rate of 0
// removes it. The buckets of the rule start full.
func (s *Server) SetRateLimit(r RateLimit) error {
	if r.Service == "" || r.Operation == "" || r.Rate < 0 || r.Rate != r.Rate {
		return iamprune.Errorf(iamprune.EINVALID, "emulator: rate limit %s: want a service, an operation (or *) and a rate >= 0", r)
	}
	if r.Burst < 1 {
		r.Burst = max(r.Rate, 1)
	}
	l := s.org.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	key := r.Service + ":" + r.Operation
	for k := range l.buckets {
		if k.service == r.Service && k.op == r.Operation {
			delete(l.buckets, k)
		}
	}
	if r.Rate == 0 {
		delete(l.rules, key)
		return nil
	}
	if l.rules == nil {
		l.rules = map[string]RateLimit{}
	}
	l.rules[key] = r
	return nil
}

// RateLimits returns the figures of every bucket used so far, sorted by
// account, service and operation.
func (s *Server) RateLimits() []RateLimitStats {
	l := s.org.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]RateLimitStats, 0, len(l.buckets))
	for k, b := range l.buckets {
		out = append(out, RateLimitStats{Account: k.account, RateLimit: b.rule, Admitted: b.admitted, Throttled: b.throttled})
	}
	slices.SortFunc(out, func(a, b RateLimitStats) int {
		return strings.Compare(a.Account+"\x00"+a.Service+"\x00"+a.Operation, b.Account+"\x00"+b.Service+"\x00"+b.Operation)
	})
	return out
}

// reset removes every rule and bucket.
func (l *limits) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rules, l.buckets = nil, nil
}

// take spends a token of the bucket of (account, service, op), if a rule
// covers it; false means the request must be throttled.
func (l *limits) take(account, service, op string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.rules) == 0 {
		return true
	}
	r, ok := l.rules[service+":"+op]
	if !ok {
		if r, ok = l.rules[service+":*"]; !ok {
			return true
		}
	}
	k := bucketKey{account, r.Service, r.Operation}
	now := l.now()
	b := l.buckets[k]
	if b == nil {
		b = &bucket{rule: r, tokens: r.Burst, last: now}
		if l.buckets == nil {
			l.buckets = map[bucketKey]*bucket{}
		}
		l.buckets[k] = b
	}
	b.tokens = min(b.tokens+now.Sub(b.last).Seconds()*r.Rate, r.Burst)
	b.last = now
	if b.tokens < 1 {
		b.throttled++
		return false
	}
	b.tokens--
	b.admitted++
	return true
}
