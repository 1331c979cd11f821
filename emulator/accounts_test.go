package emulator

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iamprune/iamprune/snapshot"
)

const (
	adminAccount   = "111122223333"
	memberAccount  = "444455556666"
	remediationARN = "arn:aws:iam::444455556666:role/iamprune-remediation"
	adminCaller    = "arn:aws:sts::111122223333:assumed-role/iamprune-runner/iamprune"
)

// clock is a settable emulator clock; by default it runs with the real
// time, because SDK credential caches judge expiry by the real clock.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

type orgEnv struct {
	*testEnv
	member *Server
	clock  *clock
}

// newOrgEnv serves the org testdata: the delegated-admin account as home
// and one member. edit, if not nil, changes the snapshots first.
func newOrgEnv(t *testing.T, edit func(admin, member *snapshot.Snapshot)) *orgEnv {
	t.Helper()
	admin, member := loadSnapshot(t, "org/admin"), loadSnapshot(t, "org/member-444455556666")
	if edit != nil {
		edit(admin, member)
	}
	c := &clock{}
	srv := New(admin, Options{PageSize: 2, Now: c.now})
	m, err := srv.AddMember(member)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	cfg := sdkConfig(3)
	return &orgEnv{
		testEnv: &testEnv{
			srv: srv, snap: admin, url: ts.URL,
			iam: iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(ts.URL) }),
			sts: sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(ts.URL) }),
		},
		member: m, clock: c,
	}
}

// assumeConfig is an SDK config whose credentials come from assuming
// roleARN with stscreds, as iamprune's cross-account runtime does.
func (e *orgEnv) assumeConfig(roleARN, externalID string) aws.Config {
	cfg := sdkConfig(3)
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(e.sts, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "iamprune-run"
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
	}))
	return cfg
}

func (e *orgEnv) clients(cfg aws.Config) (*iam.Client, *sts.Client) {
	return iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(e.url) }),
		sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(e.url) })
}

// serviceOps renders calls as service:Operation.
func serviceOps(calls []Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Service+":"+c.Operation)
	}
	return out
}

func TestAssumeRoleIntoMember(t *testing.T) {
	env := newOrgEnv(t, nil)
	memberIAM, memberSTS := env.clients(env.assumeConfig(remediationARN, "iamprune-ext"))

	id, err := memberSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	wantARN := "arn:aws:sts::444455556666:assumed-role/iamprune-remediation/iamprune-run"
	if *id.Account != memberAccount || *id.Arn != wantARN || *id.UserId != "AROAREMEDIATION00001:iamprune-run" {
		t.Errorf("member identity = %s %s %s", *id.Account, *id.Arn, *id.UserId)
	}
	var users []string
	pages := iam.NewListUsersPaginator(memberIAM, &iam.ListUsersInput{})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.Users {
			users = append(users, *u.UserName)
		}
	}
	if strings.Join(users, ",") != "ci-bot,dana" {
		t.Errorf("member users = %v", users)
	}
	// The caller is a role session in the member: IAM wants a UserName.
	_, err = memberIAM.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	wantAPIError(t, err, "ValidationError", 400)

	// Home credentials still act in the home account as the snapshot caller.
	home, err := env.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *home.Account != adminAccount || *home.Arn != adminCaller {
		t.Errorf("home identity = %s %s", *home.Account, *home.Arn)
	}

	assumed := env.srv.Assumed()
	if len(assumed) != 1 {
		t.Fatalf("assumed %d times, want once (credentials are cached): %+v", len(assumed), assumed)
	}
	a := assumed[0]
	if a.Account != memberAccount || a.RoleArn != remediationARN || a.SessionName != "iamprune-run" ||
		a.ExternalId != "iamprune-ext" || a.Caller != adminCaller || a.Arn != wantARN || !strings.HasPrefix(a.AccessKeyId, "ASIA") || len(a.AccessKeyId) != 20 {
		t.Errorf("assumed = %+v", a)
	}
	if got := strings.Join(serviceOps(env.srv.Calls()), " "); got != "sts:AssumeRole sts:GetCallerIdentity" {
		t.Errorf("home calls = %s", got)
	}
	if got := strings.Join(serviceOps(env.member.Calls()), " "); got != "sts:GetCallerIdentity iam:ListUsers iam:ListAccessKeys" {
		t.Errorf("member calls = %s", got)
	}
	if env.srv.Member(memberAccount) != env.member || env.srv.Member(adminAccount) != env.srv || env.srv.Member("999988887777") != nil {
		t.Error("Member does not return the account's server")
	}
	if m := env.member.Members(); len(m) != 1 || m[0] != memberAccount {
		t.Errorf("Members = %v", m)
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	env := newOrgEnv(t, nil)
	tests := []struct {
		name, role, externalID string
	}{
		{"wrong external id", remediationARN, "guess"},
		{"missing external id", remediationARN, ""},
		{"role missing", "arn:aws:iam::444455556666:role/no-such-role", "iamprune-ext"},
		{"wrong role path", "arn:aws:iam::444455556666:role/ops/iamprune-remediation", "iamprune-ext"},
		{"unknown account", "arn:aws:iam::999988887777:role/iamprune-remediation", "iamprune-ext"},
		{"trust names a service", "arn:aws:iam::444455556666:role/legacy-etl", ""},
		{"trust names another principal", "arn:aws:iam::444455556666:role/deploy/app-deployer", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &sts.AssumeRoleInput{RoleArn: aws.String(tt.role), RoleSessionName: aws.String("iamprune-run")}
			if tt.externalID != "" {
				in.ExternalId = aws.String(tt.externalID)
			}
			_, err := env.sts.AssumeRole(ctx, in)
			wantAPIError(t, err, "AccessDenied", 403)
			want := "User: " + adminCaller + " is not authorized to perform: sts:AssumeRole on resource: " + tt.role
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error = %v, want message %q", err, want)
			}
		})
	}
	// Through stscreds, the denial reaches the client's first call.
	memberIAM, _ := env.clients(env.assumeConfig(remediationARN, "wrong-ext"))
	_, err := memberIAM.ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "AccessDenied", 403)
	if a := env.srv.Assumed(); len(a) != 0 {
		t.Errorf("denied requests recorded as assumed: %+v", a)
	}
}

