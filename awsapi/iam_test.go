package awsapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

func readFindings(t *testing.T, path string) []iamprune.Finding {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fs []iamprune.Finding
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return fs
}

// TestFacts reads the wire responses under testdata/facts/<case> for the
// findings in findings.json and compares the facts with want.json. The fake
// fails on any call it has no response for (a user that no longer exists,
// a user without a matching finding) and on any call made twice. The
// credential report gives alice's first key and carol's lack of a
// password; alice's second key (its column a second off) and bob (no row)
// are read on their own.
func TestFacts(t *testing.T) {
	for _, name := range []string{"basic"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "facts", name)
			fake := newFake(t)
			fake.load(dir)
			fake.check = checkAuthFilter(t)
			counter := NewCounter()
			src := NewFacts(fake.start(counter), WithWorkers(3))
			findings := readFindings(t, filepath.Join(dir, "findings.json"))

			got, err := src.Facts(context.Background(), findings)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join(dir, "want.json"), got)
			if fb := src.Fallbacks(); !reflect.DeepEqual(fb, map[string]int{FallbackKeyUnmatched: 1, FallbackUserMissing: 1}) {
				t.Errorf("fallbacks = %v", fb)
			}
			calls := counter.Total()
			// Documents are decoded and compact (the golden file re-indents them).
			if d := string(got.ManagedPolicies["arn:aws:iam::111122223333:policy/team/AppPolicy"].Document); d != `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::data/*"}]}` {
				t.Errorf("AppPolicy document = %s", d)
			}
			if d := string(got.Principals["arn:aws:iam::111122223333:user/alice"].InlinePolicies[0].Document); d != `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"aws:UserAgent":"a+b c"}}}]}` {
				t.Errorf("alice's inline document = %s", d)
			}

			// The result is the caller's: changing it must not reach the cache.
			for _, p := range got.Principals {
				if p.Tags != nil {
					p.Tags["changed"] = "yes"
				}
				p.AccessKeys = append(p.AccessKeys, iamprune.AccessKey{ID: "AKIAMUTATED"})
				for _, ip := range p.InlinePolicies {
					ip.Document[0] = '['
				}
				if len(p.Groups) > 0 {
					p.Groups[0] = "mutated"
				}
			}
			for _, mp := range got.ManagedPolicies {
				mp.Document[0] = '['
				mp.AttachmentCount = -1
			}
			again, err := src.Facts(context.Background(), findings)
			if err != nil {
				t.Fatal(err)
			}
			if counter.Total() != calls {
				t.Errorf("second Facts made %d calls, want 0", counter.Total()-calls)
			}
			compareGolden(t, filepath.Join(dir, "want.json"), again)
			fake.checkCalls()
		})
	}
}

// checkAuthFilter fails the test unless GetAccountAuthorizationDetails asks
// for users, roles and customer-managed policies, not groups nor the
// AWS-managed policies (read lazily), and unless the lazy reads ask for the
// one AWS-managed policy of the fixture and its default version.
func checkAuthFilter(t *testing.T) func(string, *http.Request, []byte) {
	return func(key string, _ *http.Request, body []byte) {
		form, _ := url.ParseQuery(string(body))
		switch {
		case strings.HasPrefix(key, "iam.GetAccountAuthorizationDetails"):
			want := []string{"User", "Role", "LocalManagedPolicy", ""}
			if f := []string{form.Get("Filter.member.1"), form.Get("Filter.member.2"), form.Get("Filter.member.3"), form.Get("Filter.member.4")}; !slices.Equal(f, want) {
				t.Errorf("GetAccountAuthorizationDetails filter = %v, want %v", f, want)
			}
		case key == "iam.GetPolicy":
			if got := form.Get("PolicyArn"); got != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
				t.Errorf("GetPolicy of %s", got)
			}
		case key == "iam.GetPolicyVersion":
			if got := form.Get("PolicyArn") + " " + form.Get("VersionId"); got != "arn:aws:iam::aws:policy/ReadOnlyAccess v130" {
				t.Errorf("GetPolicyVersion of %s", got)
			}
		}
	}
}

