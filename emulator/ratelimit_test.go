package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestParseRateLimits(t *testing.T) {
	got, err := ParseRateLimits("iam:*=20, access-analyzer:GetFindingV2=50:10,sts:*=0.5")
	if err != nil {
		t.Fatal(err)
	}
	want := []RateLimit{
		{Service: "iam", Operation: "*", Rate: 20, Burst: 20},
		{Service: "access-analyzer", Operation: "GetFindingV2", Rate: 50, Burst: 10},
		{Service: "sts", Operation: "*", Rate: 0.5, Burst: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"iam=20", "iam:*", ":*=1", "iam:=1", "iam:*=x", "iam:*=-1", "iam:*=1:0", "iam:*=1:y", "iam:*=NaN"} {
		if _, err := ParseRateLimits(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// fakeLimitClock freezes the rate limiter's clock of srv and returns the
// function that moves it on.
func fakeLimitClock(srv *Server) func(time.Duration) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := srv.org.limits
	l.mu.Lock()
	l.now = func() time.Time { return now }
	l.mu.Unlock()
	return func(d time.Duration) {
		l.mu.Lock()
		now = now.Add(d)
		l.mu.Unlock()
	}
}

// An empty bucket answers as AWS does, through the real SDK clients: IAM
// and STS with the Query ErrorResponse Throttling (HTTP 400), Access
// Analyzer with ThrottlingException (HTTP 429, the typed error). A
// SERVICE:* bucket is shared by the service's operations, an operation's
// own rule has a bucket of its own, and tokens come back at the rate.
func TestRateLimitThrottlesLikeAWS(t *testing.T) {
	env := newEnv(t, "analyzer", Options{})
	advance := fakeLimitClock(env.srv)
	limits, err := ParseRateLimits("iam:*=1:2,iam:GetUser=1:1,access-analyzer:ListAnalyzers=0.5:1,sts:*=1:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.srv.Inject(Faults{RateLimits: limits}); err != nil {
		t.Fatal(err)
	}
	cfg := sdkConfig(1) // no retries: see the answer itself
	iamc := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(env.url) })
	aac := accessanalyzer.NewFromConfig(cfg, func(o *accessanalyzer.Options) { o.BaseEndpoint = aws.String(env.url) })
	stsc := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(env.url) })
	listUsers := func() error { _, err := iamc.ListUsers(ctx, &iam.ListUsersInput{}); return err }
	listRoles := func() error { _, err := iamc.ListRoles(ctx, &iam.ListRolesInput{}); return err }
	getUser := func() error {
		_, err := iamc.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
		return err
	}
	listAnalyzers := func() error { _, err := aac.ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{}); return err }
	caller := func() error { _, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); return err }

	for i, f := range []func() error{listUsers, listRoles} { // burst 2, shared by iam:*
		if err := f(); err != nil {
			t.Fatalf("IAM call %d within the burst: %v", i, err)
		}
	}
	wantAPIError(t, listUsers(), "Throttling", 400)
	// GetUser has its own bucket: not throttled (NoSuchEntity is its answer).
	wantAPIError(t, getUser(), "NoSuchEntity", 404)
	wantAPIError(t, getUser(), "Throttling", 400)

	if err := listAnalyzers(); err != nil {
		t.Fatal(err)
	}
	err = listAnalyzers()
	var te *aatypes.ThrottlingException
	if !errors.As(err, &te) {
		t.Fatalf("want *types.ThrottlingException, got %v", err)
	}
	wantAPIError(t, err, "ThrottlingException", 429)
	if err := caller(); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, caller(), "Throttling", 400)

	advance(time.Second) // one IAM token back, half an analyzer token
	if err := listRoles(); err != nil {
		t.Errorf("IAM after a second at 1/s: %v", err)
	}
	wantAPIError(t, listRoles(), "Throttling", 400)
	wantAPIError(t, listAnalyzers(), "ThrottlingException", 429)
	advance(time.Second)
	if err := listAnalyzers(); err != nil {
		t.Errorf("analyzer after two seconds at 0.5/s: %v", err)
	}

	stats := map[string][2]int{}
	for _, s := range env.srv.RateLimits() {
		stats[s.Service+":"+s.Operation] = [2]int{s.Admitted, s.Throttled}
		if s.Account != env.srv.Account() {
			t.Errorf("bucket of account %q, want %s", s.Account, env.srv.Account())
		}
	}
	want := map[string][2]int{"iam:*": {3, 2}, "iam:GetUser": {1, 1}, "access-analyzer:ListAnalyzers": {2, 2}, "sts:*": {1, 1}}
	if !reflect.DeepEqual(stats, want) {
		t.Errorf("bucket figures %v, want %v", stats, want)
	}
	if n := len(env.srv.Throttled()); n != 6 {
		t.Errorf("Throttled() = %d, want 6", n)
	}
}

