package decide

import (
	"slices"
	"time"

	"github.com/iamprune/iamprune"
)

// skip is an entry with no age: the finding or item cannot be acted on.
func (d *decision) skip(target, reason string) iamprune.Action {
	a := d.base(iamprune.KindSkip, target, reason)
	a.ID = actionID(a)
	return a
}

// entry is an action over aged items that share one target. A remediation
// reports its youngest item and its latest due date, since every item it
// covers is at least that old; any other entry reports the oldest item and
// the earliest due date, the first thing its reader must act on.
func (d *decision) entry(kind iamprune.ActionKind, target string, items []item, reason string) iamprune.Action {
	a := d.base(kind, target, reason)
	days := make([]int, len(items))
	dues := make([]time.Time, len(items))
	for i, it := range items {
		days[i], dues[i] = it.days, d.due(it)
		if it.service != "" {
			a.Services = append(a.Services, it.service)
		}
		if l := latest(a.LastAccessed, it.last); l != nil {
			t := *l
			a.LastAccessed = &t
		}
	}
	on := slices.MinFunc(dues, time.Time.Compare)
	a.UnusedDays = slices.Max(days)
	if kind.IsRemediation() || kind.IsProposal() {
		on = slices.MaxFunc(dues, time.Time.Compare)
		a.UnusedDays = slices.Min(days)
	}
	a.RemediateOn = on.Format(time.DateOnly)
	a.ID = actionID(a)
	a.Basis = d.basis(a)
	return a
}

func (d *decision) base(kind iamprune.ActionKind, target, reason string) iamprune.Action {
	return iamprune.Action{
		FindingID:   d.f.ID,
		Account:     d.account,
		Principal:   d.f.Resource,
		FindingType: d.f.Type,
		Kind:        kind,
		Target:      target,
		Services:    []string{},
		Reason:      reason,
	}
}

// withException records which exception exempted the entry.
func withException(a iamprune.Action, e iamprune.Exception) iamprune.Action {
	a.Exception = e.Principal
	a.ExceptionExpires = expiry(e)
	return a
}

func expiry(e iamprune.Exception) string {
	if e.Expires.IsZero() {
		return ""
	}
	return e.Expires.UTC().Format(time.DateOnly)
}
