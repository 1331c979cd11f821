package exceptions

import (
	"fmt"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
)

// MinLiteralName is how many literal (non-wildcard) characters the name part
// of a principal pattern needs; see PrincipalProblem.
const MinLiteralName = 3

// PrincipalProblem returns what is wrong with a principal pattern, or "" when
// it is a well-formed and specific enough IAM user or role ARN. The rule for
// "too broad":
//
//   - the resource type is literally user/ or role/ (no glob before the /);
//   - the account is exactly 12 digits or exactly *;
//   - the partition is a name (aws, aws-cn, ...) or exactly *;
//   - the name after user/ or role/ (path included) has at least
//     MinLiteralName characters that are not * or ?.
//
// So a bare *, arn:aws:iam::*:*, arn:aws:iam::111122223333:role/* and
// arn:aws:iam::*:role/* are refused, and arn:aws:iam::*:role/BreakGlass*
// passes.
func PrincipalProblem(pattern string) string {
	if !validPrincipal(pattern) {
		return notPrincipal(pattern)
	}
	a, _ := iamprune.SplitARN(pattern)
	partition, account := a.Partition, a.Account
	kind, name, _ := a.ResourceType()
	if partition != "*" && hasGlob(partition) {
		return fmt.Sprintf("partition %s must be a partition name such as aws, or exactly *", input.Snippet(partition))
	}
	if account != "*" && !iamprune.IsAccountID(account) {
		return fmt.Sprintf("account %s must be exactly 12 digits, or exactly * for every account", input.Snippet(account))
	}
	if n := literalLen(name); n < MinLiteralName {
		return fmt.Sprintf("%s is too broad: the name after %s/ needs at least %d literal characters (not * or ?), it has %d",
			input.ARN(pattern), kind, MinLiteralName, n)
	}
	return ""
}

func literalLen(s string) int {
	n := 0
	for _, r := range s {
		if !isGlob(r) {
			n++
		}
	}
	return n
}

func hasGlob(s string) bool { return strings.ContainsAny(s, "*?") }

// globShape explains why a pattern that is not a user or role ARN is too
// broad to be one, or returns "" when it is simply malformed.
func globShape(pattern string) string {
	if pattern != "" && strings.Trim(pattern, "*?") == "" {
		return fmt.Sprintf("%s is too broad: it matches every principal; name a user/ or role/ ARN", input.ARN(pattern))
	}
	if a, ok := iamprune.SplitARN(pattern); ok && a.Service == "iam" {
		if kind, _, _ := a.ResourceType(); hasGlob(kind) {
			return fmt.Sprintf("%s is too broad: the resource must start with user/ or role/, literally", input.ARN(pattern))
		}
	}
	return ""
}
