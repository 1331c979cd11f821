package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// Wording shared by the templates (as functions), so that an override
// template can say the same things without repeating the logic.

// itemSubject names what an item is about: "access key AKIA…", "console
// password", "role LegacyBatchRole", "unused services ec2, s3".
func itemSubject(it iamprune.DigestItem) string {
	switch it.FindingType {
	case iamprune.UnusedIAMUserAccessKey:
		return "access key " + it.Target
	case iamprune.UnusedIAMUserPassword:
		return "console password of " + it.Target
	case iamprune.UnusedIAMRole:
		return "role " + it.Target
	case iamprune.UnusedPermission:
		if len(it.Services) == 1 {
			return "unused service " + it.Services[0]
		}
		return "unused services " + strings.Join(it.Services, ", ")
	}
	return string(it.FindingType) + " " + it.Target
}

// changeText describes a remediation, in the future or the past tense.
func changeText(it iamprune.DigestItem, past bool) string {
	verb := func(future, done string) string {
		if past {
			return done
		}
		return future
	}
	switch it.Kind {
	case iamprune.KindDeactivateAccessKey:
		return verb("deactivate", "deactivated") + " access key " + it.Target
	case iamprune.KindDeleteAccessKey:
		return verb("delete", "deleted") + " access key " + it.Target + " (this cannot be undone)"
	case iamprune.KindDeleteLoginProfile:
		return verb("delete", "deleted") + " the console password of " + it.Target
	case iamprune.KindQuarantineRole:
		return verb("quarantine", "quarantined") + " role " + it.Target + " with a deny-all policy"
	case iamprune.KindDenyUnusedServices:
		return verb("deny", "denied") + " " + strings.Join(it.Services, ", ") + " to " + it.Target + " with a deny policy"
	}
	return string(it.Kind) + " " + it.Target
}

// whatHappens says what iamprune will do about an item and when, or, for a
// change already made, what it did.
func whatHappens(it iamprune.DigestItem, now time.Time) string {
	switch {
	case it.DoneRunID != "":
		return fmt.Sprintf("iamprune %s (run %s).", changeText(it, true), it.DoneRunID)
	case it.Kind == iamprune.KindExempt:
		// A hold after a rollback: the reason says until when and how to
		// end it; an exception keeps the access for good.
		return "nothing for now: " + it.Reason + ". To keep this access for good, add the exception entry below."
	case it.Kind == iamprune.KindNotify:
		// The plan's reason usually says what will happen on which date,
		// or that the rule only notifies; the date is added when it does not.
		s := "nothing yet; " + it.Reason + "."
		if it.RemediateOn != "" && !strings.Contains(it.Reason, it.RemediateOn) {
			s += " Remediation date: " + it.RemediateOn + "."
		}
		return s
	case it.RemediateOn == "":
		return "iamprune will " + changeText(it, false) + " at the next apply."
	case it.RemediateOn <= now.UTC().Format(time.DateOnly):
		return fmt.Sprintf("iamprune will %s at the next apply (due since %s).", changeText(it, false), it.RemediateOn)
	}
	return fmt.Sprintf("iamprune will %s on %s.", changeText(it, false), it.RemediateOn)
}

// nextAction is the earliest remediation date of the items not yet done;
// one already past is due at the next apply, so it counts as the digest's
// date.
func nextAction(d iamprune.Digest) string {
	next := earliestDue(d)
	if today := d.GeneratedAt.UTC().Format(time.DateOnly); next != "" && !d.GeneratedAt.IsZero() && next < today {
		return today
	}
	return next
}

func earliestDue(d iamprune.Digest) string {
	next := ""
	for _, p := range d.Principals {
		for _, it := range p.Items {
			if it.DoneRunID == "" && it.RemediateOn != "" && (next == "" || it.RemediateOn < next) {
				next = it.RemediateOn
			}
		}
	}
	return next
}

// itemCount counts a digest's items and, of those, the changes made.
func itemCount(d iamprune.Digest) (items, done int) {
	for _, p := range d.Principals {
		for _, it := range p.Items {
			items++
			if it.DoneRunID != "" {
				done++
			}
		}
	}
	return items, done
}

// audience names who a digest is for: its owner, else its route.
func audience(d iamprune.Digest) string {
	switch {
	case d.Owner != "":
		return d.Owner
	case d.Route == DefaultRoute || d.Route == "":
		return "owners without a route"
	}
	return "route " + d.Route
}

func countOf(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}
