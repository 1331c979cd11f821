package remediate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IAM's policy size quotas, in characters not counting whitespace.
const (
	RoleInlineQuota   = 10240 // all inline policies of a role together
	UserInlineQuota   = 2048  // all inline policies of a user together
	ManagedPolicySize = 6144  // one customer-managed policy
)

// PolicySize is a policy document's size as IAM counts it against its
// quotas: characters, whitespace excluded (also inside strings).
func PolicySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// DenySid names the statement of every iamprune deny policy.
const DenySid = "IamprunesDenyUnusedServices"

type denyDoc struct {
	Version   string          `json:"Version"`
	Statement []denyStatement `json:"Statement"`
}

type denyStatement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource string   `json:"Resource"`
}

// DenyDocument is the policy denying SERVICE:* for each service, in the
// order given: one statement with an action list, the most compact form.
func DenyDocument(services []string) string {
	actions := make([]string, len(services))
	for i, s := range services {
		actions[i] = s + ":*"
	}
	b, err := json.Marshal(denyDoc{
		Version:   "2012-10-17",
		Statement: []denyStatement{{Sid: DenySid, Effect: "Deny", Action: actions, Resource: "*"}},
	})
	if err != nil {
		panic("cannot marshal a deny document: " + err.Error())
	}
	return string(b)
}

// denyBase is the size of DenyDocument with an empty action list.
var denyBase = PolicySize(DenyDocument([]string{}))

// denySize is PolicySize(DenyDocument(services)) without rendering it:
// each service adds "SERVICE:*" and, after the first, a comma.
func denySize(services []string) int {
	n := denyBase
	for i, s := range services {
		n += utf8.RuneCountInString(s) + len(`"":*`)
		if i > 0 {
			n++
		}
	}
	return n
}

// layout says which services go into which new policy.
type layout struct {
	Inline  []string   // one new inline policy; nil when none fits
	Managed [][]string // one new customer-managed policy each
}

// pack places sorted services first into an inline policy of at most
// inlineRoom characters, then into managed policies of at most managedCap
// each, in order, so that the same input always gives the same layout.
func pack(services []string, inlineRoom, managedCap int) (layout, error) {
	var l layout
	var cur []string
	size := denyBase // size of cur's document
	inline := true
	room := inlineRoom
	flush := func() {
		if len(cur) == 0 {
			return
		}
		if inline {
			l.Inline = cur
		} else {
			l.Managed = append(l.Managed, cur)
		}
		cur = nil
		size = denyBase
	}
	for _, s := range services {
		add := utf8.RuneCountInString(s) + len(`"":*`)
		if len(cur) > 0 {
			add++
		}
		if size+add > room {
			flush()
			inline, room = false, managedCap
			add = utf8.RuneCountInString(s) + len(`"":*`)
			if size+add > room {
				return layout{}, fmt.Errorf("service %q does not fit in a policy of %d characters", s, managedCap)
			}
		}
		cur = append(cur, s)
		size += add
	}
	flush()
	return l, nil
}

var serviceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// normServices returns the sorted, deduplicated services, or the index of
// the first that is not a service namespace.
func normServices(services []string) ([]string, int) {
	out := make([]string, 0, len(services))
	for i, s := range services {
		s = strings.ToLower(strings.TrimSpace(s))
		if !serviceRE.MatchString(s) {
			return nil, i
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), -1
}

// deniedServices returns the services a policy denies outright (SERVICE:*
// on every resource, no condition), and whether it denies everything.
func deniedServices(doc string) (services []string, all bool) {
	var d struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &d) != nil {
		return nil, false
	}
	var stmts []map[string]json.RawMessage
	if json.Unmarshal(d.Statement, &stmts) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(d.Statement, &one) != nil {
			return nil, false
		}
		stmts = []map[string]json.RawMessage{one}
	}
	for _, st := range stmts {
		var effect string
		json.Unmarshal(st["Effect"], &effect)
		if effect != "Deny" || st["Condition"] != nil || st["NotAction"] != nil || st["NotResource"] != nil {
			continue
		}
		if !slices.Contains(stringList(st["Resource"]), "*") {
			continue
		}
		for _, a := range stringList(st["Action"]) {
			switch {
			case a == "*":
				all = true
			case strings.HasSuffix(a, ":*"):
				services = append(services, strings.ToLower(strings.TrimSuffix(a, ":*")))
			}
		}
	}
	return services, all
}

// stringList reads a policy element that is a string or a list of them.
func stringList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	json.Unmarshal(raw, &many)
	return many
}
