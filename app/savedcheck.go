package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
)

// notDecided lists the changes of a saved plan that a decision made now,
// from the live findings, the config, the notice log and the journal,
// would not make: a remediation that is not due yet (or whose owner was
// not notified long enough ago), another kind, or services not due.
// Apply's own re-checks trust these fields of the file, so an edited or
// outdated plan could otherwise change what was never planned. Items the
// decision exempts, protects, skips or no longer sees are left to apply,
// which skips them with the reason.
func notDecided(saved, now *iamprune.Plan) []string {
	var out []string
	for _, a := range saved.Actions {
		if !a.Kind.IsRemediation() || a.Done != nil {
			continue
		}
		if why := decidedNow(a, now); why != "" {
			out = append(out, fmt.Sprintf("action %s (%s %s of %s): %s", a.ID, a.Kind, a.Target, a.Principal, why))
		}
	}
	return out
}

// decidedNow says why a decision made now does not call for a, or "".
func decidedNow(a iamprune.Action, now *iamprune.Plan) string {
	var same []iamprune.Action
	for _, b := range now.Actions {
		if b.FindingID == a.FindingID && b.Account == a.Account && b.Principal == a.Principal && b.Target == a.Target {
			same = append(same, b)
		}
	}
	if len(same) == 0 {
		return "" // the finding is gone or changed: apply re-reads it and skips
	}
	if len(a.Services) == 0 {
		return coveredBy(a, same, "")
	}
	for _, s := range a.Services {
		if why := coveredBy(a, same, s); why != "" {
			return why
		}
	}
	return ""
}

// coveredBy says why no entry of same calls for a (for service s, when
// not ""), or "": an entry of a's kind, or one apply skips anyway.
func coveredBy(a iamprune.Action, same []iamprune.Action, s string) string {
	var kinds []string
	for _, b := range same {
		if s != "" && !slices.Contains(b.Services, s) {
			continue
		}
		switch {
		case b.Kind == a.Kind:
			return ""
		case b.Kind == iamprune.KindExempt || b.Kind == iamprune.KindProtected || b.Kind == iamprune.KindSkip:
			return "" // apply re-checks these and skips the action
		}
		kinds = append(kinds, string(b.Kind))
	}
	what := "the finding"
	if s != "" {
		what = "service " + s
	}
	if len(kinds) == 0 {
		return fmt.Sprintf("a plan made now calls for no change of %s", what)
	}
	return fmt.Sprintf("a plan made now says %s for %s", strings.Join(kinds, ", "), what)
}
