package decide

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// A rollback usually means the change broke something, so the item it
// undid is held: planned as exempt until the hold ends, and not remediated
// again by the next sweep.

// heldBy returns the active hold on the finding's item at target, or nil.
// Of several, the one that lasts longest wins.
func (d *decision) heldBy(target string) *iamprune.Hold {
	a := iamprune.Action{Account: d.account, Principal: d.f.Resource, FindingType: d.f.Type, Target: target}
	var best *iamprune.Hold
	for i := range d.in.Holds {
		h := &d.in.Holds[i]
		if h.Active(d.now) && h.Covers(a) && (best == nil || h.Until.After(best.Until)) {
			best = h
		}
	}
	return best
}

// holds reports whether an active hold covers the item (its service, for
// a permission finding).
func (d *decision) holds(it item) bool {
	h := d.heldBy(it.target)
	return h != nil && (it.service == "" || len(h.Services) == 0 || slices.Contains(h.Services, it.service))
}

// heldEntry is the exempt entry for items a hold covers; services names
// the held services when the hold is limited to some.
func (d *decision) heldEntry(h *iamprune.Hold, target string, items []item, services []string) iamprune.Action {
	a := d.entry(iamprune.KindExempt, target, items, holdReason(h, services)+"; "+d.would(items))
	a.Hold = h.ID
	a.HoldUntil = h.Until.UTC().Format(time.DateOnly)
	return a
}

// holdReason: "held until 2027-01-05 after rollback R2 of run R1 (iamprune
// holds release hold-… to end it)".
func holdReason(h *iamprune.Hold, services []string) string {
	s := "held"
	if len(services) > 0 {
		s += " for " + strings.Join(services, ", ")
	}
	return s + fmt.Sprintf(" until %s after rollback %s of run %s (iamprune holds release %s to end it)",
		h.Until.UTC().Format(time.DateOnly), h.RollbackRunID, h.RunID, h.ID)
}
