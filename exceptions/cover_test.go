package exceptions

import (
	"reflect"
	"testing"

	"github.com/iamprune/iamprune"
)

func TestCoverage(t *testing.T) {
	const acct = "arn:aws:iam::111122223333:"
	findings := []iamprune.Finding{
		{ID: "f1", Type: iamprune.UnusedIAMRole, Status: iamprune.StatusActive, Resource: acct + "role/Forensics"},
		{ID: "f2", Type: iamprune.UnusedPermission, Status: iamprune.StatusArchived, Resource: acct + "role/WebAppRole",
			Services: []iamprune.ServiceUsage{{Namespace: "kms"}, {Namespace: "s3"}, {Namespace: "sqs"}}},
		{ID: "f3", Type: iamprune.UnusedPermission, Status: iamprune.StatusActive, Resource: acct + "role/data-etl",
			Services: []iamprune.ServiceUsage{{Namespace: "ec2"}}},
		{ID: "f4", Type: iamprune.UnusedIAMRole, Status: iamprune.StatusActive, Resource: acct + "role/data-etl"},
		{ID: "f0", Type: iamprune.UnusedIAMRole, Status: iamprune.StatusActive, Resource: acct + "role/data-adhoc"},
	}
	principals := []string{acct + "role/data-etl", acct + "role/Forensics", acct + "role/WebAppRole", acct + "user/quiet", acct + "role/data-adhoc"}
	excs := []iamprune.Exception{
		{Principal: acct + "role/Forensics", Line: 1},
		// Service-limited: covers f2 for kms and s3 only.
		{Principal: acct + "role/WebAppRole", FindingTypes: []iamprune.FindingType{iamprune.UnusedPermission}, Services: []string{"s3", "kms"}, Line: 2},
		// Service-limited to a service the finding does not name: covers no finding.
		{Principal: acct + "role/data-*", FindingTypes: []iamprune.FindingType{iamprune.UnusedPermission}, Services: []string{"athena"}, Line: 3},
		{Principal: acct + "role/data-*", FindingTypes: []iamprune.FindingType{iamprune.UnusedIAMRole}, Line: 4, Expires: date("2026-01-01T00:00:00Z")},
		// A principal with no finding is not stale.
		{Principal: acct + "user/quiet", Line: 5},
		{Principal: acct + "role/Gone", Line: 6},
	}
	got := Coverage(excs, findings, principals, date("2026-11-28T00:00:00Z"))
	want := []EntryCoverage{
		{Principals: []string{acct + "role/Forensics"}, Findings: []CoveredFinding{{ID: "f1", Type: iamprune.UnusedIAMRole, Status: iamprune.StatusActive, Resource: acct + "role/Forensics"}}},
		{Principals: []string{acct + "role/WebAppRole"}, Findings: []CoveredFinding{{ID: "f2", Type: iamprune.UnusedPermission, Status: iamprune.StatusArchived, Resource: acct + "role/WebAppRole", Services: []string{"kms", "s3"}}}},
		{Principals: []string{acct + "role/data-adhoc", acct + "role/data-etl"}, Findings: []CoveredFinding{}},
		{Principals: []string{acct + "role/data-adhoc", acct + "role/data-etl"}, Expired: true, Findings: []CoveredFinding{
			{ID: "f0", Type: iamprune.UnusedIAMRole, Status: iamprune.StatusActive, Resource: acct + "role/data-adhoc"},
			{ID: "f4", Type: iamprune.UnusedIAMRole, Status: iamprune.StatusActive, Resource: acct + "role/data-etl"},
		}},
		{Principals: []string{acct + "user/quiet"}, Findings: []CoveredFinding{}},
		{Principals: []string{}, Findings: []CoveredFinding{}},
	}
	for i := range want {
		want[i].Exception = excs[i]
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
	var stale []int
	for _, c := range got {
		if c.Stale() {
			stale = append(stale, c.Exception.Line)
		}
	}
	if !reflect.DeepEqual(stale, []int{6}) {
		t.Errorf("stale entries on lines %v, want [6]", stale)
	}
}