func TestAssumeRoleValidation(t *testing.T) {
	env := newOrgEnv(t, nil)
	tests := []struct {
		name    string
		in      sts.AssumeRoleInput
		message string
	}{
		{"bad session name", sts.AssumeRoleInput{RoleArn: aws.String(remediationARN), RoleSessionName: aws.String("has space")},
			`1 validation error detected: Value 'has space' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{"duration too short", sts.AssumeRoleInput{RoleArn: aws.String(remediationARN), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(100)},
			"Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"two errors", sts.AssumeRoleInput{RoleArn: aws.String("short"), RoleSessionName: aws.String("x")},
			"2 validation errors detected: Value 'short' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; Value 'x' at 'roleSessionName'"},
		{"not a role ARN", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::444455556666:user/ci-bot"), RoleSessionName: aws.String("s1")},
			"arn:aws:iam::444455556666:user/ci-bot is invalid"},
		// The home caller is itself a role session: role chaining is held
		// to one hour.
		{"chained over an hour", sts.AssumeRoleInput{RoleArn: aws.String(remediationARN), RoleSessionName: aws.String("s1"), ExternalId: aws.String("iamprune-ext"), DurationSeconds: aws.Int32(7200)},
			"The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.sts.AssumeRole(ctx, &tt.in)
			wantAPIError(t, err, "ValidationError", 400)
			if err == nil || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error = %v, want message containing %q", err, tt.message)
			}
		})
	}
}

func TestMemberWritesStayInMember(t *testing.T) {
	env := newOrgEnv(t, nil)
	homeBefore, _ := env.srv.Dump()
	memberIAM, _ := env.clients(env.assumeConfig(remediationARN, "iamprune-ext"))
	_, err := memberIAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{
		UserName: aws.String("ci-bot"), AccessKeyId: aws.String("AKIACIBOT00000000001"), Status: iamtypes.StatusTypeInactive,
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := memberIAM.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("ci-bot")})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.AccessKeyMetadata) != 1 || keys.AccessKeyMetadata[0].Status != iamtypes.StatusTypeInactive {
		t.Errorf("member keys = %+v", keys.AccessKeyMetadata)
	}
	dump, _ := env.member.Dump()
	if !bytes.Contains(dump, []byte(`"Status": "Inactive"`)) {
		t.Errorf("member dump lacks the deactivated key:\n%s", dump)
	}
	if homeAfter, _ := env.srv.Dump(); !bytes.Equal(homeBefore, homeAfter) {
		t.Error("a write with member credentials changed the home account")
	}
	// With home credentials the member's user does not exist.
	_, err = env.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{
		UserName: aws.String("ci-bot"), AccessKeyId: aws.String("AKIACIBOT00000000001"), Status: iamtypes.StatusTypeActive,
	})
	wantAPIError(t, err, "NoSuchEntity", 404)
	if w := serviceOps(env.member.Writes()); len(w) != 1 || w[0] != "iam:UpdateAccessKey" {
		t.Errorf("member writes = %v", w)
	}
	if w := env.srv.Writes(); len(w) != 1 {
		t.Errorf("home writes = %v, want the one refused", w)
	}
}

func TestAssumedCredentialsExpire(t *testing.T) {
	env := newOrgEnv(t, nil)
	out, err := env.sts.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(remediationARN), RoleSessionName: aws.String("short-lived"),
		ExternalId: aws.String("iamprune-ext"), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if d := c.Expiration.Sub(env.clock.now()); d < 899*time.Second || d > 901*time.Second {
		t.Errorf("expiration %s is %s away, want 15 minutes", c.Expiration, d)
	}
	if *out.AssumedRoleUser.AssumedRoleId != "AROAREMEDIATION00001:short-lived" {
		t.Errorf("AssumedRoleId = %s", *out.AssumedRoleUser.AssumedRoleId)
	}
	static := func(token string) *iam.Client {
		cfg := sdkConfig(1)
		cfg.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, token)
		memberIAM, _ := env.clients(cfg)
		return memberIAM
	}
	if _, err := static(*c.SessionToken).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("legacy-etl")}); err != nil {
		t.Fatalf("fresh credentials: %v", err)
	}
	_, err = static("forged").GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("legacy-etl")})
	wantAPIError(t, err, "InvalidClientTokenId", 403)

	env.clock.advance(15 * time.Minute)
	_, err = static(*c.SessionToken).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("legacy-etl")})
	wantAPIError(t, err, "ExpiredToken", 403)
	if got := serviceOps(env.member.Calls()); len(got) != 1 {
		t.Errorf("member calls = %v, want only the call made in time", got)
	}
}

func TestAssumeRoleInHomeAccount(t *testing.T) {
	env := newOrgEnv(t, func(admin, _ *snapshot.Snapshot) {
		admin.Auth.RoleDetailList = append(admin.Auth.RoleDetailList, snapshot.RoleDetail{
			Path: "/", RoleName: "auditor", RoleId: "AROAAUDITOR000000001", Arn: "arn:aws:iam::111122223333:role/auditor",
			AssumeRolePolicyDocument: &snapshot.PolicyDocument{JSON: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/iamprune-runner"},"Action":"sts:*"}}`},
		})
	})
	cfg := sdkConfig(3)
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(env.sts, "arn:aws:iam::111122223333:role/auditor"))
	_, auditorSTS := env.clients(cfg)
	id, err := auditorSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *id.Account != adminAccount || !strings.HasPrefix(*id.Arn, "arn:aws:sts::111122223333:assumed-role/auditor/") {
		t.Errorf("identity = %s %s", *id.Account, *id.Arn)
	}
	if n := len(env.member.Calls()); n != 0 {
		t.Errorf("member answered %d calls", n)
	}
}

