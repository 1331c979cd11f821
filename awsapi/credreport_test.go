package awsapi

import (
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestKeyUse matches a user's keys to the report's two key columns by
// creation time, and refuses every match it cannot make for sure.
func TestKeyUse(t *testing.T) {
	used := at("2026-05-01T10:00:00Z")
	col := func(created string, last iamprune.ReportTime) iamprune.ReportKey {
		return iamprune.ReportKey{Active: true, LastRotated: iamprune.ReportDate(at(created)), LastUsedDate: last}
	}
	empty := iamprune.ReportKey{LastRotated: iamprune.ReportTime{State: iamprune.ReportNA}, LastUsedDate: iamprune.ReportTime{State: iamprune.ReportNA}}
	na := iamprune.ReportTime{State: iamprune.ReportNA}
	key := func(id, created string) iamprune.AccessKey {
		return iamprune.AccessKey{ID: id, Status: "Active", CreateDate: at(created)}
	}
	tests := []struct {
		name     string
		cols     [2]iamprune.ReportKey
		keys     []iamprune.AccessKey
		i        int
		want     *time.Time
		fallback string
	}{
		{"second column", [2]iamprune.ReportKey{col("2020-01-01T00:00:00Z", na), col("2021-01-01T00:00:00Z", iamprune.ReportDate(used))},
			[]iamprune.AccessKey{key("A", "2020-01-01T00:00:00Z"), key("B", "2021-01-01T00:00:00.400Z")}, 1, &used, ""},
		{"never used", [2]iamprune.ReportKey{col("2020-01-01T00:00:00Z", na), empty},
			[]iamprune.AccessKey{key("A", "2020-01-01T00:00:00Z")}, 0, nil, ""},
		{"created since the report", [2]iamprune.ReportKey{col("2020-01-01T00:00:00Z", na), empty},
			[]iamprune.AccessKey{key("A", "2020-01-01T00:00:00Z"), key("B", "2026-01-01T00:00:00Z")}, 1, nil, FallbackKeyUnmatched},
		{"same second", [2]iamprune.ReportKey{col("2020-01-01T00:00:00Z", na), col("2020-01-01T00:00:00Z", iamprune.ReportDate(used))},
			[]iamprune.AccessKey{key("A", "2020-01-01T00:00:00.1Z"), key("B", "2020-01-01T00:00:00.9Z")}, 0, nil, FallbackKeyUnmatched},
		{"no information", [2]iamprune.ReportKey{col("2020-01-01T00:00:00Z", iamprune.ReportTime{State: iamprune.ReportNoInformation}), empty},
			[]iamprune.AccessKey{key("A", "2020-01-01T00:00:00Z")}, 0, nil, FallbackNoValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := &iamprune.CredentialReportUser{User: "u", AccessKeys: tt.cols}
			got, fallback := keyUse(row, tt.keys, tt.i)
			if fallback != tt.fallback || (got == nil) != (tt.want == nil) || (got != nil && !got.Equal(*tt.want)) {
				t.Errorf("keyUse = %v, %q; want %v, %q", got, fallback, tt.want, tt.fallback)
			}
		})
	}
}

// TestReportRow refuses a report older than what the findings say, and a
// user it does not list.
func TestReportRow(t *testing.T) {
	const arn = "arn:aws:iam::111122223333:user/u"
	row := &iamprune.CredentialReportUser{User: "u", ARN: arn}
	s := &Facts{
		report:      &iamprune.CredentialReport{GeneratedTime: at("2026-05-01T00:00:00Z")},
		reportUsers: map[string]*iamprune.CredentialReportUser{arn: row},
	}
	for _, tt := range []struct {
		arn, need, want string
	}{
		{arn, "2026-04-30T23:59:59Z", ""},
		{arn, "2026-05-01T00:00:00Z", ""},
		{arn, "2026-05-01T00:00:01Z", FallbackStale},
		{"arn:aws:iam::111122223333:user/new", "2026-04-01T00:00:00Z", FallbackUserMissing},
	} {
		got, why := s.reportRow(tt.arn, at(tt.need))
		if why != tt.want || (why == "") != (got == row) {
			t.Errorf("reportRow(%s, %s) = %v, %q; want %q", tt.arn, tt.need, got, why, tt.want)
		}
	}
	if _, why := (&Facts{}).reportRow(arn, time.Time{}); why != FallbackNoReport {
		t.Errorf("without a report: %q", why)
	}
}

// TestNeeds takes the latest of updatedAt and the last uses per user.
func TestNeeds(t *testing.T) {
	u := "arn:aws:iam::111122223333:user/u"
	late := at("2026-03-01T00:00:00Z")
	keys, pw := needs([]iamprune.Finding{
		{Type: iamprune.UnusedIAMUserAccessKey, Resource: u, UpdatedAt: at("2026-02-01T00:00:00Z"),
			AccessKeys: []iamprune.KeyUsage{{AccessKeyID: "A", LastAccessed: &late}}},
		{Type: iamprune.UnusedIAMUserPassword, Resource: u, UpdatedAt: at("2026-01-01T00:00:00Z")},
		{Type: iamprune.UnusedIAMRole, Resource: u, UpdatedAt: at("2027-01-01T00:00:00Z")},
	})
	if !keys[u].Equal(late) || !pw[u].Equal(at("2026-01-01T00:00:00Z")) {
		t.Errorf("needs = %v, %v", keys, pw)
	}
}
