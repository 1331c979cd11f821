package awsapi

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/internal/bench"
	"github.com/iamprune/iamprune/snapshot"
)

// orgRead reads a generated organisation through the emulator as plan
// did (findings with IAM's last use, then every account's facts) or, with
// stream, as it does (a chunk of findings, then the facts it needs), with
// the emulator's rate limits set to limits ("" for none).
func orgRead(t *testing.T, org *bench.Org, limits string, stream bool) ([]iamprune.Finding, *iamprune.Facts, *Policy, *emulator.Server) {
	t.Helper()
	home, err := snapshot.LoadDir(org.Home)
	if err != nil {
		t.Fatal(err)
	}
	srv := emulator.New(home, emulator.Options{PageSize: 7})
	for _, d := range org.Members {
		m, err := snapshot.LoadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.AddMember(m); err != nil {
			t.Fatal(err)
		}
	}
	rl, err := emulator.ParseRateLimits(limits)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Inject(emulator.Faults{RateLimits: rl}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	p := DefaultRetryPolicy()
	p.BaseDelay, p.MaxBackoff, p.RequestsPerSecond = time.Millisecond, 20*time.Millisecond, 400
	policy := NewPolicy(p)
	ctx := context.Background()
	cfg, _, err := LoadConfig(ctx, Options{Region: bench.Region, Endpoint: ts.URL, Policy: policy,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	report := WithReportPolling(time.Millisecond, 5*time.Millisecond, 10*time.Second)
	facts := NewFacts(cfg, report)
	caller, _, err := facts.Caller(ctx)
	if err != nil {
		t.Fatal(err)
	}
	of := NewOrgFacts(NewAccounts(cfg, caller, iamprune.CrossAccount{RoleName: bench.RoleName, ExternalID: bench.ExternalID}),
		report, WithConcurrentAccounts(3))
	of.UseHome(facts)
	src := NewFindingSource(cfg, iamprune.AnalyzerAuto)
	src.UseIAM(of)
	if stream {
		fs, err := of.Stream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var findings []iamprune.Finding
		if _, err := src.EachChunk(ctx, func(chunk []iamprune.Finding) error {
			findings = append(findings, chunk...)
			return fs.Add(ctx, chunk)
		}); err != nil {
			t.Fatal(err)
		}
		if err := fs.Finish(ctx); err != nil {
			t.Fatal(err)
		}
		return findings, fs.Facts(), policy, srv
	}
	findings, _, err := src.Findings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := of.Facts(ctx, findings)
	if err != nil {
		t.Fatal(err)
	}
	return findings, got, policy, srv
}

// An organisation read through AWS-like per-account rate limits, well
// below the client's ceiling, gives exactly what an unlimited read gives,
// with no error, no account unreachable and no call made twice: the
// limiters of each account adapt to its throttling, the retries absorb it.
func TestOrgUnderRateLimits(t *testing.T) {
	isolateEnv(t)
	org, err := bench.Write(t.TempDir(), bench.Spec{Accounts: 3, Units: 6})
	if err != nil {
		t.Fatal(err)
	}
	wantFindings, wantFacts, _, _ := orgRead(t, org, "", false)
	findings, facts, policy, srv := orgRead(t, org, "access-analyzer:*=150:3,iam:*=100:3,sts:*=100:2", true)
	sameJSON(t, "findings", findings, wantFindings)
	sameJSON(t, "facts", facts, wantFacts)
	if len(findings) != org.Spec.Findings() || len(facts.Unreachable) != 0 {
		t.Fatalf("%d findings (want %d), unreachable %v", len(findings), org.Spec.Findings(), facts.Unreachable)
	}
	throttled := 0
	for _, s := range srv.RateLimits() {
		throttled += s.Throttled
	}
	if throttled == 0 {
		t.Fatal("the rate limits throttled nothing: the test proves nothing")
	}
	memberThrottles := 0
	for key, n := range policy.Throttles() {
		if strings.HasPrefix(key, "IAM "+bench.MemberAccount(0)[:6]) {
			memberThrottles += int(n)
		}
	}
	if memberThrottles == 0 {
		t.Errorf("no member account's IAM limiter saw throttling: %v", policy.Throttles())
	}
	ops := map[string]int{}
	for _, a := range append([]string{bench.HomeAccount}, bench.MemberAccount(0), bench.MemberAccount(1), bench.MemberAccount(2)) {
		if d := srv.Member(a).Duplicates(); len(d) != 0 {
			t.Errorf("account %s: calls made twice: %v", a, d)
		}
		for _, c := range srv.Member(a).Calls() {
			ops[c.Operation]++
		}
	}
	// GetFindingV2 for the keys and permissions (three of every five
	// findings) and the two never-used passwords of each account, nothing
	// for roles and used passwords; one ListAccessKeys per key user (read
	// ahead, never again), one AssumeRole per member.
	want := map[string]int{"GetFindingV2": 3*6*3 + 2*3, "ListAccessKeys": 6 * 3, "AssumeRole": 3, "GetLoginProfile": 2 * 3}
	for op, n := range want {
		if ops[op] != n {
			t.Errorf("%s called %d times, want %d (all calls: %v)", op, ops[op], n, ops)
		}
	}
}

// Read a chunk at a time (pages of 7, so that the two key findings of a
// user and the accounts' findings straddle chunks), an organisation gives
// the findings and facts of the whole read, with the same calls in every
// account, none made twice.
func TestStreamedOrgReadIsTheWholeRead(t *testing.T) {
	isolateEnv(t)
	org, err := bench.Write(t.TempDir(), bench.Spec{Accounts: 3, Units: 6})
	if err != nil {
		t.Fatal(err)
	}
	wantFindings, wantFacts, _, wantSrv := orgRead(t, org, "", false)
	findings, facts, _, srv := orgRead(t, org, "", true)
	sameJSON(t, "findings", findings, wantFindings)
	sameJSON(t, "facts", facts, wantFacts)
	for _, a := range []string{bench.HomeAccount, bench.MemberAccount(0), bench.MemberAccount(1), bench.MemberAccount(2)} {
		if d := srv.Member(a).Duplicates(); len(d) != 0 {
			t.Errorf("account %s: calls made twice: %v", a, d)
		}
		got, want := map[string]int{}, map[string]int{}
		for _, c := range srv.Member(a).Calls() {
			got[c.Operation]++
		}
		for _, c := range wantSrv.Member(a).Calls() {
			want[c.Operation]++
		}
		sameJSON(t, "calls of "+a, got, want)
	}
}
