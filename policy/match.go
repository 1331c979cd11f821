package policy

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
)

// IsWildcard reports whether an action pattern contains "*" or "?".
func IsWildcard(pattern string) bool { return strings.ContainsAny(pattern, "*?") }

// MatchesAction reports whether the statement's Action or NotAction element
// covers action, case-insensitively as IAM compares them. It ignores
// Effect, resources, principals and conditions.
func (s Statement) MatchesAction(action string) bool {
	if s.NotAction.Set() {
		return !anyMatches(s.NotAction.Values, action)
	}
	return anyMatches(s.Action.Values, action)
}

func anyMatches(patterns []string, action string) bool {
	for _, p := range patterns {
		if iamprune.MatchGlob(p, action, iamprune.FoldCase) {
			return true
		}
	}
	return false
}

// catalogueActions is every catalogue action as "service:Name", sorted by
// service and name, computed once.
var catalogueActions = sync.OnceValue(func() []string {
	var out []string
	for _, a := range catalog.Match("*") {
		out = append(out, a.String())
	}
	return out
})

// The functions below reason about the languages of IAM globs, not only
// about the catalogue, so that a re-compressed "svc:Prefix*" is proven to
// grant nothing the original did not, including actions AWS adds later.
// They run the pattern as a small NFA whose states are pattern positions.

// coversPrefix reports whether pattern matches every string that starts
// with prefix, i.e. prefix+"*" grants nothing pattern does not.
func coversPrefix(pattern, prefix string) bool {
	p := []rune(strings.ToLower(pattern))
	s := advance(p, closure(p, []int{0}), []rune(strings.ToLower(prefix)))
	if len(s) == 0 {
		return false
	}
	// Every state set reachable from s must accept. Characters absent from
	// the pattern all behave alike, so one stands for them all.
	alphabet := literalRunes(p)
	alphabet = append(alphabet, otherRune(alphabet))
	seen := map[string]bool{}
	queue := [][]int{s}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		k := stateKey(cur)
		if seen[k] {
			continue
		}
		seen[k] = true
		if !slices.Contains(cur, len(p)) {
			return false
		}
		for _, c := range alphabet {
			queue = append(queue, step(p, cur, c))
		}
	}
	return true
}

// meetsPrefix reports whether pattern matches some string that starts with
// prefix. Every pattern suffix matches some string, so it is enough that
// reading prefix leaves a live state.
func meetsPrefix(pattern, prefix string) bool {
	p := []rune(strings.ToLower(pattern))
	return len(advance(p, closure(p, []int{0}), []rune(strings.ToLower(prefix)))) > 0
}

func advance(p []rune, s []int, input []rune) []int {
	for _, c := range input {
		if len(s) == 0 {
			break
		}
		s = step(p, s, c)
	}
	return s
}

func step(p []rune, s []int, c rune) []int {
	var next []int
	for _, i := range s {
		if i >= len(p) {
			continue
		}
		switch p[i] {
		case '*':
			next = append(next, i)
		case '?':
			next = append(next, i+1)
		default:
			if p[i] == c {
				next = append(next, i+1)
			}
		}
	}
	return closure(p, next)
}

// closure adds the states reached by letting each "*" match nothing, and
// returns them sorted without duplicates.
func closure(p []rune, s []int) []int {
	out := slices.Clone(s)
	for i := 0; i < len(out); i++ {
		if j := out[i]; j < len(p) && p[j] == '*' && !slices.Contains(out, j+1) {
			out = append(out, j+1)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func literalRunes(p []rune) []rune {
	var out []rune
	for _, c := range p {
		if c != '*' && c != '?' && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func otherRune(used []rune) rune {
	for c := rune(1); ; c++ {
		if !slices.Contains(used, c) && c != '*' && c != '?' {
			return c
		}
	}
}

func stateKey(s []int) string {
	var b strings.Builder
	for _, i := range s {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(',')
	}
	return b.String()
}
