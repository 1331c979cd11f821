package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
)

// nothingToDo says why an apply run has nothing to do: the plan holds no
// remediation (pending or already done), no digest is due and no proposal
// is to be made. It is "" when there is something to do. Such a run is not
// recorded: an empty "succeeded" run would only hide why.
func nothingToDo(p *Planned, c Consent) string {
	if len(c.What) > 0 {
		return ""
	}
	var held, later []string // remediation dates of notify entries
	for _, a := range p.Plan.Actions {
		switch {
		case a.Kind.IsRemediation() || a.Kind == iamprune.KindProposePolicy:
			return ""
		case a.Kind != iamprune.KindNotify || a.RemediateOn == "":
		case strings.Contains(a.Reason, "prior notice"):
			held = append(held, a.RemediateOn)
		default:
			later = append(later, a.RemediateOn)
		}
	}
	n := p.Inputs.Config.Notifications
	switch {
	case len(held) > 0 && len(n.Channels) == 0:
		return fmt.Sprintf("Nothing to apply: %d remediation(s) wait for their owners to be notified first (notifications.require_prior_notice), "+
			"and no notification channel is configured, so nobody can be: configure notifications.channels, or set require_prior_notice: false.", len(held))
	case len(held) > 0:
		return fmt.Sprintf("Nothing to apply yet: %d remediation(s) wait for their owners' prior notice (notice_days: %d); the first is due on %s.",
			len(held), n.NoticeDays, slices.Min(held))
	case len(later) > 0:
		return fmt.Sprintf("Nothing to apply: no finding is past its rule's remediate_after_days yet; the first remediation is due on %s.", slices.Min(later))
	}
	return "Nothing to apply: the plan has no remediation."
}
