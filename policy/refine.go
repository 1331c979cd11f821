package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
)

// Refine shrinks doc to what u shows is used: an action is unused when its
// last access (its own where AWS tracks it, else its service's) is
// olderThanDays whole days before now or more, or never happened.
//
// Only Allow statements change; Deny statements, resources, principals and
// conditions stay exactly as they were, and nothing is ever broadened:
//   - an action written literally is removed when unused;
//   - a wildcard that grants only used actions is kept as written; any other
//     is replaced by the used actions it granted;
//   - a NotAction Allow that grants anything unused becomes an Action list of
//     the used actions it granted;
//   - replaced actions are re-compressed to "svc:Prefix*" where the prefix,
//     as a glob, grants only used actions that the statement already
//     granted (the catalogue says which actions exist);
//   - a statement left granting nothing is dropped; Sids are kept.
//
// Actions the catalogue and the usage data do not know (newer than both)
// can be lost when their wildcard is replaced; that narrows, never widens.
// The output is deterministic. The Report says what was removed and why.
// When every statement is dropped the document has no statements: the
// caller must then delete or detach the policy rather than write it.
func Refine(doc Document, u Usage, now time.Time, olderThanDays int) (Document, Report, error) {
	rep := Report{Now: now.UTC(), OlderThanDays: olderThanDays}
	if olderThanDays < 1 {
		return Document{}, rep, iamprune.Errorf(iamprune.EINVALID, "policy: refine: older-than must be at least 1 day, got %d", olderThanDays)
	}
	if err := validate(doc); err != nil {
		return Document{}, rep, err
	}
	x := newUniverse(u, now, olderThanDays)
	out := doc.Clone()
	out.Statement = out.Statement[:0]
	for i, s := range doc.Statement {
		if s.Effect != Allow {
			out.Statement = append(out.Statement, s.Clone())
			continue
		}
		r, sr := x.refineAllow(s.Clone())
		if sr == nil {
			out.Statement = append(out.Statement, r)
			continue
		}
		sr.Index, sr.Sid = i, s.Sid
		sr.Dropped = !r.Action.Set() || len(r.Action.Values) == 0
		if !sr.Dropped {
			out.Statement = append(out.Statement, r)
		}
		rep.Statements = append(rep.Statements, *sr)
	}
	return out, rep, nil
}

// validate checks what Refine relies on in a document built in code rather
// than by Parse.
func validate(doc Document) error {
	for i, s := range doc.Statement {
		switch {
		case s.Effect != Allow && s.Effect != Deny:
			return iamprune.Errorf(iamprune.EINVALID, "policy: Statement[%d].Effect: must be \"Allow\" or \"Deny\"", i)
		case s.Action.Set() == s.NotAction.Set():
			return iamprune.Errorf(iamprune.EINVALID, "policy: Statement[%d]: needs exactly one of Action and NotAction", i)
		}
	}
	return nil
}

// refineAllow returns the refined statement and a report, or a nil report
// when the statement stays exactly as it was.
func (x *universe) refineAllow(s Statement) (Statement, *StatementReport) {
	if s.NotAction.Set() {
		return x.refineNotAction(s)
	}
	var (
		sr       StatementReport
		kept     []string
		expanded []string
		removed  []string
	)
	for _, p := range s.Action.Values {
		if !IsWildcard(p) {
			if x.unused(p) {
				sr.Entries = append(sr.Entries, EntryChange{Entry: p, Change: ChangeRemoved})
				removed = append(removed, p)
			} else {
				kept = append(kept, p)
			}
			continue
		}
		m := x.match(p)
		var used, unused []string
		for _, a := range m {
			if x.unused(a) {
				unused = append(unused, a)
			} else {
				used = append(used, a)
			}
		}
		if len(unused) == 0 && !x.meetsStaleService(p) {
			kept = append(kept, p)
			continue
		}
		change := ChangeExpanded
		if len(used) == 0 {
			change = ChangeRemoved
		}
		sr.Entries = append(sr.Entries, EntryChange{Entry: p, Change: change})
		expanded = append(expanded, used...)
		removed = append(removed, unused...)
	}
	if len(sr.Entries) == 0 {
		return s, nil
	}
	originals := s.Action.Values
	within := func(prefix string) bool {
		return slices.ContainsFunc(originals, func(p string) bool { return coversPrefix(p, prefix) })
	}
	added := dropCovered(x.compress(expanded, within), kept)
	sr.Added = added
	sr.Removed = x.removals(removed)
	s.Action = Strings{Values: append(append([]string{}, kept...), added...), Single: s.Action.Single}
	return s, &sr
}

