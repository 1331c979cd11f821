package policy

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
)

// Narrows checks that after, the documents a refinement of before wrote
// (one, or several when split), grant nothing before did not and remove
// only actions of services: every Deny of before is kept as it was, and
// every Allow of after is an Allow of before with the same resources,
// principals and conditions and a subset of its actions. It is the guard
// apply runs on a plan's documents before writing them, whatever the plan
// file says; refinements made by Refine always pass it.
func Narrows(before json.RawMessage, after []json.RawMessage, services []string) error {
	b, err := Parse(before)
	if err != nil {
		return fmt.Errorf("before: %w", err)
	}
	var as []Document
	for i, raw := range after {
		d, err := Parse(raw)
		if err != nil {
			return fmt.Errorf("after[%d]: %w", i, err)
		}
		as = append(as, d)
	}
	denies := map[string]bool{}
	for _, s := range b.Statement {
		if s.Effect == Deny {
			denies[key(s, true)] = false
		}
	}
	for i, d := range as {
		for j, s := range d.Statement {
			where := fmt.Sprintf("after[%d].Statement[%d]", i, j)
			if s.Effect == Deny {
				k := key(s, true)
				if _, ok := denies[k]; !ok {
					return iamprune.Errorf(iamprune.EINVALID, "%s: a Deny the policy did not have", where)
				}
				denies[k] = true
				continue
			}
			if why := coveredAllow(b, s); why != "" {
				return iamprune.Errorf(iamprune.EINVALID, "%s: %s", where, why)
			}
		}
	}
	for _, kept := range denies {
		if !kept {
			return iamprune.Errorf(iamprune.EINVALID, "a Deny statement of the policy is missing from the refined documents")
		}
	}
	planned := map[string]bool{}
	for _, s := range services {
		planned[strings.ToLower(s)] = true
	}
	bs := []Document{b}
	for _, svc := range catalog.Services() {
		if planned[strings.ToLower(svc)] {
			continue
		}
		for _, a := range catalog.Actions(svc) {
			if Allowed(bs, a.String()) && !Allowed(as, a.String()) {
				return iamprune.Errorf(iamprune.EINVALID, "removes %s, outside the planned services (%s)", a, strings.Join(services, ", "))
			}
		}
	}
	return nil
}

// coveredAllow says why Allow statement s of a refined document is not an
// Allow of b narrowed to some of its actions, or "".
func coveredAllow(b Document, s Statement) string {
	k := key(s, false)
	for _, o := range b.Statement {
		if o.Effect != Allow || key(o, false) != k {
			continue
		}
		if s.NotAction.Set() {
			// Refine never writes NotAction; it may keep one unchanged.
			if key(s, true) == key(o, true) {
				return ""
			}
			continue
		}
		if allCovered(o, s.Action.Values) {
			return ""
		}
	}
	return "grants actions, resources or conditions that no Allow of the policy grants"
}

// allCovered reports whether statement o grants every action patterns
// grant: each catalogue action a wildcard matches, and the pattern itself,
// so that actions newer than the catalogue cannot slip through.
func allCovered(o Statement, patterns []string) bool {
	for _, p := range patterns {
		if !IsWildcard(p) {
			if !o.MatchesAction(p) {
				return false
			}
			continue
		}
		for _, a := range catalog.Match(p) {
			if !o.MatchesAction(a.String()) {
				return false
			}
		}
		if !patternCovered(o, p) {
			return false
		}
	}
	return true
}

// patternCovered reports whether a wildcard p is inside o's grant as a
// glob: an Action pattern of o that matches every string p matches, or a
// NotAction none of whose patterns can match what p matches.
func patternCovered(o Statement, p string) bool {
	if o.NotAction.Set() {
		for _, n := range o.NotAction.Values {
			if globsOverlap(n, p) {
				return false
			}
		}
		return true
	}
	for _, q := range o.Action.Values {
		if globContains(q, p) {
			return true
		}
	}
	return false
}

// globContains reports, soundly, whether glob q matches every string glob
// p matches: a "*" of q may stand for any part of p, wildcards included; a
// "?" of q for one literal character or "?" of p; a literal of q only for
// the same literal (case-insensitively). It may say no to some containments
// (a "?" of q against a "*" of p), never yes to a wrong one.
func globContains(q, p string) bool {
	q, p = strings.ToLower(q), strings.ToLower(p)
	// ok[j]: q[:i] contains p[:j], for the i being processed.
	ok := make([]bool, len(p)+1)
	ok[0] = true
	for i := 0; i < len(q); i++ {
		next := make([]bool, len(p)+1)
		switch q[i] {
		case '*':
			seen := false
			for j := 0; j <= len(p); j++ {
				seen = seen || ok[j]
				next[j] = seen
			}
		case '?':
			for j := 1; j <= len(p); j++ {
				next[j] = ok[j-1] && p[j-1] != '*'
			}
		default:
			for j := 1; j <= len(p); j++ {
				next[j] = ok[j-1] && p[j-1] == q[i]
			}
		}
		ok = next
	}
	return ok[len(p)]
}

// globsOverlap reports, conservatively, whether globs a and b may match a
// common string: true unless their literal prefixes differ.
func globsOverlap(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	pa, pb := literalPrefix(a), literalPrefix(b)
	n := min(len(pa), len(pb))
	return pa[:n] == pb[:n]
}

func literalPrefix(s string) string {
	if i := strings.IndexAny(s, "*?"); i >= 0 {
		return s[:i]
	}
	return s
}

// key renders what must stay identical between a statement and its
// refinement: everything but Sid (split parts get fresh ones) and, unless
// withActions, the Action list.
func key(s Statement, withActions bool) string {
	c := s.Clone()
	c.Sid = ""
	if !withActions {
		c.Action, c.NotAction = List("x"), Strings{}
	}
	b, err := MarshalStatement(c)
	if err != nil {
		return "invalid:" + err.Error()
	}
	return string(b)
}
