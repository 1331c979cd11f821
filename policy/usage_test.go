package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func date(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func TestUsageFromFinding(t *testing.T) {
	// As in an UnusedPermission finding: listed services are the unused
	// ones; actions may be written with or without their prefix.
	f := iamprune.Finding{Type: iamprune.UnusedPermission, Services: []iamprune.ServiceUsage{
		{Namespace: "s3", LastAccessed: date("2026-11-23"), Actions: []iamprune.ActionUsage{
			{Action: "s3:DeleteBucket"},
			{Action: "PutBucketPolicy", LastAccessed: date("2026-05-01")},
		}},
		{Namespace: "kms", LastAccessed: date("2026-03-20")},
		{Namespace: "ec2"},
		// A second page for the same service: the latest use counts.
		{Namespace: "KMS", LastAccessed: date("2026-03-25")},
	}}
	u := UsageFromFinding(f)
	tests := []struct {
		action string
		days   int
		unused bool
	}{
		{"s3:DeleteBucket", 90, true},      // tracked, never used
		{"s3:PutBucketPolicy", 90, true},   // tracked, 211 days
		{"s3:PutBucketPolicy", 212, false}, // tracked, within 212 days
		{"s3:GetObject", 90, false},        // untracked: the service's 5 days
		{"S3:deletebucket", 90, true},      // case-insensitive
		{"kms:Decrypt", 90, true},          // service 248 days (latest page)
		{"kms:Decrypt", 249, false},        // boundary: 248 whole days < 249
		{"kms:Decrypt", 248, true},         // 248 >= 248
		{"ec2:RunInstances", 10000, true},  // service never used
		{"dynamodb:Query", 1, false},       // not listed: used
		{"nocolon", 1, false},              // not an action: unknown
		{"s3:FutureAction", 90, false},     // untracked, unknown to the catalogue: service date
		{"s3:PutBucketPolicy", 1, true},    // 1 day threshold
		{"s3:GetObject", 5, true},          // service used exactly 5 days ago
		{"s3:GetObject", 6, false},         // ...within 6
		{"kms:" + strings.Repeat("x", 3), 1, true},
	}
	now := testNow
	for _, tt := range tests {
		if got := u.Unused(tt.action, now, tt.days); got != tt.unused {
			t.Errorf("Unused(%s, %d) = %v, want %v", tt.action, tt.days, got, tt.unused)
		}
	}
	if last, known := u.ServiceLastAccessed("kms"); !known || !last.Equal(*date("2026-03-25")) {
		t.Errorf("ServiceLastAccessed(kms) = %v, %v", last, known)
	}
	if !u.Tracked("s3:deletebucket") || u.Tracked("s3:GetObject") {
		t.Error("Tracked is wrong")
	}
}

func TestUsageFromLastAccessed(t *testing.T) {
	raw := `{"Arn":"arn:aws:iam::111122223333:role/r","JobStatus":"COMPLETED","JobType":"ACTION_LEVEL",
	 "ServicesLastAccessed":[
	  {"ServiceName":"Amazon DynamoDB","ServiceNamespace":"dynamodb","LastAuthenticated":"2026-09-29T00:00:00Z",
	   "TrackedActionsLastAccessed":[{"ActionName":"DeleteTable"},{"ActionName":"Query","LastAccessedTime":"2026-09-29T00:00:00Z"}]},
	  {"ServiceNamespace":"ec2","TotalAuthenticatedEntities":0},
	  {"ServiceNamespace":"s3","LastAuthenticated":"2026-11-20T10:00:00+02:00"}]}`
	u, err := UsageFromLastAccessed([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		action string
		unused bool
	}{
		{"dynamodb:DeleteTable", true},
		{"dynamodb:Query", false},
		{"dynamodb:PutItem", false}, // untracked: the service's date
		{"ec2:DescribeInstances", true},
		{"s3:GetObject", false},
		{"sqs:SendMessage", false}, // not in the job: unknown, so used
	}
	for _, tt := range tests {
		if got := u.Unused(tt.action, testNow, 90); got != tt.unused {
			t.Errorf("Unused(%s) = %v, want %v", tt.action, got, tt.unused)
		}
	}
}

func TestUsageFromLastAccessedErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`[]`, "usage: must be an object, got array"},
		{`{"JobStatus":"IN_PROGRESS","ServicesLastAccessed":[]}`, `usage: JobStatus: "IN_PROGRESS": the job has not completed`},
		{`{"Arn":"x"}`, "usage: ServicesLastAccessed: missing"},
		{`{"ServicesLastAccessed":{}}`, "usage: ServicesLastAccessed: must be a list, got object"},
		{`{"ServicesLastAccessed":[{"LastAuthenticated":"2026-01-01T00:00:00Z"}]}`, "usage: ServicesLastAccessed[0].ServiceNamespace: missing"},
		{`{"ServicesLastAccessed":[{"ServiceNamespace":"s3"},{"ServiceNamespace":"s3","LastAuthenticated":"yesterday"}]}`,
			`usage: ServicesLastAccessed[1].LastAuthenticated: "yesterday" is not an RFC 3339 time`},
		{`{"ServicesLastAccessed":[{"ServiceNamespace":"s3","LastAuthenticated":5}]}`, "usage: ServicesLastAccessed[0].LastAuthenticated: must be a string, got number"},
		{`{"ServicesLastAccessed":[{"ServiceNamespace":"s3","TrackedActionsLastAccessed":[{"LastAccessedTime":"2026-01-01T00:00:00Z"}]}]}`,
			"usage: ServicesLastAccessed[0].TrackedActionsLastAccessed[0].ActionName: missing"},
		{`{"ServicesLastAccessed":[{"ServiceNamespace":"s3","TrackedActionsLastAccessed":[{"ActionName":"GetObject","LastAccessedTime":"2026-13-01"}]}]}`,
			`usage: ServicesLastAccessed[0].TrackedActionsLastAccessed[0].LastAccessedTime: "2026-13-01" is not an RFC 3339 time`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := UsageFromLastAccessed([]byte(tt.in))
			if iamprune.ErrorCode(err) != iamprune.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

// A wildcard in usage data must not become one in a refined policy.
func TestUsageIgnoresWildcardActions(t *testing.T) {
	u := NewUsage([]iamprune.ServiceUsage{{Namespace: "sqs", LastAccessed: date("2026-11-20"),
		Actions: []iamprune.ActionUsage{{Action: "sqs:*", LastAccessed: date("2026-11-20")}, {Action: "Send?essage"}}}})
	if extras := u.extraActions(); len(extras) != 0 {
		t.Errorf("extra actions = %v, want none", extras)
	}
}
