package apply

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
)

// A rollback usually means the change broke something: each item it undid
// is held for Options.HoldDays, so that the next plan or sweep shows it as
// exempt instead of breaking it again. Apply also refuses a held item in a
// saved plan made before the hold.

// recordHolds holds every item of the original run that rollback run r
// undid (status done), and every change of it that r found undone already
// (already-done): an earlier rollback may have undone it and died before
// setting its hold. A failed action that changed nothing is not held. A hold already set on the item by an earlier
// rollback is extended: it keeps the later end, and for UnusedPermission
// the services of both.
func recordHolds(ctx context.Context, o Options, r iamprune.Run, origRunID string, undone []iamprune.ActionRecord, res *iamprune.RunResult) error {
	if o.HoldDays <= 0 {
		return nil
	}
	byID := map[string]iamprune.ActionRecord{}
	for _, rec := range undone {
		byID[rec.ActionID] = rec
	}
	now := o.now()
	for _, ar := range res.Results {
		rec, ok := byID[ar.ActionID]
		if !ok || (ar.Status != iamprune.ResultDone && (ar.Status != iamprune.ResultAlreadyDone || !madeChange(rec))) {
			continue
		}
		account := cmp.Or(rec.Account, o.Account)
		h := iamprune.Hold{
			ID: iamprune.HoldID(account, rec.Principal, rec.FindingType, rec.Target), Account: account,
			Principal: rec.Principal, FindingType: rec.FindingType, Kind: rec.Kind, Target: rec.Target,
			Services: slices.Clone(rec.Services), RunID: origRunID, RollbackRunID: r.ID,
			By: cmp.Or(r.Caller, o.Owner.User, "unknown"), At: now, Until: now.AddDate(0, 0, o.HoldDays),
		}
		if h.Services == nil {
			h.Services = []string{}
		}
		prev, err := o.Store.Hold(ctx, h.ID)
		switch {
		case iamprune.ErrorCode(err) == iamprune.ENOTFOUND:
		case err != nil:
			return fmt.Errorf("rollback: cannot read hold %s: %w", h.ID, err)
		case prev.Active(now):
			if prev.Until.After(h.Until) {
				h.Until = prev.Until
			}
			if len(prev.Services) > 0 && len(h.Services) > 0 {
				h.Services = union(prev.Services, h.Services)
			} else {
				h.Services = []string{} // one of them holds every service
			}
		}
		if err := o.Store.PutHold(ctx, h); err != nil {
			return fmt.Errorf("rollback: cannot record hold %s on %s %s: %w", h.ID, h.Principal, h.Target, err)
		}
		detail := fmt.Sprintf("held until %s (hold %s)", h.Until.Format(time.DateOnly), h.ID)
		o.Audit.Log(audit.Event{Event: audit.HoldSet, RunID: r.ID, Account: account, ActionID: rec.ActionID, Principal: rec.Principal,
			FindingID: rec.FindingID, FindingType: string(rec.FindingType), Kind: string(rec.Kind), Target: rec.Target, Services: h.Services, Detail: detail})
	}
	return nil
}

// madeChange reports whether the apply journal entry rec changed IAM: it
// is done, or a step of it is.
func madeChange(rec iamprune.ActionRecord) bool {
	if rec.Status == iamprune.ResultDone {
		return true
	}
	return slices.ContainsFunc(rec.Steps, func(s iamprune.Step) bool { return s.Status == iamprune.StepDone })
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// held applies the holds in force now to an action, the way exempt
// applies exceptions: a hold on a deny-unused-services action takes the
// held services out of it, which is skipped only when none remain (why),
// else noted (note); any other action it covers is skipped.
func held(a iamprune.Action, holds []iamprune.Hold, now time.Time) (_ iamprune.Action, why, note string) {
	for _, h := range holds {
		if !h.Active(now) || !h.Covers(a) {
			continue
		}
		reason := fmt.Sprintf("held until %s after rollback %s of run %s (iamprune holds release %s to end it)",
			h.Until.UTC().Format(time.DateOnly), h.RollbackRunID, h.RunID, h.ID)
		if a.FindingType != iamprune.UnusedPermission || len(h.Services) == 0 {
			return a, reason, ""
		}
		hs := h.HeldServices(a)
		if len(hs) == 0 {
			continue
		}
		if len(hs) == len(a.Services) {
			return a, reason, ""
		}
		if a.Kind != iamprune.KindDenyUnusedServices {
			return a, strings.Join(hs, ", ") + " " + reason + "; plan again to rewrite the rest", ""
		}
		a.Services = slices.DeleteFunc(slices.Clone(a.Services), func(s string) bool { return slices.Contains(hs, s) })
		return a, "", "; not " + strings.Join(hs, ", ") + ": " + reason
	}
	return a, "", ""
}
