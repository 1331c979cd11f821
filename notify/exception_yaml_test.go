package notify

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/exceptions"
)

func TestExceptionYAMLParses(t *testing.T) {
	today := day("2026-11-28T17:30:00Z")
	tests := []struct {
		name     string
		a        iamprune.Action
		owner    string
		services []string
	}{
		{"access key", keyAction("alice", "AKIAALICE1", iamprune.KindNotify, "2026-12-05"), "alice@example.com", nil},
		{"permission", permAction(arn("role", "WebAppRole"), iamprune.KindDenyUnusedServices, "2026-12-05", "s3", "execute-api"), "payments", []string{"s3", "execute-api"}},
		{"owner needing quotes", keyAction("bob", "AKIABOB1", iamprune.KindDeactivateAccessKey, "2026-12-05"), `#ops: "night", [shift]`, nil},
		{"no owner", permAction(arn("role", "R"), iamprune.KindNotify, "2026-12-05", "ec2"), "", []string{"ec2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entry := ExceptionYAML(tt.a, tt.owner, today)
			file := "exceptions:\n" + indent(2, entry) + "\n"
			got, err := exceptions.ParseYAML([]byte(file), "pasted.yaml")
			if err != nil {
				t.Fatalf("pasted entry does not parse: %v\n%s", err, file)
			}
			if len(got) != 1 {
				t.Fatalf("got %d entries, want 1", len(got))
			}
			e := got[0]
			if e.Principal != tt.a.Principal || !slices.Equal(e.FindingTypes, []iamprune.FindingType{tt.a.FindingType}) ||
				!slices.Equal(e.Services, tt.services) || e.Reason != ExceptionReasonTODO || e.Owner != tt.owner || e.Ticket != "" {
				t.Errorf("parsed %+v from\n%s", e, entry)
			}
			if want := "2027-02-26"; e.Expires.Format(time.DateOnly) != want {
				t.Errorf("expires %s, want %s (90 days after today)", e.Expires.Format(time.DateOnly), want)
			}
			if !e.CoversPrincipal(tt.a.Principal, tt.a.FindingType) {
				t.Error("the entry does not cover the item it was made for")
			}
		})
	}
}

func TestExceptionYAMLShape(t *testing.T) {
	got := ExceptionYAML(keyAction("alice", "AKIA1", iamprune.KindNotify, "2026-12-05"), "alice@example.com", day("2026-11-28T00:00:00Z"))
	want := strings.Join([]string{
		"- principal: arn:aws:iam::111122223333:user/alice",
		"  finding_types: [UnusedIAMUserAccessKey]",
		"  reason: 'TODO: why this access must stay'",
		"  owner: alice@example.com",
		"  expires: 2027-02-26",
		`  ticket: ""`,
		"",
	}, "\n")
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if ExceptionYAML(iamprune.Action{}, "x", time.Now()) != "" {
		t.Error("an action without a principal got an entry")
	}
}
