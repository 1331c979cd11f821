package catalog

import "github.com/iamprune/iamprune"

// Matches reports whether the IAM action pattern matches the action string
// ("service:Name"). As in IAM, "*" matches any run of characters (the ":"
// included), "?" matches exactly one, and case is ignored. It does not need
// the action to be in the catalogue.
func Matches(pattern, action string) bool {
	return iamprune.MatchGlob(pattern, action, iamprune.FoldCase)
}
