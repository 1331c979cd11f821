package awsapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

const (
	homeAccount   = "111122223333"
	homeCaller    = "arn:aws:sts::111122223333:assumed-role/SecurityAudit/iamprune"
	memberA       = "444455556666" // trusts the home account with external id ext-123
	memberB       = "777788889999" // wants another external id
	memberMissing = "999900001111" // not served: no role to assume
	memberRole    = "iamprune-member"
)

var orgCA = iamprune.CrossAccount{RoleName: memberRole, ExternalID: "ext-123", SessionName: "iamprune-test"}

// orgEnv serves an organisation from the emulator: the home account
// (testdata/emulator/policies) and members A and B, on one endpoint, with
// small pages. It returns the home credentials' config and its Counter.
func orgEnv(t *testing.T) (*emulator.Server, aws.Config, *Counter) {
	t.Helper()
	isolateEnv(t)
	home, err := snapshot.LoadDir(filepath.Join("testdata", "emulator", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	emu := emulator.New(home, emulator.Options{PageSize: 2})
	for _, m := range []string{"member-a", "member-b"} {
		snap, err := snapshot.LoadDir(filepath.Join("testdata", "org", m))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := emu.AddMember(snap); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cfg, counter, err := LoadConfig(context.Background(), Options{
		Region:      "eu-west-1",
		Endpoint:    srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDHOME", "secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	return emu, cfg, counter
}

func orgFindings() []iamprune.Finding {
	return []iamprune.Finding{
		{ID: "h1", Type: iamprune.UnusedPermission, Account: homeAccount, Resource: "arn:aws:iam::111122223333:role/service/app"},
		{ID: "h2", Type: iamprune.UnusedIAMUserAccessKey, Resource: "arn:aws:iam::111122223333:user/alice"}, // no account: home
		{ID: "a1", Type: iamprune.UnusedPermission, Account: memberA, Resource: "arn:aws:iam::444455556666:role/reader"},
		{ID: "a2", Type: iamprune.UnusedIAMUserAccessKey, Account: memberA, Resource: "arn:aws:iam::444455556666:user/mallory"},
		{ID: "b1", Type: iamprune.UnusedIAMRole, Account: memberB, Resource: "arn:aws:iam::777788889999:role/idle"},
		{ID: "m1", Type: iamprune.UnusedIAMRole, Account: memberMissing, Resource: "arn:aws:iam::999900001111:role/gone"},
	}
}

// TestOrgFacts reads an organisation's facts: member A's through its
// assumed role (with the external id), members whose role cannot be
// assumed as unreachable with the account and role named, every role
// assumed once, and no call repeated, however often Facts is called.
func TestOrgFacts(t *testing.T) {
	emu, cfg, counter := orgEnv(t)
	ctx := context.Background()
	org := NewOrgFacts(NewAccounts(cfg, homeCaller, orgCA), WithWorkers(3))

	facts, err := org.Facts(ctx, orgFindings())
	if err != nil {
		t.Fatal(err)
	}
	if facts.Account != homeAccount || facts.Partition != "aws" || facts.Caller != homeCaller {
		t.Errorf("facts header = %q %q %q, want the home account's", facts.Account, facts.Partition, facts.Caller)
	}

	// Member A, read through its role.
	reader := facts.Principal("arn:aws:iam::444455556666:role/reader")
	if reader == nil || len(reader.InlinePolicies) != 1 ||
		string(reader.InlinePolicies[0].Document) != `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:Query","Resource":"*"}]}` {
		t.Errorf("member role reader = %+v", reader)
	}
	mallory := facts.Principal("arn:aws:iam::444455556666:user/mallory")
	if mallory == nil || !mallory.KeysKnown || len(mallory.AccessKeys) != 1 || !reflect.DeepEqual(mallory.Groups, []string{"ops"}) {
		t.Errorf("member user mallory = %+v", mallory)
	}
	// The home account's too.
	if facts.Principal("arn:aws:iam::111122223333:role/service/app") == nil || !facts.Principal("arn:aws:iam::111122223333:user/alice").KeysKnown {
		t.Error("home principals missing or incomplete")
	}
	// AWS-managed policies have one ARN everywhere: one entry, the larger
	// count (home 2, member A 3).
	ro := facts.ManagedPolicies["arn:aws:iam::aws:policy/ReadOnlyAccess"]
	if ro == nil || ro.Document == nil || ro.AttachmentCount != 3 || !ro.AWSManaged {
		t.Errorf("ReadOnlyAccess = %+v", ro)
	}

	// Members B and the missing one are unreachable, named, and absent.
	if len(facts.Unreachable) != 2 {
		t.Errorf("unreachable = %v, want %s and %s", facts.Unreachable, memberB, memberMissing)
	}
	for _, acct := range []string{memberB, memberMissing} {
		reason := facts.Unreachable[acct]
		role := "arn:aws:iam::" + acct + ":role/" + memberRole
		if !strings.Contains(reason, acct) || !strings.Contains(reason, role) || !strings.Contains(reason, "AccessDenied") {
			t.Errorf("unreachable[%s] = %q, want the account, %s and AccessDenied", acct, reason, role)
		}
	}
	for arn := range facts.Principals {
		if strings.Contains(arn, memberB) || strings.Contains(arn, memberMissing) {
			t.Errorf("principal %s of an unreachable account", arn)
		}
	}

	// One successful assume, with the external id and session name.
	assumed := emu.Assumed()
	if len(assumed) != 1 || assumed[0].Account != memberA || assumed[0].ExternalId != "ext-123" ||
		assumed[0].SessionName != "iamprune-test" || assumed[0].RoleArn != "arn:aws:iam::444455556666:role/iamprune-member" || assumed[0].Caller != homeCaller {
		t.Errorf("assumed = %+v", assumed)
	}
	ops := counter.ByOperation()
	if ops["STS.AssumeRole"] != 3 {
		t.Errorf("AssumeRole called %d times, want once for each of the 3 members", ops["STS.AssumeRole"])
	}
	// Member A's IAM was read in member A, once.
	a := emu.Member(memberA)
	if n := countOp(a.Calls(), "GetAccountAuthorizationDetails"); n == 0 {
		t.Error("member A's authorization details were not read in member A")
	}
	if n := countOp(a.Calls(), "GetPolicy"); n != 1 {
		t.Errorf("member A: %d GetPolicy calls, want 1 (ReadOnlyAccess of reader)", n)
	}
	for _, srv := range []*emulator.Server{emu, a} {
		if d := srv.Duplicates(); len(d) > 0 {
			t.Errorf("account %s: calls made twice: %v", srv.Account(), d)
		}
	}

	want := []string{homeCaller, "arn:aws:sts::444455556666:assumed-role/iamprune-member/iamprune-test"}
	if got := org.Callers(); !reflect.DeepEqual(got, want) {
		t.Errorf("Callers() = %v, want %v", got, want)
	}

	// Again: everything is known, nothing is asked, nothing is assumed.
	calls := counter.Total()
	again, err := org.Facts(ctx, orgFindings())
	if err != nil {
		t.Fatal(err)
	}
	if counter.Total() != calls {
		t.Errorf("second Facts made %d calls, want 0: %v", counter.Total()-calls, counter.ByOperation())
	}
	sameJSON(t, "second facts", again, facts)

	// For hands out the same per-account Facts; an unreachable account's
	// error names it.
	f1, err1 := org.For(ctx, memberA)
	f2, err2 := org.For(ctx, memberA)
	if err1 != nil || err2 != nil || f1 != f2 {
		t.Errorf("For(%s) = %p %v, %p %v; want one Facts", memberA, f1, err1, f2, err2)
	}
	_, err = org.For(ctx, memberB)
	var ae *AssumeError
	if !errors.As(err, &ae) || ae.Account != memberB {
		t.Errorf("For(%s) = %v, want an AssumeError", memberB, err)
	}
}

func countOp(calls []emulator.Call, op string) int {
	n := 0
	for _, c := range calls {
		if c.Operation == op {
			n++
		}
	}
	return n
}

// A failure in the home account fails the run; one in a member account
// whose role was assumed makes it unreachable.
func TestOrgFactsFailures(t *testing.T) {
	t.Run("home", func(t *testing.T) {
		emu, cfg, _ := orgEnv(t)
		emu.FailNext("GetAccountAuthorizationDetails", "AccessDenied", 1)
		_, err := NewOrgFacts(NewAccounts(cfg, homeCaller, orgCA)).Facts(context.Background(), orgFindings())
		if err == nil || !strings.Contains(err.Error(), "home account "+homeAccount) || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("err = %v, want the home account's AccessDenied", err)
		}
	})
	t.Run("member read", func(t *testing.T) {
		emu, cfg, _ := orgEnv(t)
		emu.Member(memberA).FailNext("GetAccountAuthorizationDetails", "AccessDenied", 1)
		facts, err := NewOrgFacts(NewAccounts(cfg, homeCaller, orgCA)).Facts(context.Background(), orgFindings())
		if err != nil {
			t.Fatal(err)
		}
		if r := facts.Unreachable[memberA]; !strings.Contains(r, "cannot read IAM of account "+memberA) || !strings.Contains(r, "AccessDenied") {
			t.Errorf("unreachable[%s] = %q", memberA, r)
		}
		if facts.Principal("arn:aws:iam::444455556666:role/reader") != nil {
			t.Error("principals of an unreachable account are present")
		}
	})
	t.Run("no role configured", func(t *testing.T) {
		emu, cfg, counter := orgEnv(t)
		facts, err := NewOrgFacts(NewAccounts(cfg, homeCaller, iamprune.CrossAccount{})).Facts(context.Background(), orgFindings())
		if err != nil {
			t.Fatal(err)
		}
		if len(facts.Unreachable) != 3 || !strings.Contains(facts.Unreachable[memberA], "accounts.role_name") {
			t.Errorf("unreachable = %v, want every member, for want of accounts.role_name", facts.Unreachable)
		}
		if len(emu.Assumed()) != 0 || counter.ByOperation()["STS.AssumeRole"] != 0 {
			t.Error("a role was assumed without a role name")
		}
	})
}

// Config assumes each member's role once, however many ask at once, keeps
// a refusal, and gives the base credentials for the home account.
func TestAccountsConfig(t *testing.T) {
	emu, cfg, counter := orgEnv(t)
	ctx := context.Background()
	accts := NewAccounts(cfg, homeCaller, orgCA)

	var wg sync.WaitGroup
	keys := make([]string, 8)
	errs := make([]error, 8)
	for i := range keys {
		wg.Go(func() {
			c, err := accts.Config(ctx, memberA)
			if err == nil {
				var creds aws.Credentials
				creds, err = c.Credentials.Retrieve(ctx)
				keys[i] = creds.AccessKeyID
			}
			errs[i] = err
		})
	}
	wg.Wait()
	assumed := emu.Assumed()
	if len(assumed) != 1 {
		t.Fatalf("assumed %d times, want once: %+v", len(assumed), assumed)
	}
	for i := range keys {
		if errs[i] != nil || keys[i] != assumed[0].AccessKeyId {
			t.Errorf("caller %d: key %q err %v, want the assumed role's key %s", i, keys[i], errs[i], assumed[0].AccessKeyId)
		}
	}

	for _, acct := range []string{homeAccount, ""} {
		c, err := accts.Config(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		if creds, err := c.Credentials.Retrieve(ctx); err != nil || creds.AccessKeyID != "AKIDHOME" {
			t.Errorf("Config(%q) credentials = %v %v, want the base ones", acct, creds.AccessKeyID, err)
		}
	}

	for range 2 {
		_, err := accts.Config(ctx, memberB)
		var ae *AssumeError
		if !errors.As(err, &ae) || ae.Account != memberB || ae.Role != "arn:aws:iam::777788889999:role/iamprune-member" ||
			!strings.Contains(err.Error(), memberB) || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("Config(%s) = %v, want an AssumeError naming account and role", memberB, err)
		}
	}
	_, err := accts.Config(ctx, "12345")
	var ae *AssumeError
	if !errors.As(err, &ae) || ae.Account != "12345" {
		t.Errorf("Config(12345) = %v, want an AssumeError", err)
	}
	if n := counter.ByOperation()["STS.AssumeRole"]; n != 2 {
		t.Errorf("AssumeRole called %d times, want 2 (A once, B once; a bad id never)", n)
	}

	// Without a role name every account is reached with the base credentials.
	direct := NewAccounts(cfg, homeCaller, iamprune.CrossAccount{})
	c, err := direct.Config(ctx, memberA)
	if err != nil {
		t.Fatal(err)
	}
	if creds, _ := c.Credentials.Retrieve(ctx); creds.AccessKeyID != "AKIDHOME" || direct.RoleARN(memberA) != "" {
		t.Errorf("without a role: key %s, role %q", creds.AccessKeyID, direct.RoleARN(memberA))
	}
}

// The partition of member roles is the home caller's.
func TestAccountsPartition(t *testing.T) {
	tests := []struct{ home, account, partition, role string }{
		{"arn:aws-us-gov:sts::111122223333:assumed-role/Audit/x", "111122223333", "aws-us-gov", "arn:aws-us-gov:iam::444455556666:role/r"},
		{"arn:aws-cn:iam::111122223333:user/admin", "111122223333", "aws-cn", "arn:aws-cn:iam::444455556666:role/r"},
		{"111122223333", "111122223333", "aws", "arn:aws:iam::444455556666:role/r"},
	}
	for _, tt := range tests {
		a := NewAccounts(aws.Config{}, tt.home, iamprune.CrossAccount{RoleName: "r"})
		if a.Home() != tt.account || a.Partition() != tt.partition || a.RoleARN(memberA) != tt.role || a.RoleARN(tt.account) != "" {
			t.Errorf("%s: home %s partition %s role %s", tt.home, a.Home(), a.Partition(), a.RoleARN(memberA))
		}
		if a.CrossAccount().SessionName != iamprune.DefaultSessionName {
			t.Errorf("session name %q, want the default", a.CrossAccount().SessionName)
		}
	}
}
