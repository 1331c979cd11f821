package exceptions

import (
	"strings"

	"github.com/iamprune/iamprune"
)

// validPrincipal reports whether s is an IAM user or role ARN, or a pattern
// of them with * and ? globs: arn:PARTITION:iam::ACCOUNT:user/... or
// role/... . A pattern must still say user/ or role/, so that no line can
// exempt every principal of an account by accident.
func validPrincipal(s string) bool {
	a, ok := iamprune.SplitARN(s)
	if !ok || a.Service != "iam" || a.Region != "" {
		return false
	}
	if !all(a.Partition, isPartitionChar) || !all(a.Account, isAccountChar) {
		return false
	}
	kind, name, ok := a.ResourceType()
	if !ok || (kind != "user" && kind != "role") || name == "" {
		return false
	}
	return all(name, isNameChar)
}

func all(s string, ok func(rune) bool) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}

func isGlob(r rune) bool { return r == '*' || r == '?' }

func isPartitionChar(r rune) bool { return r >= 'a' && r <= 'z' || r == '-' || isGlob(r) }

func isAccountChar(r rune) bool { return r >= '0' && r <= '9' || isGlob(r) }

// isNameChar allows what IAM allows in paths and names (\w+=,.@- and /),
// plus globs.
func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("_+=,.@-/", r) || isGlob(r)
}
