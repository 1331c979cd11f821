package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// control calls the control endpoint and returns the status and body.
func control(t *testing.T, env *testEnv, method, name string, params url.Values) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, env.url+ControlPath+name+"?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func mustControl(t *testing.T, env *testEnv, method, name string, params url.Values) []byte {
	t.Helper()
	status, b := control(t, env, method, name, params)
	if status != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d %s", method, name, status, b)
	}
	return b
}

// oneShotIAM is an IAM client that does not retry, so that each injected
// fault reaches the caller.
func oneShotIAM(env *testEnv) *iam.Client {
	return iam.NewFromConfig(sdkConfig(1), func(o *iam.Options) { o.BaseEndpoint = aws.String(env.url) })
}

func tagRole(c *iam.Client, v string) error {
	_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("ci-role"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String(v)}}})
	return err
}

// The fail endpoint fails the next N calls of an operation with the code
// given, as the SDK sees a real AWS error, and only the calls it matches.
func TestControlFail(t *testing.T) {
	env := newWriteEnv(t)
	mustControl(t, env, "POST", "fail", url.Values{"operation": {"TagRole"}, "code": {"AccessDenied"}, "count": {"2"}})
	c := oneShotIAM(env)
	for i := range 2 {
		err := tagRole(c, "x")
		wantAPIError(t, err, "AccessDenied", 403)
		if t.Failed() {
			t.Fatalf("call %d", i)
		}
	}
	if err := tagRole(c, "x"); err != nil {
		t.Fatalf("third TagRole after count=2: %v", err)
	}
	if n := len(env.srv.Injected()); n != 2 {
		t.Errorf("Injected = %d, want 2", n)
	}

	// match: only the call whose parameters contain the string fails.
	mustControl(t, env, "POST", "fail", url.Values{"operation": {"TagRole"}, "code": {"ServiceFailure"}, "match": {"Value=second"}})
	if err := tagRole(c, "first"); err != nil {
		t.Fatalf("unmatched call failed: %v", err)
	}
	wantAPIError(t, tagRole(c, "second"), "ServiceFailure", 500)

	// Retried by the SDK: a 500 that fails once is absorbed by a retrying client.
	mustControl(t, env, "POST", "fail", url.Values{"operation": {"TagRole"}, "code": {"ServiceFailure"}})
	if err := tagRole(env.iam, "y"); err != nil {
		t.Errorf("a retrying client did not absorb one ServiceFailure: %v", err)
	}
}

// Throttling by percentage is deterministic under a seed.
func TestControlThrottlePercentSeeded(t *testing.T) {
	t.Parallel()
	env := newWriteEnv(t)
	c := oneShotIAM(env)
	pattern := func(percent, seed string) string {
		mustControl(t, env, "POST", "throttle", url.Values{"percent": {percent}, "seed": {seed}})
		var b strings.Builder
		for range 200 {
			_, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
			switch {
			case err == nil:
				b.WriteByte('.')
			case strings.Contains(err.Error(), "Throttling"):
				b.WriteByte('T')
			default:
				t.Fatalf("GetUser: %v", err)
			}
		}
		return b.String()
	}
	a, again, other := pattern("33", "7"), pattern("33", "7"), pattern("33", "8")
	if a != again {
		t.Errorf("same seed, different sequences:\n%s\n%s", a, again)
	}
	if a == other {
		t.Errorf("seeds 7 and 8 gave the same sequence %s", a)
	}
	if n := strings.Count(a, "T"); n < 40 || n > 92 {
		t.Errorf("33%% of 200 requests throttled %d times", n)
	}
	if p := pattern("0", "7"); strings.Contains(p, "T") {
		t.Errorf("0%% throttled: %s", p)
	}
	if p := pattern("100", "7"); strings.Contains(p, ".") {
		t.Errorf("100%% let requests through: %s", p)
	}
	if n := len(env.srv.Throttled()); n < 240 {
		t.Errorf("Throttled() = %d entries", n)
	}
	if status, _ := control(t, env, "POST", "throttle", url.Values{"percent": {"101"}}); status != http.StatusBadRequest {
		t.Errorf("percent 101: HTTP %d", status)
	}
	// Reset ends it.
	mustControl(t, env, "POST", "reset", nil)
	if _, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")}); err != nil {
		t.Errorf("after reset: %v", err)
	}
}

