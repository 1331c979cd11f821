package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/iamprune/iamprune/snapshot"
)

// IAM quotas (default values) and limits, as the IAM User Guide's "IAM and
// AWS STS quotas" states them. Policy sizes are in characters, and "IAM
// does not count white space when calculating the size of a policy".
const (
	// The aggregate size of all inline policies of one principal.
	rolePolicySizeQuota = 10240
	userPolicySizeQuota = 2048
	// The size of one managed policy version.
	managedPolicySizeQuota = 6144
	// Managed policies attached to one role or user (default quota).
	attachedPoliciesQuota = 10
	// Versions one customer managed policy keeps.
	policyVersionsQuota = 5
	// Tags on one role or managed policy.
	tagsQuota      = 50
	tagKeyMaxLen   = 128
	tagValueMaxLen = 256
	// Login profile passwords: the default password policy's minimum, and
	// the API's maximum.
	minPasswordLength = 8
	maxPasswordLength = 128
	// API bounds of a policy document parameter, in characters.
	maxPolicyDocumentLength = 131072
)

// policySize counts a document as IAM does against its size quotas: every
// character except white space.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

var (
	// Names of users, roles, managed and inline policies.
	namePattern = regexp.MustCompile(`^[\w+=,.@-]+$`)
	// IAM paths: "/" or "/a/b/".
	pathPattern = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	// Tag keys and values.
	tagKeyPattern   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValuePattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// checkName validates a name parameter as IAM's API model does.
func checkName(member, v string, maxLen int) *apiError {
	switch {
	case v == "":
		return missingParam(member)
	case utf8.RuneCountInString(v) > maxLen:
		return validationError("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", v, member, maxLen)
	case !namePattern.MatchString(v):
		return validationError("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", v, member)
	}
	return nil
}

func checkPath(v string) *apiError {
	if len(v) > 512 || !pathPattern.MatchString(v) {
		return validationError("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	return nil
}

// Statement and document members an identity policy may have.
var (
	docMembers       = map[string]bool{"Version": true, "Id": true, "Statement": true}
	statementMembers = map[string]bool{
		"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true, "Action": true,
		"NotAction": true, "Resource": true, "NotResource": true, "Condition": true,
	}
)

// parsePolicy validates an identity-based policy document as IAM does for
// PutRolePolicy, PutUserPolicy, CreatePolicy and CreatePolicyVersion. It
// returns the document in the compact form IAM stores and its size as the
// quotas count it.
func parsePolicy(raw string) (snapshot.PolicyDocument, int, *apiError) {
	var doc snapshot.PolicyDocument
	if raw == "" {
		return doc, 0, missingParam("policyDocument")
	}
	if utf8.RuneCountInString(raw) > maxPolicyDocumentLength {
		return doc, 0, validationError("1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length less than or equal to %d", maxPolicyDocumentLength)
	}
	for _, r := range raw {
		if r != '\t' && r != '\n' && r != '\r' && (r < 0x20 || r > 0xFF) {
			return doc, 0, validationError(`1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`)
		}
	}
	if aerr := checkPolicyGrammar(raw); aerr != nil {
		return doc, 0, aerr
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return doc, 0, malformedPolicy("Syntax errors in policy.")
	}
	doc.JSON = buf.String()
	return doc, policySize(raw), nil
}

func checkPolicyGrammar(raw string) *apiError {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return malformedPolicy("Syntax errors in policy.")
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return malformedPolicy("Syntax errors in policy.")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return malformedPolicy("Syntax errors in policy.")
	}
	for k := range obj {
		if !docMembers[k] {
			return malformedPolicy("Syntax errors in policy. Unknown field %s", k)
		}
	}
	if ver, ok := obj["Version"]; ok && ver != "2012-10-17" && ver != "2008-10-17" {
		return malformedPolicy("The policy failed legacy parsing")
	}
	var stmts []any
	switch t := obj["Statement"].(type) {
	case nil:
		return malformedPolicy("Missing required field Statement")
	case map[string]any:
		stmts = []any{t}
	case []any:
		stmts = t
	default:
		return malformedPolicy("Syntax errors in policy.")
	}
	if len(stmts) == 0 {
		return malformedPolicy("Missing required field Statement")
	}
	for i, s := range stmts {
		st, ok := s.(map[string]any)
		if !ok {
			return malformedPolicy("Syntax errors in policy.")
		}
		if aerr := checkStatement(st, i); aerr != nil {
			return aerr
		}
	}
	return nil
}

func checkStatement(st map[string]any, i int) *apiError {
	for k := range st {
		if !statementMembers[k] {
			return malformedPolicy("Syntax errors in policy. Unknown field %s in statement %d", k, i+1)
		}
	}
	switch st["Effect"] {
	case "Allow", "Deny":
	case nil:
		return malformedPolicy("Missing required field Effect")
	default:
		return malformedPolicy("Invalid effect: %v", st["Effect"])
	}
	if st["Action"] == nil && st["NotAction"] == nil {
		return malformedPolicy("Policy statement must contain actions.")
	}
	if st["Resource"] == nil && st["NotResource"] == nil {
		return malformedPolicy("Policy statement must contain resources.")
	}
	if st["Principal"] != nil || st["NotPrincipal"] != nil {
		return malformedPolicy("Policy document should not specify a principal.")
	}
	for _, k := range []string{"Action", "NotAction"} {
		for _, a := range stringsOf(st[k]) {
			if a != "*" && !actionPattern.MatchString(a) {
				return malformedPolicy("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
			}
		}
	}
	for _, k := range []string{"Resource", "NotResource"} {
		for _, r := range stringsOf(st[k]) {
			if r != "*" && !strings.HasPrefix(r, "arn:") {
				return malformedPolicy("Resource %s must be in ARN format or \"*\".", r)
			}
		}
	}
	return nil
}

// actionPattern is "service:action", the action possibly with wildcards.
var actionPattern = regexp.MustCompile(`^[A-Za-z0-9-]+:[A-Za-z0-9*?]*$`)

// stringsOf reads a policy element that is a string or a list of strings;
// anything else yields a value no pattern accepts.
func stringsOf(v any) []string {
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return []string{""}
			}
			out = append(out, s)
		}
		return out
	}
	return []string{""}
}

