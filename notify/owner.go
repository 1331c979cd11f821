package notify

import (
	"net/mail"
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
)

// OwnerOf returns the owner of p: the value of the first of tags that p
// carries with a non-blank value, or "" (nil p, or no such tag). A tag key
// differing only in case also counts ("Owner" for owner): hand-made tags
// are not consistent about it.
func OwnerOf(p *iamprune.Principal, tags []string) string {
	for _, k := range tags {
		if v := tagValue(p, k); v != "" {
			return v
		}
	}
	return ""
}

// OwnerEmail returns the first owner-tag value of p that is a bare e-mail
// address, or "". Routing may use a team tag while the mail goes to the
// person named by another owner tag.
func OwnerEmail(p *iamprune.Principal, tags []string) string {
	for _, k := range tags {
		if v := tagValue(p, k); isEmail(v) {
			return v
		}
	}
	return ""
}

func tagValue(p *iamprune.Principal, key string) string {
	if p == nil {
		return ""
	}
	if v := strings.TrimSpace(p.Tags[key]); v != "" {
		return v
	}
	keys := make([]string, 0, len(p.Tags))
	for k := range p.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic when Owner and OWNER are both set
	for _, k := range keys {
		if strings.EqualFold(k, key) {
			if v := strings.TrimSpace(p.Tags[k]); v != "" {
				return v
			}
		}
	}
	return ""
}

// isEmail accepts a bare address (a@b.example), not a display-name form.
func isEmail(s string) bool {
	if s == "" || !strings.Contains(s, "@") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}
