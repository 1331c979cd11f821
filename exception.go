package iamprune

import (
	"time"
	"unicode"
	"unicode/utf8"
)

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

// GlobOption changes how MatchGlob compares characters.
type GlobOption uint8

// FoldCase makes MatchGlob ignore case, as IAM does for actions ("s3:Get*"
// matches "S3:GETOBJECT"). Without it the match is case-sensitive, as ARNs
// are.
const FoldCase GlobOption = 1

// MatchGlob matches s against pattern, where * matches any run of
// characters (including / and :), ? matches exactly one character, and
// everything else is literal. A * or ? in s is an ordinary character. It is
// the one glob of the project: exception principals, IAM actions, trust
// policy conditions.
func MatchGlob(pattern, s string, opts ...GlobOption) bool {
	fold := false
	for _, o := range opts {
		fold = fold || o == FoldCase
	}
	// Iterative match that, on a mismatch, retries from the most recent *
	// with it consuming one more character. A later star can absorb
	// whatever an earlier one would have, so this is O(len(p)*len(s)),
	// without recursion on hostile patterns.
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		sc, sw := globRune(s, si)
		if pi < len(pattern) {
			pc, pw := globRune(pattern, pi)
			if pc == '*' { // before the literal case: a * in s is no escape
				star, mark = pi, si
				pi++
				continue
			}
			if pc == '?' || pc == sc || fold && foldRune(pc) == foldRune(sc) {
				pi += pw
				si += sw
				continue
			}
		}
		if star < 0 {
			return false
		}
		_, mw := globRune(s, mark)
		mark += mw
		pi, si = star+1, mark
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// globRune decodes the character at s[i] without a call for ASCII, which
// ARNs and actions are; an invalid byte reads as utf8.RuneError of width 1.
func globRune(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(r)
}