// tagsParam reads a Query list of tags (Name.member.N.Key/Value).
func (p queryParams) tags(name string) []snapshot.Tag {
	var out []snapshot.Tag
	for i := 1; ; i++ {
		prefix := name + ".member." + strconv.Itoa(i) + "."
		key, ok := p[prefix+"Key"]
		if !ok {
			return out
		}
		out = append(out, snapshot.Tag{Key: first(key), Value: p.get(prefix + "Value")})
	}
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// checkTags validates tags as IAM does: keys and values within their
// length and character set, no reserved "aws:" prefix, and no key twice
// (IAM tag keys are case insensitive).
func checkTags(tags []snapshot.Tag) *apiError {
	seen := map[string]bool{}
	for _, t := range tags {
		if aerr := checkTagKey(t.Key); aerr != nil {
			return aerr
		}
		if utf8.RuneCountInString(t.Value) > tagValueMaxLen {
			return invalidInput("Tag value for key %s exceeds the maximum length of %d characters.", t.Key, tagValueMaxLen)
		}
		if !tagValuePattern.MatchString(t.Value) {
			return invalidInput("Tag value for key %s contains characters that are not allowed. Allowed: letters, numbers, spaces and _ . : / = + - @", t.Key)
		}
		if seen[fold(t.Key)] {
			return invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[fold(t.Key)] = true
	}
	return nil
}

func checkTagKey(k string) *apiError {
	switch {
	case k == "":
		return invalidInput("Tag keys must not be empty.")
	case utf8.RuneCountInString(k) > tagKeyMaxLen:
		return invalidInput("Tag key %s exceeds the maximum length of %d characters.", k, tagKeyMaxLen)
	case !tagKeyPattern.MatchString(k):
		return invalidInput("Tag key %s contains characters that are not allowed. Allowed: letters, numbers, spaces and _ . : / = + - @", k)
	case strings.HasPrefix(fold(k), "aws:"):
		return invalidInput("Tag keys starting with 'aws:' are reserved for use by AWS.")
	}
	return nil
}
