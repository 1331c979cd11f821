package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

func TestFindings(t *testing.T) {
	s := loadGood(t)
	got, warnings, err := s.Findings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const analyzer = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/unused"
	want := []iamprune.Finding{
		{
			ID: "f-role", AnalyzerARN: analyzer, Type: iamprune.UnusedIAMRole, Status: iamprune.StatusActive,
			Resource: "arn:aws:iam::111122223333:role/old-role", ResourceType: "AWS::IAM::Role", Account: "111122223333",
			CreatedAt: ts(t, "2026-06-01T00:00:00Z"), UpdatedAt: ts(t, "2026-11-26T00:00:00Z"), AnalyzedAt: ts(t, "2026-11-26T00:00:00Z"),
			LastAccessed: nil, // never used
		},
		{
			ID: "f-keys", AnalyzerARN: analyzer, Type: iamprune.UnusedIAMUserAccessKey, Status: iamprune.StatusActive,
			Resource: "arn:aws:iam::111122223333:user/alice", ResourceType: "AWS::IAM::User",
			Account:   "111122223333", // no resourceOwnerAccount: meta's account
			CreatedAt: ts(t, "2026-03-01T00:00:00Z"), UpdatedAt: ts(t, "2026-11-26T00:00:00Z"), AnalyzedAt: ts(t, "2026-11-26T00:00:00Z"),
			AccessKeys: []iamprune.KeyUsage{
				{AccessKeyID: "AKIAALICE1", LastAccessed: tsp(t, "2026-02-01T10:00:00Z")},
				{AccessKeyID: "AKIAALICE2"},
			},
		},
		{
			ID: "f-password", AnalyzerARN: analyzer, Type: iamprune.UnusedIAMUserPassword, Status: iamprune.StatusArchived,
			Resource: "arn:aws:iam::111122223333:user/eng/bob", ResourceType: "AWS::IAM::User", Account: "444455556666",
			Error: "ACCESS_DENIED", LastAccessed: tsp(t, "2025-12-24T18:00:00Z"),
		},
		{
			ID: "f-perms", AnalyzerARN: analyzer, Type: iamprune.UnusedPermission, Status: iamprune.StatusActive,
			Resource: "arn:aws:iam::111122223333:role/service/app-role", ResourceType: "AWS::IAM::Role", Account: "111122223333",
			CreatedAt: ts(t, "2026-05-05T00:00:00Z"),
			Services: []iamprune.ServiceUsage{
				{Namespace: "s3", LastAccessed: tsp(t, "2026-01-01T00:00:00Z"), Actions: []iamprune.ActionUsage{
					{Action: "PutObject", LastAccessed: tsp(t, "2026-01-01T00:00:00Z")},
					{Action: "DeleteObject"},
				}},
				{Namespace: "iam"},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n got %+v\nwant %+v", got, want)
	}

	file := filepath.Join("testdata", "good", "findings.json")
	wantWarnings := []iamprune.Warning{
		{Source: file + "[3]", Message: `unknown finding detail member "unusedNetworkDetails" in findingDetails[1]; detail skipped`},
		{Source: file + "[4]", Message: `unknown finding type "UnusedIAMGroup"; skipped`},
		{Source: file + "[5]", Message: `unknown finding detail member "unusedIamRoleSessionDetails" in findingDetails[0]; detail skipped`},
		{Source: file + "[5]", Message: `UnusedIAMRole finding "f-role-unknown-only" has no unusedIamRoleDetails details; skipped`},
	}
	if !reflect.DeepEqual(warnings, wantWarnings) {
		t.Errorf("warnings:\n got %v\nwant %v", warnings, wantWarnings)
	}

	// The domain values must not alias the snapshot's.
	*got[1].AccessKeys[0].LastAccessed = ts(t, "2000-01-01T00:00:00Z")
	if *s.FindingList[1].FindingDetails[0].UnusedIamUserAccessKeyDetails.LastAccessed == *got[1].AccessKeys[0].LastAccessed {
		t.Error("Finding.AccessKeys aliases the snapshot's timestamps")
	}
}

// A finding of a known type without its details is skipped, never read as
// "never used".
func TestFindingsMissingDetails(t *testing.T) {
	s, err := LoadDir(filepath.Join("testdata", "missing-details"))
	if err != nil {
		t.Fatal(err)
	}
	got, warnings, err := s.Findings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("findings = %+v, want none", got)
	}
	file := filepath.Join("testdata", "missing-details", "findings.json")
	want := []iamprune.Warning{
		{Source: file + "[0]", Message: `UnusedIAMRole finding "r" has no unusedIamRoleDetails details; skipped`},
		{Source: file + "[1]", Message: `findingDetails[0] member "unusedIamUserPasswordDetails" does not belong to UnusedIAMUserAccessKey findings; detail skipped`},
		{Source: file + "[1]", Message: `UnusedIAMUserAccessKey finding "k" has no unusedIamUserAccessKeyDetails details; skipped`},
		{Source: file + "[2]", Message: `UnusedIAMUserPassword finding "p" has no unusedIamUserPasswordDetails details; skipped`},
		{Source: file + "[3]", Message: `UnusedPermission finding "s" has no unusedPermissionDetails details; skipped`},
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings:\n got %v\nwant %v", warnings, want)
	}
}

func TestFindingsWithoutFile(t *testing.T) {
	dir := filepath.Join("testdata", "minimal")
	s, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Findings(context.Background())
	var e *iamprune.Error
	if !errors.As(err, &e) || e.Code != iamprune.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	if want := "snapshot " + dir + " has no findings.json: analyzer mode needs it"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

func TestFacts(t *testing.T) {
	s := loadGood(t)
	f, err := s.Facts(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Account != "111122223333" || f.Partition != "aws" || f.Caller != "arn:aws:sts::111122223333:assumed-role/Admin/me" {
		t.Errorf("facts header = %q %q %q", f.Account, f.Partition, f.Caller)
	}
	want := map[string]*iamprune.Principal{
		"arn:aws:iam::111122223333:user/alice": {
			ARN: "arn:aws:iam::111122223333:user/alice", Kind: iamprune.KindUser, Name: "alice", Path: "/", ID: "AIDAALICE",
			Account: "111122223333", CreateDate: ts(t, "2024-01-10T08:00:00Z"),
			Tags: map[string]string{"team": "payments", "owner": "alice@example.com"},
			AccessKeys: []iamprune.AccessKey{
				{ID: "AKIAALICE1", Status: "Active", CreateDate: ts(t, "2024-01-10T08:05:00Z"), LastUsed: tsp(t, "2026-02-01T10:00:00Z")},
				{ID: "AKIAALICE2", Status: "Inactive", CreateDate: ts(t, "2025-06-01T00:00:00Z")},
			},
			KeysKnown: true, LoginProfileKnown: true,
			InlinePolicies: []iamprune.InlinePolicy{{Name: "inline-object",
				Document: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`)}},
			Groups: []string{"devs"},
		},
		"arn:aws:iam::111122223333:user/eng/bob": {
			ARN: "arn:aws:iam::111122223333:user/eng/bob", Kind: iamprune.KindUser, Name: "bob", Path: "/eng/", ID: "AIDABOB",
			Account: "111122223333", CreateDate: ts(t, "2023-05-01T12:30:00Z"),
			KeysKnown: true, LoginProfileKnown: true,
			LoginProfile:     &iamprune.LoginProfile{CreateDate: ts(t, "2023-05-02T00:00:00Z"), PasswordResetRequired: true},
			AttachedPolicies: []string{"arn:aws:iam::111122223333:policy/ReadAll"},
			// RFC 3986: '+' is literal, %20 a space.
			InlinePolicies: []iamprune.InlinePolicy{{Name: "inline-rfc3986",
				Document: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"aws:UserAgent":"a+b c"}}}]}`)}},
		},
		"arn:aws:iam::111122223333:role/service/app-role": {
			ARN: "arn:aws:iam::111122223333:role/service/app-role", Kind: iamprune.KindRole, Name: "app-role", Path: "/service/",
			ID: "AROAAPP", Account: "111122223333", CreateDate: ts(t, "2022-03-04T05:06:07Z"),
			Tags: map[string]string{"owner": "team-app"}, RoleLastUsed: tsp(t, "2026-10-01T07:00:00Z"),
			AttachedPolicies: []string{"arn:aws:iam::111122223333:policy/ReadAll"},
		},
		"arn:aws:iam::111122223333:role/old-role": {
			ARN: "arn:aws:iam::111122223333:role/old-role", Kind: iamprune.KindRole, Name: "old-role", Path: "/",
			ID: "AROAOLD", Account: "111122223333", CreateDate: ts(t, "2021-01-01T00:00:00Z"),
		},
	}
	if !reflect.DeepEqual(f.Principals, want) {
		for arn, p := range f.Principals {
			if !reflect.DeepEqual(p, want[arn]) {
				t.Errorf("%s:\n got %+v\nwant %+v", arn, p, want[arn])
			}
		}
		t.Errorf("principals: got %d, want %d (the ghost user's key and login profile must be ignored)", len(f.Principals), len(want))
	}
	if !reflect.DeepEqual(f.PolicyVersions, map[string]string{"arn:aws:iam::111122223333:policy/ReadAll": "v1"}) {
		t.Errorf("policy versions = %v", f.PolicyVersions)
	}
	wantPolicies := map[string]*iamprune.ManagedPolicy{
		"arn:aws:iam::111122223333:policy/ReadAll": {
			ARN: "arn:aws:iam::111122223333:policy/ReadAll", Name: "ReadAll", Path: "/", DefaultVersion: "v1", AttachmentCount: 2,
			Document: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","iam:List*"],"Resource":"*"}]}`),
		},
	}
	if !reflect.DeepEqual(f.ManagedPolicies, wantPolicies) {
		t.Errorf("managed policies = %s", jsonOf(t, f.ManagedPolicies))
	}
}

// TestFactsPolicies: managed policies attached to users and roles come with
// the default version's document, found among several versions; the
// AWS-managed ones listed in Policies too; an attached policy absent from
// Policies, or without its default version, has no document. Policies
// attached to nothing (or only to groups) are left out.
func TestFactsPolicies(t *testing.T) {
	s, err := LoadDir(filepath.Join("testdata", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Facts(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*iamprune.ManagedPolicy{
		"arn:aws:iam::111122223333:policy/team/AppPolicy": {
			ARN: "arn:aws:iam::111122223333:policy/team/AppPolicy", Name: "AppPolicy", Path: "/team/", DefaultVersion: "v2", AttachmentCount: 1,
			Document: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`),
		},
		"arn:aws:iam::aws:policy/ReadOnlyAccess": {
			ARN: "arn:aws:iam::aws:policy/ReadOnlyAccess", Name: "ReadOnlyAccess", Path: "/", DefaultVersion: "v3", AttachmentCount: 2, AWSManaged: true,
			Document: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","ec2:Describe*"],"Resource":"*"}]}`),
		},
		"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess": {
			ARN: "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", Name: "ViewOnlyAccess", Path: "/job-function/", AWSManaged: true,
		},
		"arn:aws:iam::111122223333:policy/NoDefault": {
			ARN: "arn:aws:iam::111122223333:policy/NoDefault", Name: "NoDefault", Path: "/", DefaultVersion: "v9", AttachmentCount: 1,
		},
	}
	if !reflect.DeepEqual(f.ManagedPolicies, want) {
		t.Errorf("managed policies:\n got %s\nwant %s", jsonOf(t, f.ManagedPolicies), jsonOf(t, want))
	}
	role := f.Principal("arn:aws:iam::111122223333:role/worker")
	if role == nil || len(role.InlinePolicies) != 2 || role.InlinePolicies[0].Name != "first" || role.InlinePolicies[1].Name != "second" ||
		string(role.InlinePolicies[1].Document) != `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}` {
		t.Errorf("worker inline policies = %s", jsonOf(t, role))
	}
	if u := f.Principal("arn:aws:iam::111122223333:user/ann"); u == nil || !reflect.DeepEqual(u.Groups, []string{"readers", "ops"}) {
		t.Errorf("ann = %s, want groups [readers ops]", jsonOf(t, u))
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Without access-keys.json and login-profiles.json, users have none, and
// that is known.
func TestFactsWithoutOptionalFiles(t *testing.T) {
	s, err := LoadDir(filepath.Join("testdata", "minimal"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Facts(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := f.Principal("arn:aws-us-gov:iam::111122223333:user/carol")
	if p == nil {
		t.Fatalf("carol missing from %v", f.Principals)
	}
	if !p.KeysKnown || !p.LoginProfileKnown || p.AccessKeys != nil || p.LoginProfile != nil {
		t.Errorf("carol = %+v, want known and empty keys and login profile", p)
	}
	if f.Partition != "aws-us-gov" || !strings.HasPrefix(f.Caller, "arn:aws-us-gov:sts::111122223333:") {
		t.Errorf("partition %q, caller %q", f.Partition, f.Caller)
	}
}