// refineNotAction turns a NotAction Allow that grants anything unused into
// an Action list of the used actions it grants. One that grants only used
// actions is already as small as the usage data can show, and stays.
func (x *universe) refineNotAction(s Statement) (Statement, *StatementReport) {
	nots := s.NotAction.Values
	var used, unused []string
	for _, a := range x.notMatched(nots) {
		if x.unused(a) {
			unused = append(unused, a)
		} else {
			used = append(used, a)
		}
	}
	grantsStale := slices.ContainsFunc(x.staleServices, func(svc string) bool {
		return !slices.ContainsFunc(nots, func(n string) bool { return coversPrefix(n, svc+":") })
	})
	if len(unused) == 0 && !grantsStale {
		return s, nil
	}
	within := func(prefix string) bool {
		return !slices.ContainsFunc(nots, func(n string) bool { return meetsPrefix(n, prefix) })
	}
	sr := StatementReport{FromNotAction: true}
	for _, n := range nots {
		sr.Entries = append(sr.Entries, EntryChange{Entry: n, Change: ChangeConverted})
	}
	sr.Added = x.compress(used, within)
	sr.Removed = x.removals(unused)
	s.NotAction = Strings{}
	s.Action = Strings{Values: append([]string{}, sr.Added...)}
	return s, &sr
}

// compress rewrites a set of used, granted actions as short as it safely
// can: per action, the shortest CamelCase-word prefix P such that
// "svc:P*" matches at least two known actions, all of them used, and
// within(svc:P) proves it grants nothing the statement did not. Patterns
// and actions covered by a shorter pattern are left out. The result is
// sorted case-insensitively.
func (x *universe) compress(actions []string, within func(prefix string) bool) []string {
	var out []string
	chosen := map[string]bool{} // lower-case P of each "svc:P*" picked so far
	for _, a := range sortedUnique(actions) {
		svc, name, ok := strings.Cut(a, ":")
		if !ok {
			out = append(out, a)
			continue
		}
		if coveredBy(chosen, strings.ToLower(a), len(a)) {
			continue // a wildcard picked for an earlier action covers it
		}
		svc = strings.ToLower(svc)
		pick := a
		for _, i := range wordBoundaries(name) {
			prefix := svc + ":" + name[:i]
			if pi := x.prefix(svc, prefix); pi.count >= 2 && pi.allUsed && within(prefix) {
				pick = prefix + "*"
				chosen[strings.ToLower(prefix)] = true
				break
			}
		}
		out = append(out, pick)
	}
	out = sortedUnique(out)
	// Drop what a shorter chosen wildcard already covers: "svc:P*" covers
	// every literal and "svc:Q*" whose text starts with svc:P.
	wild := map[string]bool{}
	for _, a := range out {
		if p, ok := strings.CutSuffix(a, "*"); ok {
			wild[strings.ToLower(p)] = true
		}
	}
	var res []string
	for _, a := range out {
		body, isWild := strings.CutSuffix(a, "*")
		body = strings.ToLower(body)
		n := len(body)
		if isWild {
			n-- // only strictly shorter prefixes cover a wildcard
		}
		if !coveredBy(wild, body, n) {
			res = append(res, a)
		}
	}
	return res
}

// coveredBy reports whether a prefix of s of at most n bytes is in set.
func coveredBy(set map[string]bool, s string, n int) bool {
	for i := 0; i <= n && i <= len(s); i++ {
		if set[s[:i]] {
			return true
		}
	}
	return false
}

// wordBoundaries returns the prefix lengths at which name splits into
// CamelCase words, shortest first, ending with the whole name: for
// "GetObjectAcl" 0, 3, 9, 12. Prefixes cut mid-word ("s3:GetObj*") or
// inside an acronym ("iam:GetSA*") would be valid but hard to read.
func wordBoundaries(name string) []int {
	out := []int{0}
	for i := 1; i < len(name); i++ {
		if isUpper(name[i]) && !isUpper(name[i-1]) {
			out = append(out, i)
		}
	}
	return append(out, len(name))
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// dropCovered leaves out added entries that a kept entry already grants.
func dropCovered(added, kept []string) []string {
	var out []string
	for _, a := range added {
		if slices.ContainsFunc(kept, func(k string) bool {
			if strings.HasSuffix(a, "*") {
				return coversPrefix(k, strings.TrimSuffix(a, "*"))
			}
			return catalog.Matches(k, a)
		}) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// sortedUnique sorts case-insensitively (then exactly, for a total order)
// and removes exact duplicates.
func sortedUnique(in []string) []string {
	type keyed struct{ lower, s string }
	ks := make([]keyed, len(in))
	for i, s := range in {
		ks[i] = keyed{strings.ToLower(s), s}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := strings.Compare(a.lower, b.lower); c != 0 {
			return c
		}
		return strings.Compare(a.s, b.s)
	})
	out := make([]string, 0, len(ks))
	for i, k := range ks {
		if i == 0 || k.s != ks[i-1].s {
			out = append(out, k.s)
		}
	}
	return out
}

// removals groups removed actions by service with their evidence.
func (x *universe) removals(actions []string) []ServiceRemoval {
	var out []ServiceRemoval
	for _, a := range sortedUnique(actions) {
		svc, _, _ := strings.Cut(a, ":")
		svc = strings.ToLower(svc)
		if len(out) == 0 || out[len(out)-1].Service != svc {
			last, _ := x.u.ServiceLastAccessed(svc)
			out = append(out, ServiceRemoval{Service: svc, LastAccessed: last})
		}
		last, _ := x.u.LastAccessed(a)
		r := &out[len(out)-1]
		r.Actions = append(r.Actions, RemovedAction{Action: a, LastAccessed: last, Tracked: x.u.Tracked(a)})
	}
	return out
}

func (c EntryChange) String() string { return fmt.Sprintf("%s: %s", c.Entry, c.Change) }
