package snapshot

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/iamprune/iamprune"
)

// ts parses an RFC 3339 timestamp as UTC.
func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

func tsp(t *testing.T, s string) *time.Time {
	v := ts(t, s)
	return &v
}

func loadGood(t *testing.T) *Snapshot {
	t.Helper()
	s, err := LoadDir(filepath.Join("testdata", "good"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadGood(t *testing.T) {
	s := loadGood(t)

	wantMeta := Meta{
		AccountID: "111122223333", Partition: "aws", Region: "us-east-1",
		CapturedAt: ts(t, "2026-11-27T10:00:00Z"), CallerARN: "arn:aws:sts::111122223333:assumed-role/Admin/me",
	}
	if s.Meta != wantMeta {
		t.Errorf("meta = %+v, want %+v", s.Meta, wantMeta)
	}
	if !s.HasAccessKeys || !s.HasLoginProfiles || !s.HasFindings {
		t.Errorf("Has flags = %v %v %v, want all true", s.HasAccessKeys, s.HasLoginProfiles, s.HasFindings)
	}
	if n := len(s.Auth.UserDetailList) + len(s.Auth.RoleDetailList) + len(s.Auth.GroupDetailList) + len(s.Auth.Policies); n != 6 {
		t.Errorf("auth details hold %d entries, want 6", n)
	}
	if got := len(s.FindingList); got != 6 {
		t.Errorf("%d findings, want 6", got)
	}
	if a := s.AnalyzerOrDefault(); a.Arn != "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/unused" || a.Name != "unused" {
		t.Errorf("analyzer = %+v (the {\"analyzer\": ...} form)", a)
	}
	if r := s.CredentialReport; r == nil || len(r.Users) != 1 || r.Users[0].User != "alice" || r.GeneratedTime != s.Meta.CapturedAt {
		t.Errorf("credential report = %+v, want alice's row generated at the capture time", r)
	}
	if e := s.LastAccessed["arn:aws:iam::111122223333:role/service/app-role"]; len(s.LastAccessed) != 1 || e == nil || e.JobStatus != JobCompleted {
		t.Errorf("last-accessed = %+v", s.LastAccessed)
	}

	// Every timestamp is UTC, whatever offset the file used.
	role := s.Auth.RoleDetailList[0]
	if got := *role.RoleLastUsed.LastUsedDate; got != ts(t, "2026-10-01T07:00:00Z") || got.Location() != time.UTC {
		t.Errorf("RoleLastUsed = %v (%v), want 2026-10-01T07:00:00Z in UTC", got, got.Location())
	}
	if loc := s.Auth.Policies[0].PolicyVersionList[0].CreateDate.Location(); loc != time.UTC {
		t.Errorf("nested CreateDate location = %v", loc)
	}
}

func TestLoadPolicyDocuments(t *testing.T) {
	s := loadGood(t)
	tests := []struct {
		name string
		got  PolicyDocument
		want string
	}{
		{"JSON object", s.Auth.UserDetailList[0].UserPolicyList[0].PolicyDocument,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`},
		{"RFC 3986 with %20 and a literal +", s.Auth.UserDetailList[1].UserPolicyList[0].PolicyDocument,
			`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringLike": {"aws:UserAgent": "a+b c"}}}]}`},
		{"form-encoded, + for spaces", s.Auth.GroupDetailList[0].GroupPolicyList[0].PolicyDocument,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}`},
		{"IAM-encoded trust policy", *s.Auth.RoleDetailList[0].AssumeRolePolicyDocument,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`},
		{"managed policy version", s.Auth.Policies[0].PolicyVersionList[0].Document,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","iam:List*"],"Resource":"*"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !jsonEqual(t, tt.got.JSON, tt.want) {
				t.Errorf("document = %s\nwant       %s", tt.got.JSON, tt.want)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func TestLoadMinimal(t *testing.T) {
	s, err := LoadDir(filepath.Join("testdata", "minimal"))
	if err != nil {
		t.Fatal(err)
	}
	if s.HasAccessKeys || s.HasLoginProfiles || s.HasFindings || s.CredentialReport != nil || s.LastAccessed != nil {
		t.Errorf("optional files reported present: %+v", s)
	}
	if s.Meta.Partition != "aws-us-gov" || s.Meta.Region != "us-gov-west-1" {
		t.Errorf("meta partition/region = %q %q, want the file's values", s.Meta.Partition, s.Meta.Region)
	}
	if got := s.AnalyzerOrDefault().Arn; got != "arn:aws-us-gov:access-analyzer:us-gov-west-1:111122223333:analyzer/bare" {
		t.Errorf("bare analyzer.json: arn = %q", got)
	}
}

func TestLoadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"meta.json":                          {Data: []byte(`{"account_id":"111122223333","captured_at":"2026-01-01T00:00:00Z"}`)},
		"account-authorization-details.json": {Data: []byte(`{}`)},
		"findings.json":                      {Data: []byte(`[]`)},
	}
	s, err := Load(fsys, "embedded/snap")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "embedded/snap" || !s.HasFindings || s.Meta.Partition != "aws" || s.Meta.Region != "us-east-1" {
		t.Errorf("snapshot = %+v", s)
	}
	if _, err := Load(fstest.MapFS{}, "empty"); err == nil || !strings.Contains(err.Error(), "meta.json is missing") {
		t.Errorf("empty FS: err = %v", err)
	}
}

func TestLoadBad(t *testing.T) {
	tests := []struct {
		dir  string
		want string // message, after the folder name
	}{
		{"bad-syntax", "/findings.json:4:24: invalid character ',' looking for beginning of object key string"},
		{"truncated", "/findings.json:5:50: unexpected end of JSON input"},
		{"empty-meta", "/meta.json:1:1: unexpected end of JSON input"},
		{"not-an-array", "/findings.json:1:1: top level: want array, got object"},
		{"wrong-type", "/findings.json:6:15: findings[1].status: want string, got number"},
		{"wrong-type-detail", "/findings.json:5:73: findings[0].findingDetails[1].unusedPermissionDetails.actions: want array, got object"},
		{"bad-timestamp", `/access-keys.json:3:18: access-keys[0].CreateDate: not an RFC 3339 timestamp: parsing time "2024-13-01T00:00:00Z": month out of range`},
		{"missing-field", "/findings.json:38: findings[3].id: missing"},
		{"missing-user-field", "/account-authorization-details.json:5: RoleDetailList[1].RoleName: missing"},
		{"key-detail-missing-id", "/findings.json:4: findings[0].findingDetails[0].unusedIamUserAccessKeyDetails.accessKeyId: missing"},
		{"union-two-members", "/findings.json:4:6: findings[0].findingDetails[0]: want exactly one member (a union), got 2"},
		{"union-null-member", "/findings.json:3: findings[0].findingDetails[0].unusedIamRoleDetails: want object, got null"},
		{"bad-policy", "/account-authorization-details.json:4:63: UserDetailList[0].PolicyDocument: policy document string is neither"},
		{"last-accessed-no-arn", "/last-accessed.json:1: last-accessed[1].Arn: missing"},
		{"analyzer-no-arn", "/analyzer.json:1: analyzer.arn: missing"},
		{"bad-account", `/meta.json:2: account_id: "12345" is not a 12-digit AWS account id`},
		{"no-captured-at", "/meta.json: captured_at: missing"},
		{"no-meta", ": meta.json is missing (required)"},
		{"no-auth", ": account-authorization-details.json is missing (required)"},
		{"does-not-exist", " does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", tt.dir)
			s, err := LoadDir(dir)
			if err == nil {
				t.Fatalf("loaded %+v, want an error", s)
			}
			if want := filepath.FromSlash(dir + tt.want); !strings.Contains(err.Error(), want) {
				t.Errorf("error = %q\nwant it to contain %q", err, want)
			}
			var e *iamprune.Error
			if !errors.As(err, &e) || e.Code != iamprune.EINVALID {
				t.Errorf("error %v: code %q, want %q", err, iamprune.ErrorCode(err), iamprune.EINVALID)
			}
		})
	}
}