// Each account has its own buckets: a member's IAM calls do not spend the
// home account's tokens.
func TestRateLimitPerAccount(t *testing.T) {
	env := newOrgEnv(t, nil)
	fakeLimitClock(env.srv)
	if err := env.srv.SetRateLimit(RateLimit{Service: "iam", Operation: "*", Rate: 1, Burst: 1}); err != nil {
		t.Fatal(err)
	}
	memberIAM, _ := env.clients(env.assumeConfig(remediationARN, "iamprune-ext"))
	noRetry := func(o *iam.Options) { o.RetryMaxAttempts = 1 }
	for _, c := range []struct {
		name string
		c    *iam.Client
	}{{"home", env.iam}, {"member", memberIAM}} {
		if _, err := c.c.ListUsers(ctx, &iam.ListUsersInput{}, noRetry); err != nil {
			t.Fatalf("%s: first call: %v", c.name, err)
		}
		_, err := c.c.ListUsers(ctx, &iam.ListUsersInput{}, noRetry)
		wantAPIError(t, err, "Throttling", 400)
	}
	var accounts []string
	for _, s := range env.srv.RateLimits() {
		accounts = append(accounts, s.Account)
	}
	if !reflect.DeepEqual(accounts, []string{adminAccount, memberAccount}) {
		t.Errorf("buckets of %v, want one per account", accounts)
	}
}

// The SDK's retryer rides out an empty bucket: the call succeeds once a
// token is back, and the throttled tries are counted.
func TestRateLimitRetried(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	if err := env.srv.SetRateLimit(RateLimit{Service: "iam", Operation: "ListUsers", Rate: 200, Burst: 1}); err != nil {
		t.Fatal(err)
	}
	c := iam.NewFromConfig(sdkConfig(20), func(o *iam.Options) { o.BaseEndpoint = aws.String(env.url) })
	for i := range 5 {
		if _, err := c.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := len(env.srv.Calls()); n != 5 {
		t.Errorf("calls answered %d, want 5", n)
	}
}

// The control endpoint sets and removes rules and reports the buckets;
// reset ends them.
func TestControlRateLimit(t *testing.T) {
	env := newWriteEnv(t)
	fakeLimitClock(env.srv)
	mustControl(t, env, "POST", "ratelimit", url.Values{"limit": {"iam:GetRole=1:1"}})
	c := oneShotIAM(env)
	getRole := func() error {
		_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ci-role")})
		return err
	}
	if err := getRole(); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, getRole(), "Throttling", 400)
	var stats []RateLimitStats
	if err := json.Unmarshal(mustControl(t, env, "GET", "ratelimits", nil), &stats); err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 || stats[0].Operation != "GetRole" || stats[0].Admitted != 1 || stats[0].Throttled != 1 {
		t.Errorf("ratelimits = %+v", stats)
	}
	mustControl(t, env, "POST", "ratelimit", url.Values{"limit": {"iam:GetRole=0"}})
	if err := getRole(); err != nil {
		t.Errorf("after removing the rule: %v", err)
	}
	mustControl(t, env, "POST", "ratelimit", url.Values{"limit": {"iam:*=1:1"}})
	mustControl(t, env, "POST", "reset", nil)
	for range 3 {
		if err := getRole(); err != nil {
			t.Errorf("after reset: %v", err)
		}
	}
	for _, bad := range []string{"", "iam=1", "iam:*=fast"} {
		if status, _ := control(t, env, "POST", "ratelimit", url.Values{"limit": {bad}}); status != http.StatusBadRequest {
			t.Errorf("limit %q: HTTP %d, want 400", bad, status)
		}
	}
}

// Latency can be set for a whole service (SERVICE:*) or one of its
// operations (SERVICE:OP); other services are not delayed.
func TestLatencyPerService(t *testing.T) {
	env := newWriteEnv(t)
	f, err := ParseFaults(FaultFlags{Latency: []string{"iam:*=120ms"}, OpLatency: []string{"iam:GetUser=1ms"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.srv.Inject(f); err != nil {
		t.Fatal(err)
	}
	took := func(f func() error) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	getRole := func() error {
		_, err := env.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ci-role")})
		return err
	}
	getUser := func() error {
		_, err := env.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
		return err
	}
	caller := func() error { _, err := env.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); return err }
	if d := took(getRole); d < 120*time.Millisecond {
		t.Errorf("GetRole took %v with iam:*=120ms", d)
	}
	if d := took(getUser); d >= 120*time.Millisecond {
		t.Errorf("GetUser took %v with its own iam:GetUser=1ms", d)
	}
	if d := took(caller); d >= 120*time.Millisecond {
		t.Errorf("STS took %v, but only IAM is delayed", d)
	}
}
