package emulator

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// Fault fails the next N calls of an operation with an AWS error code.
type Fault struct {
	Op, Code string
	N        int
}

// ParseFault reads OP=CODE[:N], such as TagRole=AccessDenied:2; N is 1
// when omitted and must be at least 1.
func ParseFault(s string) (Fault, error) {
	op, rest, ok := strings.Cut(s, "=")
	code, count, hasCount := strings.Cut(rest, ":")
	n := 1
	if hasCount {
		var err error
		if n, err = strconv.Atoi(count); err != nil || n < 1 {
			ok = false
		}
	}
	if !ok || op == "" || code == "" {
		return Fault{}, iamprune.Errorf(iamprune.EINVALID, "emulator: fault %q: want OP=CODE[:N] with N >= 1, such as TagRole=AccessDenied:2", s)
	}
	return Fault{Op: op, Code: code, N: n}, nil
}

// ParseOpLatency reads [SERVICE:]OP=DURATION, such as GetRole=250ms,
// iam:GetRole=250ms or iam:*=20ms (every IAM operation; see SetLatency).
func ParseOpLatency(s string) (op string, d time.Duration, err error) {
	op, ds, ok := strings.Cut(s, "=")
	d, perr := time.ParseDuration(ds)
	if !ok || op == "" || strings.HasSuffix(op, ":") || perr != nil || d < 0 {
		return "", 0, iamprune.Errorf(iamprune.EINVALID, "emulator: latency %q: want [SERVICE:]OP=DURATION, such as GetRole=250ms or iam:*=20ms", s)
	}
	return op, d, nil
}

// FaultFlags are the fault flags of `iamprune emulator`, as given.
type FaultFlags struct {
	// Fails are OP=CODE[:N] (ParseFault).
	Fails []string
	// ThrottlePercent and Seed: see Faults.
	ThrottlePercent float64
	Seed            int64
	// Latency items are comma-separated lists of DURATION (every
	// operation) and [SERVICE:]OP=DURATION; OpLatency items are
	// [SERVICE:]OP=DURATION (ParseOpLatency).
	Latency, OpLatency []string
	// RateLimits are comma-separated lists of ParseRateLimits's rules.
	RateLimits []string
}

// ParseFaults reads the fault flags; a bad one is an EINVALID error naming
// its flag.
func ParseFaults(fl FaultFlags) (Faults, error) {
	f := Faults{ThrottlePercent: fl.ThrottlePercent, Seed: fl.Seed}
	for _, v := range fl.Fails {
		x, err := ParseFault(v)
		if err != nil {
			return f, iamprune.Errorf(iamprune.EINVALID, "--fail: %v", err)
		}
		f.Fails = append(f.Fails, x)
	}
	ops := slices.Clone(fl.OpLatency)
	for _, v := range fl.Latency {
		for _, item := range strings.Split(v, ",") {
			if d, err := time.ParseDuration(strings.TrimSpace(item)); err == nil && !strings.Contains(item, "=") {
				if d < 0 {
					return f, iamprune.Errorf(iamprune.EINVALID, "--latency: %v must not be negative", d)
				}
				f.Latency = d
				continue
			}
			ops = append(ops, strings.TrimSpace(item))
		}
	}
	for _, v := range ops {
		op, d, err := ParseOpLatency(v)
		if err != nil {
			return f, iamprune.Errorf(iamprune.EINVALID, "--latency: %v", err)
		}
		if f.OpLatency == nil {
			f.OpLatency = map[string]time.Duration{}
		}
		f.OpLatency[op] = d
	}
	for _, v := range fl.RateLimits {
		rs, err := ParseRateLimits(v)
		if err != nil {
			return f, iamprune.Errorf(iamprune.EINVALID, "--rate-limit: %v", err)
		}
		f.RateLimits = append(f.RateLimits, rs...)
	}
	return f, nil
}

// Summary is the one line `iamprune emulator` prints about f.
func (f Faults) Summary() string {
	s := fmt.Sprintf("%d injected failure(s), %v%% throttled (seed %d), latency %v", len(f.Fails), f.ThrottlePercent, f.Seed, f.Latency)
	for _, op := range sortedKeys(f.OpLatency) {
		s += fmt.Sprintf(", %s %v", op, f.OpLatency[op])
	}
	for _, r := range f.RateLimits {
		s += fmt.Sprintf(", %s:%s at %v/s (burst %v)", r.Service, r.Operation, r.Rate, r.Burst)
	}
	return s
}

// Faults are the faults a server starts with: what `iamprune emulator`'s
// flags ask for.
type Faults struct {
	Fails []Fault
	// ThrottlePercent of the requests (0 to 100) are throttled, in the
	// sequence Seed fixes.
	ThrottlePercent float64
	Seed            int64
	// Latency delays every answer; OpLatency overrides it per operation
	// (keys as SetLatency takes them).
	Latency   time.Duration
	OpLatency map[string]time.Duration
	// RateLimits are token buckets per account (SetRateLimit).
	RateLimits []RateLimit
}

// Any reports whether f injects anything.
func (f Faults) Any() bool {
	return len(f.Fails)+len(f.OpLatency)+len(f.RateLimits) > 0 || f.ThrottlePercent > 0 || f.Latency > 0
}

// Inject sets the faults of f on the server; a throttle percent outside 0
// to 100 or a negative latency is an EINVALID error.
func (s *Server) Inject(f Faults) error {
	if err := s.SetThrottlePercent(f.ThrottlePercent, f.Seed); err != nil {
		return err
	}
	if f.Latency < 0 {
		return iamprune.Errorf(iamprune.EINVALID, "emulator: latency %v must not be negative", f.Latency)
	}
	s.SetLatency("", f.Latency)
	for _, x := range f.Fails {
		s.FailNext(x.Op, x.Code, x.N)
	}
	for op, d := range f.OpLatency {
		s.SetLatency(op, d)
	}
	for _, r := range f.RateLimits {
		if err := s.SetRateLimit(r); err != nil {
			return err
		}
	}
	return nil
}