// TestFactsIncremental checks that a later call with new findings reads
// only what is new: the AWS-managed policies only once an UnusedPermission
// finding names a principal they are attached to, and each once.
func TestFactsIncremental(t *testing.T) {
	fake := newFake(t)
	fake.load(filepath.Join("testdata", "facts", "basic"))
	fake.check = checkAuthFilter(t)
	counter := NewCounter()
	src := NewFacts(fake.start(counter))
	keys := iamprune.Finding{ID: "k", Type: iamprune.UnusedIAMUserAccessKey, Resource: "arn:aws:iam::111122223333:user/alice"}
	pw := iamprune.Finding{ID: "p", Type: iamprune.UnusedIAMUserPassword, Resource: "arn:aws:iam::111122223333:user/people/bob"}
	pwCarol := iamprune.Finding{ID: "p2", Type: iamprune.UnusedIAMUserPassword, Resource: "arn:aws:iam::111122223333:user/carol"}
	keysDave := iamprune.Finding{ID: "k2", Type: iamprune.UnusedIAMUserAccessKey, Resource: "arn:aws:iam::111122223333:user/dave"}
	permAlice := iamprune.Finding{ID: "u", Type: iamprune.UnusedPermission, Resource: "arn:aws:iam::111122223333:user/alice"}
	// The role's AWS-managed policy is not read: its finding is no UnusedPermission.
	roleApp := iamprune.Finding{ID: "r", Type: iamprune.UnusedIAMRole, Resource: "arn:aws:iam::111122223333:role/app"}

	steps := []struct {
		findings []iamprune.Finding
		want     map[string]int // new calls by operation
	}{
		{[]iamprune.Finding{keys}, map[string]int{"STS.GetCallerIdentity": 1, "IAM.GetAccountAuthorizationDetails": 2,
			"IAM.GenerateCredentialReport": 1, "IAM.GetCredentialReport": 1, "IAM.ListAccessKeys": 2, "IAM.GetAccessKeyLastUsed": 1}},
		{[]iamprune.Finding{keys, pw}, map[string]int{"IAM.GetLoginProfile": 1, "IAM.GetUser": 1}},
		{[]iamprune.Finding{pw, keys}, map[string]int{}},
		{[]iamprune.Finding{pwCarol, keysDave, pw, roleApp}, map[string]int{"IAM.ListAccessKeys": 1}},
		{[]iamprune.Finding{permAlice, permAlice}, map[string]int{"IAM.GetPolicy": 1, "IAM.GetPolicyVersion": 1}},
		{[]iamprune.Finding{permAlice, keys}, map[string]int{}},
	}
	before := map[string]int{}
	for i, st := range steps {
		facts, err := src.Facts(context.Background(), st.findings)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		now := counter.ByOperation()
		delta := map[string]int{}
		for op, n := range now {
			if d := n - before[op]; d != 0 {
				delta[op] = d
			}
		}
		if !reflect.DeepEqual(delta, st.want) {
			t.Errorf("step %d: new calls %v, want %v", i, delta, st.want)
		}
		before = now
		// What was read earlier stays known.
		if alice := facts.Principal(keys.Resource); !alice.KeysKnown || len(alice.AccessKeys) != 2 {
			t.Errorf("step %d: alice keys known=%v %v", i, alice.KeysKnown, alice.AccessKeys)
		}
		// Customer-managed policies come with the first read; the
		// AWS-managed one once read, and from then on.
		if mp := facts.ManagedPolicies["arn:aws:iam::111122223333:policy/team/AppPolicy"]; mp == nil || mp.Document == nil {
			t.Errorf("step %d: AppPolicy = %+v", i, mp)
		}
		ro := facts.ManagedPolicies["arn:aws:iam::aws:policy/ReadOnlyAccess"]
		if read := i >= 4; (ro != nil) != read || (read && (ro.Document == nil || facts.PolicyVersions[ro.ARN] != "v130")) {
			t.Errorf("step %d: ReadOnlyAccess = %+v, versions %v", i, ro, facts.PolicyVersions)
		}
		if facts.ManagedPolicies["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"] != nil {
			t.Errorf("step %d: ViewOnlyAccess read without an UnusedPermission finding", i)
		}
	}
	fake.checkCalls()
}

func TestFactsErrors(t *testing.T) {
	const denied = `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message></Error><RequestId>r</RequestId></ErrorResponse>`
	const caller = `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/admin</Arn><Account>111122223333</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`
	const auth = `<GetAccountAuthorizationDetailsResponse><GetAccountAuthorizationDetailsResult><UserDetailList><member><UserName>alice</UserName><Arn>arn:aws:iam::111122223333:user/alice</Arn><Path>/</Path></member></UserDetailList><IsTruncated>false</IsTruncated></GetAccountAuthorizationDetailsResult></GetAccountAuthorizationDetailsResponse>`
	alice := []iamprune.Finding{
		{ID: "k", Type: iamprune.UnusedIAMUserAccessKey, Resource: "arn:aws:iam::111122223333:user/alice"},
		{ID: "p", Type: iamprune.UnusedIAMUserPassword, Resource: "arn:aws:iam::111122223333:user/alice"},
	}
	tests := []struct {
		name      string
		responses map[string]string // key -> body; denied answers 403
		wantErr   string
	}{
		{"caller", map[string]string{"sts.GetCallerIdentity": denied}, "sts: cannot get caller identity: "},
		// Without the credential report, keys and passwords are read one by one.
		{"auth", map[string]string{"sts.GetCallerIdentity": caller, "iam.GetAccountAuthorizationDetails": denied}, "iam: cannot get account authorization details: "},
		{"keys", map[string]string{
			"sts.GetCallerIdentity": caller, "iam.GetAccountAuthorizationDetails": auth, "iam.GenerateCredentialReport": denied,
			"iam.ListAccessKeys.alice":  denied,
			"iam.GetLoginProfile.alice": `<GetLoginProfileResponse><GetLoginProfileResult><LoginProfile><UserName>alice</UserName></LoginProfile></GetLoginProfileResult></GetLoginProfileResponse>`,
		}, "iam: cannot list access keys of user alice: "},
		{"profile", map[string]string{
			"sts.GetCallerIdentity": caller, "iam.GetAccountAuthorizationDetails": auth, "iam.GenerateCredentialReport": denied,
			"iam.ListAccessKeys.alice":  `<ListAccessKeysResponse><ListAccessKeysResult><IsTruncated>false</IsTruncated></ListAccessKeysResult></ListAccessKeysResponse>`,
			"iam.GetLoginProfile.alice": denied,
		}, "iam: cannot get login profile of user alice: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			for k, body := range tt.responses {
				status := 200
				if body == denied {
					status = 403
				}
				fake.add(k, status, body)
			}
			_, err := NewFacts(fake.start(nil)).Facts(context.Background(), alice)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "AccessDenied") {
				t.Fatalf("err = %v, want %q and the AWS error code", err, tt.wantErr)
			}
		})
	}
}
