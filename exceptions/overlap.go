package exceptions

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
)

// overlaps reports each pair of entries that would both exempt the same
// finding: the same principal pattern (a duplicate, reported on the later
// entry), or a pattern that matches the other's text (an exact ARN inside a
// glob, or a narrower glob inside a wider one, reported on the narrower
// entry), when their finding types and, for UnusedPermission, services
// share something. Entries PrincipalProblem refuses are left out. Both locations are named. Entries from different files
// are compared too: one principal should have one place that says why it
// is exempt.
func overlaps(excs []iamprune.Exception) []Problem {
	// An over-broad entry is already a problem; its overlaps would only
	// repeat it.
	var ok []iamprune.Exception
	for _, e := range excs {
		if PrincipalProblem(e.Principal) == "" {
			ok = append(ok, e)
		}
	}
	var ps []Problem
	for i := range ok {
		for j := i + 1; j < len(ok); j++ {
			a, b := ok[i], ok[j]
			shared, ok := sharedScope(a, b)
			if !ok {
				continue
			}
			switch {
			case a.Principal == b.Principal:
				ps = append(ps, problemAt(b, "principal", fmt.Sprintf("duplicates the entry at %s: same principal, both cover %s", where(a), shared)))
			case iamprune.MatchGlob(a.Principal, b.Principal):
				ps = append(ps, problemAt(b, "principal", covered(b, a, shared)))
			case iamprune.MatchGlob(b.Principal, a.Principal):
				ps = append(ps, problemAt(a, "principal", covered(a, b, shared)))
			}
		}
	}
	return ps
}

func covered(narrow, wide iamprune.Exception, shared string) string {
	return fmt.Sprintf("%s is also matched by %s at %s; both cover %s",
		narrow.Principal, wide.Principal, where(wide), shared)
}

func where(e iamprune.Exception) string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// sharedScope describes what two entries both cover, by finding type (and
// service for UnusedPermission), or reports ok=false when they cover
// disjoint things. No finding types means all; no services, or "*", means
// every service.
func sharedScope(a, b iamprune.Exception) (desc string, ok bool) {
	var parts []string
	all := true
	for _, t := range iamprune.FindingTypes {
		if !coversType(a, t) || !coversType(b, t) {
			all = false
			continue
		}
		if t != iamprune.UnusedPermission {
			parts = append(parts, string(t))
			continue
		}
		svcs, every := sharedServices(a.Services, b.Services)
		switch {
		case every:
			parts = append(parts, string(t))
		case len(svcs) > 0:
			all = false
			parts = append(parts, fmt.Sprintf("%s (%s)", t, strings.Join(svcs, ", ")))
		default:
			all = false
		}
	}
	if len(parts) == 0 {
		return "", false
	}
	if all {
		return "every finding type", true
	}
	return strings.Join(parts, ", "), true
}

func coversType(e iamprune.Exception, t iamprune.FindingType) bool {
	return len(e.FindingTypes) == 0 || slices.Contains(e.FindingTypes, t)
}

// sharedServices intersects two service limits; every is true when both
// cover every service.
func sharedServices(a, b []string) (shared []string, every bool) {
	allA, allB := len(a) == 0 || slices.Contains(a, "*"), len(b) == 0 || slices.Contains(b, "*")
	switch {
	case allA && allB:
		return nil, true
	case allA:
		return b, false
	case allB:
		return a, false
	}
	for _, s := range a {
		if slices.Contains(b, s) && !slices.Contains(shared, s) {
			shared = append(shared, s)
		}
	}
	return shared, false
}
