package archive

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Changes is what it takes to turn an analyzer's rules into the desired ones.
type Changes struct {
	Create []Rule `json:"create"`
	Update []Rule `json:"update"` // with their new filters
	Delete []Rule `json:"delete"` // as they are now
	// Foreign lists the rules that are not iamprune's: left alone, reported.
	Foreign []Rule `json:"foreign"`
}

// Empty reports whether no rule needs to change.
func (c Changes) Empty() bool { return len(c.Create)+len(c.Update)+len(c.Delete) == 0 }

// Diff compares the analyzer's rules with the desired ones by name. Rules
// without Prefix are never created, updated or deleted, only listed in
// Foreign. Every list is sorted by name, numbered suffixes numerically.
func Diff(existing, desired []Rule) Changes {
	var c Changes
	have := map[string]Rule{}
	for _, r := range existing {
		if !r.Ours() {
			c.Foreign = append(c.Foreign, r)
			continue
		}
		have[r.Name] = r
	}
	want := map[string]bool{}
	for _, r := range desired {
		if !r.Ours() {
			continue // never touch a name that is not ours
		}
		want[r.Name] = true
		old, ok := have[r.Name]
		switch {
		case !ok:
			c.Create = append(c.Create, r)
		case !SameFilter(old.Filter, r.Filter):
			c.Update = append(c.Update, r)
		}
	}
	for name, r := range have {
		if !want[name] {
			c.Delete = append(c.Delete, r)
		}
	}
	for _, rs := range [][]Rule{c.Create, c.Update, c.Delete, c.Foreign} {
		slices.SortFunc(rs, func(a, b Rule) int { return compareNames(a.Name, b.Name) })
	}
	return c
}

// compareNames orders "x-2" before "x-10".
func compareNames(a, b string) int {
	ab, an := splitIndex(a)
	bb, bn := splitIndex(b)
	return cmp.Or(strings.Compare(ab, bb), cmp.Compare(an, bn), strings.Compare(a, b))
}

func splitIndex(name string) (string, int) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name, 0
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil {
		return name, 0
	}
	return name[:i], n
}

// SameFilter reports whether two filters select the same findings as
// written: the same keys with the same values, in any order.
func SameFilter(a, b map[string]Criterion) bool {
	if len(a) != len(b) {
		return false
	}
	for k, ca := range a {
		cb, ok := b[k]
		if !ok || !sameSet(ca.Eq, cb.Eq) || !sameSet(ca.Neq, cb.Neq) || !sameSet(ca.Contains, cb.Contains) {
			return false
		}
		if (ca.Exists == nil) != (cb.Exists == nil) || ca.Exists != nil && *ca.Exists != *cb.Exists {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// Covered reports whether the rule's filter matches an unused-access
// finding on resource of findingType. A filter on any other key cannot be
// decided from these two fields and does not match: callers use Covered to
// prove coverage, so not knowing means not covered.
func Covered(r Rule, resource, findingType string) bool {
	if len(r.Filter) == 0 {
		return false // Access Analyzer requires a filter; an empty one is not ours to read
	}
	for key, c := range r.Filter {
		var v string
		switch key {
		case KeyResource:
			v = resource
		case KeyFindingType:
			v = findingType
		default:
			return false
		}
		if !c.matches(v) {
			return false
		}
	}
	return true
}

func (c Criterion) matches(v string) bool {
	if len(c.Eq) > 0 && !slices.Contains(c.Eq, v) {
		return false
	}
	if slices.Contains(c.Neq, v) {
		return false
	}
	if len(c.Contains) > 0 && !slices.ContainsFunc(c.Contains, func(s string) bool { return strings.Contains(v, s) }) {
		return false
	}
	if c.Exists != nil && *c.Exists != (v != "") {
		return false
	}
	return true
}

// Released returns the archived findings that only iamprune rules which are
// going away (deleted, or narrowed by an update) had covered: no desired
// rule covers them and no foreign rule does either (it may be what archived
// them). Setting them back to ACTIVE is what keeps a removed exception from
// hiding findings forever. The order of archived is kept.
func Released(existing, desired []Rule, archived []Finding) []Finding {
	var ours, keep []Rule
	for _, r := range existing {
		if r.Ours() {
			ours = append(ours, r)
		} else {
			keep = append(keep, r)
		}
	}
	keep = append(keep, desired...)
	covered := func(rs []Rule, f Finding) bool {
		return slices.ContainsFunc(rs, func(r Rule) bool { return Covered(r, f.Resource, f.Type) })
	}
	var out []Finding
	for _, f := range archived {
		if covered(ours, f) && !covered(keep, f) {
			out = append(out, f)
		}
	}
	return out
}
