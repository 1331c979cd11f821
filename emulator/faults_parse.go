package emulator

import (
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

// ParseOpLatency reads OP=DURATION, such as GetRole=250ms.
func ParseOpLatency(s string) (op string, d time.Duration, err error) {
	op, ds, ok := strings.Cut(s, "=")
	d, perr := time.ParseDuration(ds)
	if !ok || op == "" || perr != nil || d < 0 {
		return "", 0, iamprune.Errorf(iamprune.EINVALID, "emulator: latency %q: want OP=DURATION, such as GetRole=250ms", s)
	}
	return op, d, nil
}

// Faults are the faults a server starts with: what `iamprune emulator`'s
// flags ask for.
type Faults struct {
	Fails []Fault
	// ThrottlePercent of the requests (0 to 100) are throttled, in the
	// sequence Seed fixes.
	ThrottlePercent float64
	Seed            int64
	// Latency delays every answer; OpLatency overrides it per operation.
	Latency   time.Duration
	OpLatency map[string]time.Duration
}

// Any reports whether f injects anything.
func (f Faults) Any() bool {
	return len(f.Fails)+len(f.OpLatency) > 0 || f.ThrottlePercent > 0 || f.Latency > 0
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
	return nil
}
