package notify

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"go.yaml.in/yaml/v3"
)

// ExceptionDays is how long the suggested exception lasts.
const ExceptionDays = 90

// ExceptionReasonTODO is the placeholder the requester replaces.
const ExceptionReasonTODO = "TODO: why this access must stay"

// ExceptionYAML returns a ready-to-paste entry for the `exceptions:` list of
// an exceptions.yaml file that would exempt a: its principal, finding type
// and (UnusedPermission) services, a reason to fill in, the owner, an
// expiry ExceptionDays after today and an empty ticket. "" when a names no
// principal.
func ExceptionYAML(a iamprune.Action, owner string, today time.Time) string {
	if a.Principal == "" {
		return ""
	}
	var b strings.Builder
	line := func(key, value string) {
		b.WriteString("  " + key + ": " + value + "\n")
	}
	b.WriteString("- principal: " + quote(a.Principal) + "\n")
	if a.FindingType != "" {
		line("finding_types", "["+quote(string(a.FindingType))+"]")
	}
	if a.FindingType == iamprune.UnusedPermission && len(a.Services) > 0 {
		s := make([]string, len(a.Services))
		for i, v := range a.Services {
			s[i] = quote(v)
		}
		line("services", "["+strings.Join(s, ", ")+"]")
	}
	line("reason", quote(ExceptionReasonTODO))
	line("owner", quote(owner))
	line("expires", today.UTC().AddDate(0, 0, ExceptionDays).Format(time.DateOnly))
	line("ticket", `""`)
	return b.String()
}

// quote renders s as a YAML scalar, quoted only when YAML needs it, on one
// line that also fits inside a flow list.
func quote(s string) string {
	out, err := yaml.Marshal(s)
	q := strings.TrimSuffix(string(out), "\n")
	if err == nil && q != "" && !strings.Contains(q, "\n") && (q[0] == '"' || q[0] == '\'' || !strings.ContainsAny(q, ",[]{}")) {
		return q
	}
	j, _ := json.Marshal(s) // a JSON string is a valid YAML scalar
	return string(j)
}
