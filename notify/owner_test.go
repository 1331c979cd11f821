package notify

import (
	"testing"

	"github.com/iamprune/iamprune"
)

func TestOwnerOf(t *testing.T) {
	facts := demoFacts(t)
	alice := facts.Principal(arn("user", "alice"))
	legacy := facts.Principal(arn("role", "LegacyBatchRole"))
	if alice == nil || legacy == nil {
		t.Fatal("demo snapshot lacks alice or LegacyBatchRole")
	}
	custom := &iamprune.Principal{Tags: map[string]string{"Owner": "Dana@Example.com", "team": "  ", "Contact": "#ops"}}
	tests := []struct {
		name      string
		p         *iamprune.Principal
		tags      []string
		owner     string
		ownerMail string
	}{
		{"default tags: owner first", alice, []string{"owner", "team", "contact"}, "alice@example.com", "alice@example.com"},
		{"team first", alice, []string{"team", "owner"}, "payments", "alice@example.com"},
		{"contact only", legacy, []string{"contact"}, "#data-eng", ""},
		{"missing tag key is skipped", alice, []string{"cost-center", "team"}, "payments", ""},
		{"key case differs, blank value skipped", custom, []string{"team", "owner"}, "Dana@Example.com", "Dana@Example.com"},
		{"no tags configured", alice, nil, "", ""},
		{"nil principal", nil, []string{"owner"}, "", ""},
		{"untagged principal", &iamprune.Principal{}, []string{"owner"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OwnerOf(tt.p, tt.tags); got != tt.owner {
				t.Errorf("OwnerOf = %q, want %q", got, tt.owner)
			}
			if got := OwnerEmail(tt.p, tt.tags); got != tt.ownerMail {
				t.Errorf("OwnerEmail = %q, want %q", got, tt.ownerMail)
			}
		})
	}
}

func TestIsEmail(t *testing.T) {
	for s, want := range map[string]bool{
		"a@example.com":                true,
		"#payments-oncall":             false,
		"payments":                     false,
		"Alice <a@example.com>":        false, // a display name is not an owner tag value we mail
		"a@example.com, b@example.com": false,
		"":                             false,
		"not an address@":              false,
	} {
		if got := isEmail(s); got != want {
			t.Errorf("isEmail(%q) = %v, want %v", s, got, want)
		}
	}
}
