package snapshot

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFindingDetailRoundTrip(t *testing.T) {
	tests := []struct {
		name, in, member string
		unknown          bool
	}{
		{"unknown member kept verbatim", `{"unusedNetworkDetails":{"port":22,"cidrs":["10.0.0.0/8"],"nested":{"a":null}}}`, "unusedNetworkDetails", true},
		{"role", `{"unusedIamRoleDetails":{"lastAccessed":"2026-01-01T00:00:00Z"}}`, MemberUnusedIamRole, false},
		{"key", `{"unusedIamUserAccessKeyDetails":{"accessKeyId":"AKIA1"}}`, MemberUnusedIamUserAccessKey, false},
		{"password", `{"unusedIamUserPasswordDetails":{}}`, MemberUnusedIamUserPassword, false},
		{"permission", `{"unusedPermissionDetails":{"serviceNamespace":"s3","actions":[{"action":"GetObject"}]}}`, MemberUnusedPermission, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d FindingDetail
			if err := json.Unmarshal([]byte(tt.in), &d); err != nil {
				t.Fatal(err)
			}
			if d.Member() != tt.member || d.IsUnknown() != tt.unknown {
				t.Errorf("Member() = %q, IsUnknown() = %v", d.Member(), d.IsUnknown())
			}
			out, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.in {
				t.Errorf("round trip:\n got %s\nwant %s", out, tt.in)
			}
		})
	}
}

// Inside a finding, as the emulator serves it: the unknown member survives.
func TestFindingDetailUnknownInFinding(t *testing.T) {
	in := `{"id":"f","findingDetails":[{"unusedPermissionDetails":{"serviceNamespace":"s3"}},{"futureDetails":{"x":[1,2]}}]}`
	var f Finding
	if err := json.Unmarshal([]byte(in), &f); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `{"futureDetails":{"x":[1,2]}}`) || !strings.Contains(string(out), `{"unusedPermissionDetails":{"serviceNamespace":"s3"}}`) {
		t.Errorf("marshalled finding lost a member: %s", out)
	}
}

func TestFindingDetailBad(t *testing.T) {
	for _, in := range []string{
		`{}`,
		`{"unusedIamRoleDetails":{},"unusedIamUserPasswordDetails":{}}`,
		`{"unusedIamRoleDetails":null}`,
		`{"unusedIamRoleDetails":{"lastAccessed":5}}`,
		`[]`,
	} {
		var d FindingDetail
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%s: decoded %+v, want an error", in, d)
		}
	}
	for name, d := range map[string]FindingDetail{
		"none": {},
		"two":  {UnusedIamRoleDetails: &UnusedIamRoleDetails{}, Unknown: map[string]json.RawMessage{"x": json.RawMessage(`{}`)}},
		"bad":  {Unknown: map[string]json.RawMessage{"x": json.RawMessage(`{`)}},
	} {
		if out, err := json.Marshal(d); err == nil {
			t.Errorf("%s: marshalled %s, want an error", name, out)
		}
	}
}
