package decide

import (
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
)

// permission decides an UnusedPermission finding, on a user or a role alike,
// from its services past notify_after_days: one protected entry, or an
// exempt entry for the services exceptions cover plus at most one
// remediation entry and one notify entry for the rest.
func (d *decision) permission(due []item, protected string, excs []iamprune.Exception) []iamprune.Action {
	if protected != "" {
		return []iamprune.Action{d.entry(iamprune.KindProtected, d.name, due, "protected: "+protected+"; "+d.would(due))}
	}
	// Each service is exempted by the first exception (in file order) that
	// covers it; an exception limited to services exempts only those.
	owner := map[string]int{}
	var exempt, rest []item
	for _, it := range due {
		i := slices.IndexFunc(excs, func(e iamprune.Exception) bool { return e.CoversService(it.service) })
		if i < 0 {
			rest = append(rest, it)
			continue
		}
		owner[it.service] = i
		exempt = append(exempt, it)
	}
	var out []iamprune.Action
	if len(exempt) > 0 {
		var reasons []string
		first := -1
		for i, e := range excs {
			var services []string
			for _, it := range exempt {
				if owner[it.service] == i {
					services = append(services, it.service)
				}
			}
			if len(services) == 0 {
				continue
			}
			if first < 0 {
				first = i
			}
			if len(e.Services) == 0 {
				services = nil // it covers them all; "would" lists them
			}
			reasons = append(reasons, exemptReason(e, services))
		}
		a := d.entry(iamprune.KindExempt, d.name, exempt, strings.Join(reasons, "; ")+"; "+d.would(exempt))
		out = append(out, withException(a, excs[first]))
	}
	// Services a rollback put on hold wait until the hold ends; the others
	// are planned as usual.
	if h := d.heldBy(d.name); h != nil && len(rest) > 0 {
		var held, free []item
		for _, it := range rest {
			if len(h.Services) == 0 || slices.Contains(h.Services, it.service) {
				held = append(held, it)
			} else {
				free = append(free, it)
			}
		}
		if len(held) > 0 {
			var services []string
			if len(h.Services) > 0 {
				for _, it := range held {
					services = append(services, it.service)
				}
			}
			out = append(out, d.heldEntry(h, d.name, held, services))
		}
		rest = free
	}
	return append(out, d.decide(rest)...)
}