// Latency delays the operation it names, or every operation.
func TestControlLatency(t *testing.T) {
	env := newWriteEnv(t)
	mustControl(t, env, "POST", "latency", url.Values{"operation": {"GetUser"}, "duration": {"150ms"}})
	took := func(f func() error) time.Duration {
		start := time.Now()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	getUser := func() error {
		_, err := env.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
		return err
	}
	getRole := func() error {
		_, err := env.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ci-role")})
		return err
	}
	if d := took(getUser); d < 150*time.Millisecond {
		t.Errorf("GetUser took %v with 150ms latency", d)
	}
	if d := took(getRole); d >= 150*time.Millisecond {
		t.Errorf("GetRole took %v, but only GetUser is delayed", d)
	}
	mustControl(t, env, "POST", "latency", url.Values{"duration": {"120ms"}})
	if d := took(getRole); d < 120*time.Millisecond {
		t.Errorf("GetRole took %v with 120ms on every operation", d)
	}
	if status, _ := control(t, env, "POST", "latency", url.Values{"duration": {"soon"}}); status != http.StatusBadRequest {
		t.Errorf("bad duration: HTTP %d", status)
	}
}

// dump serves Dump's JSON; counters the call-log figures.
func TestControlDumpAndCounters(t *testing.T) {
	env := newWriteEnv(t)
	if err := tagRole(env.iam, "v"); err != nil {
		t.Fatal(err)
	}
	got := mustControl(t, env, "GET", "dump", nil)
	want, err := env.srv.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("GET dump differs from Dump()")
	}
	env.srv.FailNext("GetUser", "AccessDenied", 1)
	env.srv.FailNext("DeleteRole", "AccessDenied", 3)
	env.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	var c Counters
	if err := json.Unmarshal(mustControl(t, env, "GET", "counters", nil), &c); err != nil {
		t.Fatal(err)
	}
	want2 := Counters{Account: env.srv.Account(), Calls: 1, Writes: 1, Injected: 1, Pending: map[string]int{"DeleteRole": 3}}
	if c.Account != want2.Account || c.Calls != 1 || c.Writes != 1 || c.Injected != 1 || c.Throttled != 0 || c.Pending["DeleteRole"] != 3 || len(c.Pending) != 1 {
		t.Errorf("counters = %+v, want %+v", c, want2)
	}
	mustControl(t, env, "POST", "reset", url.Values{"calls": {"true"}})
	if c := env.srv.Counters(); c.Calls != 0 || c.Injected != 0 || len(c.Pending) != 0 {
		t.Errorf("after reset?calls=true: %+v", c)
	}
	for _, tc := range []struct {
		method, name string
		status       int
	}{
		{"GET", "nope", 404},
		{"POST", "dump", 405},
		{"GET", "fail", 405},
		{"POST", "fail", 400},
	} {
		if status, _ := control(t, env, tc.method, tc.name, nil); status != tc.status {
			t.Errorf("%s %s: HTTP %d, want %d", tc.method, tc.name, status, tc.status)
		}
	}
	if status, _ := control(t, env, "GET", "dump", url.Values{"account": {"999999999999"}}); status != 404 {
		t.Errorf("dump of an unknown account: HTTP %d", status)
	}
}

// A write hold stops the k-th write until released: served, the write
// happens although the client gave up; dropped, it never happens.
func TestHoldWrite(t *testing.T) {
	env := newWriteEnv(t)
	c := oneShotIAM(env)
	if _, err := env.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	for _, serve := range []bool{false, true} {
		h := env.srv.HoldWrite(2)
		if err := tagRole(c, "one"); err != nil { // the first write passes
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- tagRole(c, "two") }()
		var held Call
		select {
		case held = <-h.Reached():
		case <-time.After(5 * time.Second):
			t.Fatal("the second write was not held")
		}
		if held.Operation != "TagRole" || !strings.Contains(held.Params, "two") {
			t.Errorf("held %+v", held)
		}
		select {
		case err := <-done:
			t.Fatalf("held call returned before release: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		h.Release(serve)
		err := <-done
		<-h.Done()
		u, gerr := env.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("ci-role")})
		if gerr != nil {
			t.Fatal(gerr)
		}
		var v string
		for _, tag := range u.Tags {
			if aws.ToString(tag.Key) == "k" {
				v = aws.ToString(tag.Value)
			}
		}
		if serve && (err != nil || v != "two") {
			t.Errorf("served: err %v, tag %q", err, v)
		}
		if !serve {
			wantAPIError(t, err, "InternalFailure", 500)
			if v != "one" {
				t.Errorf("dropped write happened: tag %q", v)
			}
		}
	}
}
