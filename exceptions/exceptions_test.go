package exceptions

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestLoadGood(t *testing.T) {
	txt := filepath.Join("testdata", "allowlist", "allowlist.txt")
	yml := filepath.Join("testdata", "good-yaml", "exceptions.yaml")
	tests := []struct {
		path string
		want []iamprune.Exception
	}{
		// BOM, CRLF, blank and whitespace-only lines, whole-line and
		// trailing comments, leading tabs and spaces, another partition.
		{txt, []iamprune.Exception{
			{Principal: "arn:aws:iam::111122223333:user/alice", File: txt, Line: 3},
			{Principal: "arn:aws:iam::111122223333:role/batch-job", File: txt, Line: 4},
			{Principal: "arn:aws:iam::*:role/app/legacy-*", File: txt, Line: 6},
			{Principal: "arn:aws-us-gov:iam::111122223333:user/ops/bob.smith@example.com", File: txt, Line: 8},
		}},
		{yml, []iamprune.Exception{
			{Principal: "arn:aws:iam::111122223333:user/alice", Reason: "break-glass user, rotated by hand",
				Owner: "security@example.com", Ticket: "SEC-1", Expires: date("2026-12-31T00:00:00Z"), File: yml, Line: 3,
				Path: "exceptions[0]", FieldLines: map[string]int{"principal": 3, "reason": 4, "owner": 5, "ticket": 6, "expires": 7}},
			{Principal: "arn:aws:iam::*:role/data-*", FindingTypes: []iamprune.FindingType{iamprune.UnusedPermission, iamprune.UnusedIAMRole},
				Services: []string{"s3", "execute-api"}, Owner: "data-team", Expires: date("2027-01-15T08:00:00Z"), File: yml, Line: 9,
				Path: "exceptions[1]", FieldLines: map[string]int{"principal": 9, "finding_types": 10, "finding_types[0]": 10, "finding_types[1]": 10,
					"services": 11, "services[0]": 11, "services[1]": 11, "owner": 12, "expires": 13}},
			{Principal: "arn:aws:iam::111122223333:role/nightly", FindingTypes: []iamprune.FindingType{iamprune.UnusedIAMRole},
				Reason: "runs once a quarter", File: yml, Line: 15,
				Path: "exceptions[2]", FieldLines: map[string]int{"principal": 15, "finding_types": 16, "finding_types[0]": 17, "reason": 18}},
			// Services without finding_types: limited to UnusedPermission.
			{Principal: "arn:aws:iam::111122223333:role/analytics", FindingTypes: []iamprune.FindingType{iamprune.UnusedPermission},
				Services: []string{"athena"}, File: yml, Line: 20,
				Path: "exceptions[3]", FieldLines: map[string]int{"principal": 20, "services": 21, "services[0]": 21}},
		}},
		{filepath.Join("testdata", "empty", "exceptions.yaml"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := Load(tt.path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file string   // testdata/FILE
		want []string // one line per problem, after the file name
	}{
		{"txt-bad/allowlist.txt", []string{
			`:3: "xyz" is not an IAM user or role ARN`,
			`:4: "arn:aws:iam::111122223333:group/admins" is not an IAM user or role ARN`,
			`:5: "arn:aws:iam::*:*" is too broad: the resource must start with user/ or role/, literally`,
			`:7: "arn:aws:s3:::my-bucket" is not an IAM user or role ARN`,
			`:8: "arn:aws:iam::111122223333:role/" is not an IAM user or role ARN`,
			`:9: "arn:aws:iam::111122223333:user/has space" is not an IAM user or role ARN`,
			`:10: "arn:aws:iam:us-east-1:111122223333:role/regional" is not an IAM user or role ARN`,
		}},
		{"bad-date/exceptions.yaml", []string{`:12: exceptions[2].expires: "2026-13-01" is not a date (YYYY-MM-DD)`}},
		{"unknown-key/exceptions.yaml", []string{
			":3: exceptions[0].reasons: unknown key (did you mean reason?)",
			":4: exceptions[0].expiry: unknown key (did you mean expires?)",
		}},
		{"missing-principal/exceptions.yaml", []string{
			":2: exceptions[0].principal: required",
			":4: exceptions[1].principal: required",
		}},
		{"bad-principal/exceptions.yaml", []string{
			`:2: exceptions[0].principal: "alice" is not an IAM user or role ARN`,
			`:3: exceptions[1].principal: "arn:aws:iam::111122223333:policy/ReadOnly" is not an IAM user or role ARN`,
			":4: exceptions[2].principal: must be a string, got a list",
		}},
		{"bad-finding-type/exceptions.yaml", []string{
			`:3: exceptions[0].finding_types[0]: "UnusedIAMUserAccesKey" is not a finding type (did you mean UnusedIAMUserAccessKey?)`,
			`:3: exceptions[0].finding_types[1]: "ExternalAccess" is not a finding type (want one of UnusedIAMUserAccessKey, UnusedIAMUserPassword, UnusedIAMRole, UnusedPermission)`,
		}},
		{"services-without-permission/exceptions.yaml", []string{":4: exceptions[0].services: only apply to UnusedPermission, which finding_types does not include"}},
		{"bad-service/exceptions.yaml", []string{
			`:4: exceptions[0].services[0]: "EC2" is not a service namespace (lower case, like ec2 or s3)`,
			`:5: exceptions[0].services[1]: "s3:GetObject" is not a service namespace (lower case, like ec2 or s3)`,
		}},
		{"empty-lists/exceptions.yaml", []string{
			":3: exceptions[0].finding_types: empty list; leave the key out to cover every finding type",
			":4: exceptions[0].services: empty list; leave the key out to cover every service",
		}},
		{"not-a-list/exceptions.yaml", []string{":2: exceptions: must be a list, got a mapping"}},
		{"entry-not-mapping/exceptions.yaml", []string{`:2: exceptions[0]: must be a mapping with at least a principal, got "arn:aws:iam::111122223333:role/app"`}},
		{"top-level-key/exceptions.yaml", []string{":1: exception: unknown key (did you mean exceptions?)"}},
		// yaml.v3 places this one at the start of the enclosing block.
		{"syntax/exceptions.yaml", []string{":1: invalid YAML: did not find expected '-' indicator"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			got, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded with %+v, want an error", got)
			}
			if code := iamprune.ErrorCode(err); code != iamprune.EINVALID {
				t.Errorf("error code = %q, want %q", code, iamprune.EINVALID)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, path+w)
			}
			if err.Error() != strings.Join(want, "\n") {
				t.Errorf("error =\n%s\nwant\n%s", err, strings.Join(want, "\n"))
			}
		})
	}
}

func TestLoadRefuses(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "allowlist.txt")
	tests := []struct{ path, want string }{
		{"s3://bucket/exceptions.yaml", "exceptions: s3://bucket/exceptions.yaml: s3 exceptions are loaded by the AWS adapter, not from a local path"},
		{missing, "exceptions: exceptions file " + missing + " does not exist"},
	}
	for _, tt := range tests {
		_, err := Load(tt.path)
		if err == nil || err.Error() != tt.want || iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("Load(%q) error = %v (code %q), want EINVALID %q", tt.path, err, iamprune.ErrorCode(err), tt.want)
		}
	}
}

