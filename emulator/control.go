package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ControlPath prefixes the emulator's control endpoint. No AWS API uses it
// (an S3 bucket name cannot start with "_"), so it shares the port with
// the services. Parameters come from the query string or a form body:
//
//	POST /_iamprune/fail?operation=OP&code=CODE[&count=N][&match=S][&account=ID]
//	POST /_iamprune/throttle?percent=P[&seed=N]
//	POST /_iamprune/latency?duration=D[&operation=[SERVICE:]OP]
//	POST /_iamprune/ratelimit?limit=SERVICE:OP=RATE[:BURST][,...]
//	GET  /_iamprune/ratelimits
//	POST /_iamprune/reset[?calls=true]
//	GET  /_iamprune/dump[?account=ID]
//	GET  /_iamprune/counters[?account=ID]
//
// docs/emulator.md describes each with what an SDK client then sees.
const ControlPath = "/_iamprune/"

// serveControl answers a control request; it is not an AWS API and is not
// recorded in the call log.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		controlError(w, http.StatusBadRequest, "cannot parse parameters: %v", err)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, ControlPath)
	want := http.MethodPost
	if name == "dump" || name == "counters" || name == "ratelimits" {
		want = http.MethodGet
	}
	if _, ok := controlOps[name]; !ok {
		controlError(w, http.StatusNotFound, "no control endpoint %s%s; there are %s", ControlPath, name, strings.Join(sortedKeys(controlOps), ", "))
		return
	}
	if r.Method != want {
		w.Header().Set("Allow", want)
		controlError(w, http.StatusMethodNotAllowed, "%s%s takes %s, not %s", ControlPath, name, want, r.Method)
		return
	}
	target := s
	if id := r.Form.Get("account"); id != "" {
		if target = s.Member(id); target == nil {
			controlError(w, http.StatusNotFound, "the emulator does not serve account %q", id)
			return
		}
	}
	status, out, err := controlOps[name](target, r)
	if err != nil {
		controlError(w, status, "%v", err)
		return
	}
	if b, ok := out.([]byte); ok {
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

type controlOp func(s *Server, r *http.Request) (status int, out any, err error)

var controlOps = map[string]controlOp{
	"fail":      controlFail,
	"throttle":  controlThrottle,
	"latency":   controlLatency,
	"ratelimit": controlRateLimit,
	"ratelimits": func(s *Server, _ *http.Request) (int, any, error) {
		return 0, s.RateLimits(), nil
	},
	"reset":    controlReset,
	"dump":     controlDump,
	"counters": func(s *Server, _ *http.Request) (int, any, error) { return 0, s.Counters(), nil },
}

func controlFail(s *Server, r *http.Request) (int, any, error) {
	op, code := r.Form.Get("operation"), r.Form.Get("code")
	if op == "" || code == "" {
		return http.StatusBadRequest, nil, fmt.Errorf("fail needs operation and code, for example operation=TagRole&code=AccessDenied")
	}
	n := 1
	if c := r.Form.Get("count"); c != "" {
		v, err := strconv.Atoi(c)
		if err != nil || v < 0 {
			return http.StatusBadRequest, nil, fmt.Errorf("count %q is not a whole number >= 0 (0 cancels)", c)
		}
		n = v
	}
	s.FailMatching(op, r.Form.Get("match"), code, n)
	return 0, s.Counters(), nil
}

func controlThrottle(s *Server, r *http.Request) (int, any, error) {
	p, err := strconv.ParseFloat(r.Form.Get("percent"), 64)
	if err != nil {
		return http.StatusBadRequest, nil, fmt.Errorf("percent %q is not a number from 0 to 100", r.Form.Get("percent"))
	}
	var seed int64
	if v := r.Form.Get("seed"); v != "" {
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			return http.StatusBadRequest, nil, fmt.Errorf("seed %q is not an integer", v)
		}
	}
	if err := s.SetThrottlePercent(p, seed); err != nil {
		return http.StatusBadRequest, nil, err
	}
	return 0, map[string]any{"throttle_percent": p, "seed": seed}, nil
}

func controlLatency(s *Server, r *http.Request) (int, any, error) {
	d, err := time.ParseDuration(r.Form.Get("duration"))
	if err != nil || d < 0 {
		return http.StatusBadRequest, nil, fmt.Errorf("duration %q is not a Go duration such as 250ms or 2s", r.Form.Get("duration"))
	}
	op := r.Form.Get("operation")
	s.SetLatency(op, d)
	return 0, map[string]any{"operation": op, "latency": d.String()}, nil
}

func controlRateLimit(s *Server, r *http.Request) (int, any, error) {
	rs, err := ParseRateLimits(r.Form.Get("limit"))
	if err == nil && len(rs) == 0 {
		err = fmt.Errorf("ratelimit needs limit, for example limit=iam:*=20 (rate 0 removes a rule)")
	}
	if err != nil {
		return http.StatusBadRequest, nil, err
	}
	for _, x := range rs {
		if err := s.SetRateLimit(x); err != nil {
			return http.StatusBadRequest, nil, err
		}
	}
	return 0, map[string]any{"limits": rs}, nil
}

func controlReset(s *Server, r *http.Request) (int, any, error) {
	s.ResetFaults()
	if v := r.Form.Get("calls"); v != "" {
		calls, err := strconv.ParseBool(v)
		if err != nil {
			return http.StatusBadRequest, nil, fmt.Errorf("calls %q is not true or false", v)
		}
		if calls {
			for _, id := range append([]string{s.org.home.Account()}, s.Members()...) {
				s.Member(id).ResetCalls()
			}
		}
	}
	return 0, s.Counters(), nil
}

func controlDump(s *Server, _ *http.Request) (int, any, error) {
	b, err := s.Dump()
	if err != nil {
		return http.StatusInternalServerError, nil, err
	}
	return 0, b, nil
}

func controlError(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // messages quote parameters such as a=b&c=d
	enc.Encode(map[string]string{"error": fmt.Sprintf(format, args...)})
}
