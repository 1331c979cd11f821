package catalog

import "strings"

// Matches reports whether the IAM action pattern matches the action string
// ("service:Name"). As in IAM, "*" matches any run of characters (the ":"
// included), "?" matches exactly one, and case is ignored. It does not need
// the action to be in the catalogue.
func Matches(pattern, action string) bool {
	return glob([]rune(strings.ToLower(pattern)), []rune(strings.ToLower(action)))
}

// glob matches with single-star backtracking: on a mismatch it retries from
// the most recent "*", consuming one more character. That is enough because
// a later star can always absorb what an earlier one would have, so the
// match runs in O(len(p)*len(s)) without recursion.
func glob(p, s []rune) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*': // before the literal case: "*" in s is no escape
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
