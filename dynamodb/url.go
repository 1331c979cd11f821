package dynamodb

import "strings"

// scheme starts a state location that names a DynamoDB table, as in
// IAMPRUNE_STATE=dynamodb://iamprune-state.
const scheme = "dynamodb://"

// ParseURL reports whether u names a DynamoDB table (dynamodb://TABLE,
// scheme in any case) and returns the table. The name is not checked
// here: Open rejects a bad one with EINVALID, which is clearer than taking
// "dynamodb://bad name" for a SQLite path.
func ParseURL(u string) (table string, ok bool) {
	if len(u) < len(scheme) || !strings.EqualFold(u[:len(scheme)], scheme) {
		return "", false
	}
	return u[len(scheme):], true
}

// URL is the location of table, the inverse of ParseURL.
func URL(table string) string { return scheme + table }
