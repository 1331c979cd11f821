package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/iamprune/iamprune"
)

// Role trust policy evaluation for sts:AssumeRole, kept to the forms trust
// policies for cross-account automation use:
//
//   - Effect Allow or Deny; an explicit Deny wins over any Allow.
//   - Action / a list of actions, matched case-insensitively with * and ?
//     wildcards against sts:AssumeRole.
//   - Principal "*", {"AWS": "*"}, or {"AWS": ...} naming the caller's account
//     id, arn:PARTITION:iam::ACCOUNT:root, the caller's user or role ARN, or
//     the caller's assumed-role session ARN. Service, Federated and
//     CanonicalUser principals never match an IAM caller.
//   - Condition operators StringEquals, StringNotEquals,
//     StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike,
//     StringNotLike (each also with IfExists) and Null, on the keys
//     sts:ExternalId, sts:RoleSessionName, aws:PrincipalAccount and
//     aws:PrincipalArn.
//
// Not evaluated: NotPrincipal, NotAction, other condition operators and
// keys (ForAnyValue:/ForAllValues: qualifiers, aws:PrincipalOrgID, MFA,
// source IP, tags ...), and the caller's own identity policies, which real
// AWS also requires to allow sts:AssumeRole on the role. A statement that
// uses anything not evaluated never allows, and a Deny statement that does
// denies: when in doubt, the emulator refuses.

// trustRequest is what a trust policy is evaluated against.
type trustRequest struct {
	// principals are the values a Principal "AWS" entry may name to match
	// the caller: its account id, the account root ARN, its ARNs.
	principals []string
	// context are the condition keys the request has, by lower-case name.
	context map[string]string
}

type tri int

const (
	noMatch tri = iota
	match
	unknown // uses something the emulator does not evaluate
)

type trustStatement struct {
	Effect       string                                `json:"Effect"`
	Principal    json.RawMessage                       `json:"Principal"`
	NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
	Action       json.RawMessage                       `json:"Action"`
	NotAction    json.RawMessage                       `json:"NotAction"`
	Condition    map[string]map[string]json.RawMessage `json:"Condition"`
}

// trustAllows reports whether the trust policy document lets req assume
// the role.
func trustAllows(doc string, req trustRequest) bool {
	var d struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &d) != nil {
		return false
	}
	var stmts []trustStatement
	if json.Unmarshal(d.Statement, &stmts) != nil {
		var one trustStatement
		if json.Unmarshal(d.Statement, &one) != nil {
			return false
		}
		stmts = []trustStatement{one}
	}
	allowed := false
	for _, st := range stmts {
		m := st.eval(req)
		switch st.Effect {
		case "Deny":
			if m != noMatch {
				return false
			}
		case "Allow":
			allowed = allowed || m == match
		}
	}
	return allowed
}

func (st trustStatement) eval(req trustRequest) tri {
	if st.NotPrincipal != nil || st.NotAction != nil {
		return unknown
	}
	actions, ok := stringOrList(st.Action)
	if !ok || !anyMatch(actions, "sts:AssumeRole") {
		return noMatch
	}
	if !st.principalMatches(req) {
		return noMatch
	}
	result := match
	for op, keys := range st.Condition {
		for key, raw := range keys {
			values, ok := stringOrList(raw)
			if !ok {
				return unknown
			}
			switch evalCondition(op, strings.ToLower(key), values, req.context) {
			case noMatch:
				return noMatch
			case unknown:
				result = unknown
			}
		}
	}
	return result
}

func (st trustStatement) principalMatches(req trustRequest) bool {
	var star string
	if json.Unmarshal(st.Principal, &star) == nil {
		return star == "*"
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(st.Principal, &p) != nil {
		return false
	}
	aws, ok := stringOrList(p["AWS"])
	if !ok {
		return false
	}
	for _, v := range aws {
		if v == "*" {
			return true
		}
		for _, c := range req.principals {
			if strings.EqualFold(v, c) {
				return true
			}
		}
	}
	return false
}

// evalCondition evaluates one condition operator on one key.
func evalCondition(op, key string, values []string, ctx map[string]string) tri {
	if !conditionKeys[key] {
		return unknown
	}
	got, present := ctx[key]
	if op == "Null" {
		if len(values) != 1 {
			return unknown
		}
		want := strings.EqualFold(values[0], "true")
		return triOf(want == !present)
	}
	base, ifExists := strings.CutSuffix(op, "IfExists")
	if !present {
		switch {
		case ifExists, strings.HasPrefix(base, "StringNot"):
			return match
		case stringOps[base] != nil:
			return noMatch
		}
		return unknown
	}
	cmp := stringOps[base]
	if cmp == nil {
		return unknown
	}
	negated := strings.HasPrefix(base, "StringNot")
	hit := false
	for _, v := range values {
		if cmp(v, got) {
			hit = true
			break
		}
	}
	return triOf(hit != negated)
}

func triOf(b bool) tri {
	if b {
		return match
	}
	return noMatch
}

// conditionKeys are the condition keys AssumeRole requests carry here.
var conditionKeys = map[string]bool{
	"sts:externalid": true, "sts:rolesessionname": true, "aws:principalaccount": true, "aws:principalarn": true,
}

// stringOps compare a policy value with the request's; the negated
// operators use the positive comparison and invert it.
var stringOps = map[string]func(policy, got string) bool{
	"StringEquals":              func(p, g string) bool { return p == g },
	"StringNotEquals":           func(p, g string) bool { return p == g },
	"StringEqualsIgnoreCase":    strings.EqualFold,
	"StringNotEqualsIgnoreCase": strings.EqualFold,
	"StringLike":                globMatch,
	"StringNotLike":             globMatch,
}

// globMatch is StringLike: IAM's wildcards, case-sensitive.
func globMatch(pattern, s string) bool { return iamprune.MatchGlob(pattern, s) }

// anyMatch reports whether an action pattern in patterns matches action,
// ignoring case.
func anyMatch(patterns []string, action string) bool {
	for _, p := range patterns {
		if iamprune.MatchGlob(p, action, iamprune.FoldCase) {
			return true
		}
	}
	return false
}

// stringOrList reads a policy element that is a string or a list of
// strings; numbers and booleans are read as their text, as IAM does.
func stringOrList(raw json.RawMessage) ([]string, bool) {
	if raw == nil {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // an account id written as a number keeps its digits
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	scalar := func(x any) (string, bool) {
		switch t := x.(type) {
		case string:
			return t, true
		case json.Number:
			return t.String(), true
		case bool:
			return fmt.Sprint(t), true
		}
		return "", false
	}
	if s, ok := scalar(v); ok {
		return []string{s}, true
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := scalar(x)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