func TestFailNextAssumeRole(t *testing.T) {
	env := newOrgEnv(t, nil)
	env.srv.FailNext("AssumeRole", "AccessDenied", 1)
	in := &sts.AssumeRoleInput{RoleArn: aws.String(remediationARN), RoleSessionName: aws.String("s1"), ExternalId: aws.String("iamprune-ext")}
	_, err := env.sts.AssumeRole(ctx, in)
	wantAPIError(t, err, "AccessDenied", 403)
	if _, err := env.sts.AssumeRole(ctx, in); err != nil {
		t.Fatalf("after the injected failure: %v", err)
	}
	if n := len(env.srv.Assumed()); n != 1 {
		t.Errorf("assumed %d times", n)
	}
}

func TestAddMemberRejectsServedAccounts(t *testing.T) {
	admin, member := loadSnapshot(t, "org/admin"), loadSnapshot(t, "org/member-444455556666")
	srv := New(admin, Options{})
	if _, err := srv.AddMember(admin); err == nil {
		t.Error("AddMember accepted the home account")
	}
	m, err := srv.AddMember(member)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddMember(member); err == nil {
		t.Error("AddMember accepted a member twice")
	}
	if m.Account() != memberAccount || srv.Account() != adminAccount {
		t.Errorf("accounts = %s %s", srv.Account(), m.Account())
	}
}

// AssumeRole in both directions at once, with reads and writes in both
// accounts: each request locks one account's state at a time, so none
// waits on another (a deadlock would hit the context deadline).
func TestOrgConcurrentAssumeRole(t *testing.T) {
	env := newOrgEnv(t, func(admin, _ *snapshot.Snapshot) {
		admin.Auth.RoleDetailList = append(admin.Auth.RoleDetailList, snapshot.RoleDetail{
			Path: "/", RoleName: "reporter", RoleId: "AROAREPORTER00000001", Arn: "arn:aws:iam::111122223333:role/reporter",
			AssumeRolePolicyDocument: &snapshot.PolicyDocument{JSON: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole"}}`},
		})
	})
	memberIAM, memberSTS := env.clients(env.assumeConfig(remediationARN, "iamprune-ext"))
	if _, err := memberIAM.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatal(err)
	}
	deadline, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for i := range 20 {
		wg.Add(4)
		go func() {
			defer wg.Done()
			_, err := env.sts.AssumeRole(deadline, &sts.AssumeRoleInput{RoleArn: aws.String(remediationARN), RoleSessionName: aws.String("in"), ExternalId: aws.String("iamprune-ext")})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := memberSTS.AssumeRole(deadline, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/reporter"), RoleSessionName: aws.String("out")})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := memberIAM.TagRole(deadline, &iam.TagRoleInput{RoleName: aws.String("legacy-etl"), Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String(fmt.Sprint(i))}}})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := env.iam.TagRole(deadline, &iam.TagRoleInput{RoleName: aws.String("iamprune-runner"), Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String(fmt.Sprint(i))}}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(env.srv.Assumed()); n != 41 {
		t.Errorf("assumed %d times, want 41", n)
	}
}
