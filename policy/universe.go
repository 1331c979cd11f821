package policy

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
)

// universe is the set of actions a refinement reasons about: the catalogue
// plus any action the usage data names that the catalogue does not know
// yet. Wildcards are expanded over it, and an action outside it is judged
// only through its service's last access.
type universe struct {
	u      Usage
	now    time.Time
	days   int
	extras []string // usage actions missing from the catalogue, sorted
	// staleServices are the known services unused as a whole.
	staleServices []string
	unusedMemo    map[string]bool
	services      map[string]*serviceIndex
	prefixMemo    map[string]prefixInfo
}

// serviceIndex is one service's actions sorted by lower-case name, for
// prefix ranges.
type serviceIndex struct {
	lower   []string // "svc:name"
	display []string // "svc:Name"
}

type prefixInfo struct {
	count   int
	allUsed bool
}

func newUniverse(u Usage, now time.Time, days int) *universe {
	x := &universe{u: u, now: now, days: days, extras: u.extraActions(),
		unusedMemo: map[string]bool{}, services: map[string]*serviceIndex{}, prefixMemo: map[string]prefixInfo{}}
	for _, su := range u.sortedServices() {
		if u.serviceUnused(su, now, days) {
			x.staleServices = append(x.staleServices, su.namespace)
		}
	}
	return x
}

func (x *universe) unused(action string) bool {
	v, ok := x.unusedMemo[action] // exact spelling: the memo is only a cache
	if !ok {
		v = x.u.Unused(action, x.now, x.days)
		x.unusedMemo[action] = v
	}
	return v
}

// match returns the universe actions a pattern matches, catalogue
// spelling, sorted.
func (x *universe) match(pattern string) []string {
	candidates := catalogueActions()
	if svc, _, ok := strings.Cut(pattern, ":"); ok && !IsWildcard(svc) {
		candidates = x.index(strings.ToLower(svc)).display
	} else {
		candidates = append(slices.Clip(candidates), x.extras...)
	}
	var out []string
	for _, a := range candidates {
		if iamprune.MatchGlob(pattern, a, iamprune.FoldCase) {
			out = append(out, a)
		}
	}
	return out
}

// notMatched returns the universe actions none of the patterns match: what
// a NotAction statement grants, within the universe.
func (x *universe) notMatched(patterns []string) []string {
	var out []string
	for _, a := range catalogueActions() {
		if !anyMatches(patterns, a) {
			out = append(out, a)
		}
	}
	for _, e := range x.extras {
		if !anyMatches(patterns, e) {
			out = append(out, e)
		}
	}
	return out
}

// index returns a service's actions sorted for prefix lookups.
func (x *universe) index(service string) *serviceIndex {
	if ix, ok := x.services[service]; ok {
		return ix
	}
	ix := catalogueIndex(service)
	all := ix.display
	for _, e := range x.extras {
		if svc, _, _ := strings.Cut(e, ":"); strings.EqualFold(svc, service) {
			all = append(slices.Clip(all), e)
		}
	}
	if len(all) != len(ix.display) { // the usage names actions the catalogue lacks
		ix = newServiceIndex(all)
	}
	x.services[service] = ix
	return ix
}

var (
	catalogueIndexes   = map[string]*serviceIndex{}
	catalogueIndexesMu sync.Mutex
)

// catalogueIndex is index without usage extras, shared by all refinements.
func catalogueIndex(service string) *serviceIndex {
	catalogueIndexesMu.Lock()
	defer catalogueIndexesMu.Unlock()
	if ix, ok := catalogueIndexes[service]; ok {
		return ix
	}
	var all []string
	for _, a := range catalog.Actions(service) {
		all = append(all, a.String())
	}
	ix := newServiceIndex(all)
	catalogueIndexes[service] = ix
	return ix
}

func newServiceIndex(actions []string) *serviceIndex {
	type pair struct{ lower, display string }
	ps := make([]pair, len(actions))
	for i, a := range actions {
		ps[i] = pair{strings.ToLower(a), a}
	}
	slices.SortFunc(ps, func(a, b pair) int { return strings.Compare(a.lower, b.lower) })
	ix := &serviceIndex{}
	for _, p := range ps {
		ix.lower = append(ix.lower, p.lower)
		ix.display = append(ix.display, p.display)
	}
	return ix
}

// prefix reports how many universe actions start with prefix
// ("svc:Name", any case) and whether all of them are used.
func (x *universe) prefix(service, prefix string) prefixInfo {
	lp := strings.ToLower(prefix)
	if pi, ok := x.prefixMemo[lp]; ok {
		return pi
	}
	ix := x.index(service)
	i := sort.SearchStrings(ix.lower, lp)
	pi := prefixInfo{allUsed: true}
	for ; i < len(ix.lower) && strings.HasPrefix(ix.lower[i], lp); i++ {
		pi.count++
		if x.unused(ix.display[i]) {
			pi.allUsed = false
		}
	}
	x.prefixMemo[lp] = pi
	return pi
}

// meetsStaleService reports whether a pattern can match an action of a
// service that is unused as a whole, even one no catalogue knows.
func (x *universe) meetsStaleService(pattern string) bool {
	for _, s := range x.staleServices {
		if meetsPrefix(pattern, s+":") {
			return true
		}
	}
	return false
}
