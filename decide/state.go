package decide

import (
	"fmt"
	"time"

	"github.com/iamprune/iamprune"
)

// What the state store says iamprune already did shapes the plan: a change
// already made shows as done rather than as a new action, and only keys
// iamprune itself deactivated are ever deleted.

// markDone records that the state store shows the change already made.
func (d *decision) markDone(a iamprune.Action) iamprune.Action {
	if ref, ok := d.in.Done[a.ID]; ok {
		a.Done = &ref
		a.Reason += fmt.Sprintf("; already done by run %s on %s", ref.RunID, ref.At.UTC().Format(time.DateOnly))
	}
	return a
}

// doneGone returns the done entry for a target that is gone because
// iamprune removed it (a deleted login profile or key), if the state store
// says so.
func (d *decision) doneGone(kind iamprune.ActionKind, target string) (iamprune.Action, bool) {
	a := d.base(kind, target, "")
	a.ID = actionID(a)
	ref, ok := d.in.Done[a.ID]
	if !ok {
		return a, false
	}
	a.Done = &ref
	a.Reason = fmt.Sprintf("done by run %s on %s", ref.RunID, ref.At.UTC().Format(time.DateOnly))
	a.Basis = d.basis(a)
	return a, true
}

// keyRemediation plans an access key past remediate_after_days. A key is
// always deactivated first. It is deleted only once iamprune itself
// deactivated it at least delete_after_days ago and it stayed unused since:
// a deleted key cannot be rolled back.
func (d *decision) keyRemediation(it item, note string) iamprune.Action {
	deleteAfter := d.rule.KeyDeleteAfter()
	reason := d.remediateReason([]item{it}) + note
	key := d.p.Key(it.target)
	ref, deactivated := d.in.Deactivated[it.target]
	if !deactivated || key == nil || key.Status != "Inactive" {
		a := d.entry(iamprune.KindDeactivateAccessKey, it.target, []item{it}, reason)
		if deleteAfter > 0 {
			a.Reason += fmt.Sprintf("; deleted %d days after iamprune deactivates it", deleteAfter)
		}
		if key != nil && key.Status == "Inactive" {
			a.Reason += "; already Inactive (not by iamprune): iamprune will never delete it"
		}
		return a
	}
	since := ref.At.UTC().Format(time.DateOnly)
	usedSince := key.LastUsed != nil && key.LastUsed.After(ref.At)
	due := ref.At.Add(time.Duration(deleteAfter) * day)
	if deleteAfter > 0 && !usedSince && !d.now.Before(due) {
		a := d.entry(iamprune.KindDeleteAccessKey, it.target, []item{it},
			fmt.Sprintf("deactivated by iamprune on %s (run %s) and unused since; delete after %d days%s", since, ref.RunID, deleteAfter, note))
		return d.markDone(a)
	}
	a := d.entry(iamprune.KindDeactivateAccessKey, it.target, []item{it}, reason)
	a.Done = &ref
	a.Reason += fmt.Sprintf("; already deactivated by run %s on %s", ref.RunID, since)
	if deleteAfter > 0 && !usedSince {
		a.Reason += "; will be deleted on " + due.UTC().Format(time.DateOnly)
	}
	return a
}

// basis records what a remediation was decided on, so that a saved plan
// can be refused when the world changed since.
func (d *decision) basis(a iamprune.Action) *iamprune.Basis {
	if !a.Kind.IsRemediation() {
		return nil
	}
	b := &iamprune.Basis{LastUsed: a.LastAccessed}
	if !d.f.UpdatedAt.IsZero() {
		t := d.f.UpdatedAt.UTC()
		b.FindingUpdatedAt = &t
	}
	if d.p != nil && a.Kind == iamprune.KindDenyUnusedServices {
		for _, arn := range d.p.AttachedPolicies {
			if v, ok := d.in.Facts.PolicyVersions[arn]; ok {
				if b.PolicyVersions == nil {
					b.PolicyVersions = map[string]string{}
				}
				b.PolicyVersions[arn] = v
			}
		}
	}
	if d.p != nil && d.f.Type == iamprune.UnusedIAMUserAccessKey {
		if k := d.p.Key(a.Target); k != nil {
			b.KeyStatus = k.Status
		}
	}
	return b
}
