package iamprune

import "time"

// Exception is one approved exception: a principal pattern (an ARN with *
// and ? globs) optionally limited to finding types and, for
// UnusedPermission, to services.
type Exception struct {
	Principal    string        `json:"principal"`
	FindingTypes []FindingType `json:"finding_types,omitempty"`
	Services     []string      `json:"services,omitempty"`
	Reason       string        `json:"reason,omitempty"`
	Owner        string        `json:"owner,omitempty"`
	// Expires is the last day (UTC) on which the exception applies; zero
	// means it never expires.
	Expires time.Time `json:"expires,omitempty"`
	Ticket  string    `json:"ticket,omitempty"`
	// File and Line locate the entry, for messages.
	File string `json:"-"`
	Line int    `json:"-"`
	// Path is the entry's key path in a YAML file ("exceptions[2]"); empty
	// for a .txt line.
	Path string `json:"-"`
	// FieldLines maps each key given in a YAML entry ("expires") and each
	// list item ("services[1]") to its line, so that a problem with one
	// field points at that field's line. Nil for a .txt line.
	FieldLines map[string]int `json:"-"`
}

// Expired reports whether the exception no longer applies at now. An
// exception applies through the whole of its expiry date, UTC.
func (e Exception) Expired(now time.Time) bool {
	if e.Expires.IsZero() {
		return false
	}
	return !now.UTC().Before(e.Expires.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour))
}

// MatchExceptions returns the exceptions that apply to the principal and
// finding type at now: unexpired, with a matching principal pattern and, if
// limited to finding types, one of them. File order is kept. Service limits
// are left to the caller (Exception.CoversService).
func MatchExceptions(excs []Exception, principalARN string, t FindingType, now time.Time) []Exception {
	var out []Exception
	for _, e := range excs {
		if !e.Expired(now) && e.CoversPrincipal(principalARN, t) {
			out = append(out, e)
		}
	}
	return out
}

// CoversPrincipal reports whether the pattern matches the principal and the
// type is one the exception is limited to (or it is not limited).
func (e Exception) CoversPrincipal(principalARN string, t FindingType) bool {
	if !MatchGlob(e.Principal, principalARN) {
		return false
	}
	if len(e.FindingTypes) == 0 {
		return true
	}
	for _, ft := range e.FindingTypes {
		if ft == t {
			return true
		}
	}
	return false
}

// CoversService reports whether the exception covers the service namespace;
// an exception not limited to services covers them all.
func (e Exception) CoversService(ns string) bool {
	if len(e.Services) == 0 {
		return true
	}
	for _, s := range e.Services {
		if s == ns || s == "*" {
			return true
		}
	}
	return false
}

// MatchGlob matches s against pattern, where * matches any run of
// characters (including / and :) and ? matches exactly one.
func MatchGlob(pattern, s string) bool {
	// Iterative wildcard match with backtracking on the last star: linear
	// in practice and no recursion on hostile patterns.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