func TestParseTXTReader(t *testing.T) {
	got, err := ParseTXT(strings.NewReader("arn:aws:iam::111122223333:role/a\n\narn:aws:iam::111122223333:user/b"), "inline.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []iamprune.Exception{
		{Principal: "arn:aws:iam::111122223333:role/a", File: "inline.txt", Line: 1},
		{Principal: "arn:aws:iam::111122223333:user/b", File: "inline.txt", Line: 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestValidPrincipal(t *testing.T) {
	good := []string{
		"arn:aws:iam::111122223333:user/alice",
		"arn:aws:iam::111122223333:role/service-role/my_role+x=y,z.w@v-1",
		"arn:aws-cn:iam::*:role/*",
		"arn:*:iam::11112222333?:user/a",
	}
	bad := []string{
		"", "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:user", "arn:aws:iam::abc:user/x",
		"arn:aws:sts::111122223333:assumed-role/r/s", "arn::iam::111122223333:user/x", "arn:aws:iam::111122223333:*",
	}
	for _, s := range good {
		if !validPrincipal(s) {
			t.Errorf("validPrincipal(%q) = false, want true", s)
		}
	}
	for _, s := range bad {
		if validPrincipal(s) {
			t.Errorf("validPrincipal(%q) = true, want false", s)
		}
	}
}

// An RFC 3339 expiry with a time of day and a zone other than UTC still
// means the whole of its UTC day: the time of day and the zone do not move
// the end of the exception.
func TestExpiresTimeOfDayAndZone(t *testing.T) {
	// 22:30 at UTC-5 on 31 December is 03:30 UTC on 1 January.
	excs, err := ParseYAML([]byte("exceptions:\n  - principal: arn:aws:iam::111122223333:role/app\n    expires: 2026-12-31T22:30:00-05:00\n"), "zone.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := excs[0]
	for _, tt := range []struct {
		now     string
		expired bool
	}{
		{"2027-01-01T00:00:00Z", false},
		{"2027-01-01T23:59:59Z", false}, // still its last UTC day
		{"2027-01-02T00:00:00Z", true},  // not 03:30, the time of day it gave
		{"2027-01-02T03:29:00Z", true},
	} {
		if got := e.Expired(date(tt.now)); got != tt.expired {
			t.Errorf("Expired(%s) = %v, want %v", tt.now, got, tt.expired)
		}
		if got := iamprune.MatchExceptions(excs, "arn:aws:iam::111122223333:role/app", iamprune.UnusedIAMRole, date(tt.now)); (len(got) == 0) != tt.expired {
			t.Errorf("Match at %s: %d entries, expired %v", tt.now, len(got), tt.expired)
		}
	}
	if got := DaysLeft(e, date("2026-12-31T12:00:00Z")); got != 1 {
		t.Errorf("DaysLeft on 31 December = %d, want 1", got)
	}
}
