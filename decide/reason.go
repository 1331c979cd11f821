package decide

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// Reasons are short sentences a reviewer can act on: what is unused, for how
// long, against which limit, and (for notices) what happens when.

// remediateReason: "access key unused for 272 days (limit 90)",
// "4 services unused for at least 130 days (limit 120): ec2, s3, sns, sqs".
func (d *decision) remediateReason(items []item) string {
	return fmt.Sprintf("%s (limit %d)%s", d.what(items, true), d.rule.RemediateAfterDays, d.list(items, ": "))
}

// notifyReason: "will deactivate-access-key on 2026-12-10 (unused 45 days,
// notify after 30)", or, under a notify-only rule, what is unused and that
// remediation is disabled.
func (d *decision) notifyReason(items []item) string {
	if d.rule.Action == iamprune.KindNotifyOnly {
		return fmt.Sprintf("%s (%s); remediation disabled (notify-only)%s", d.what(items, false), d.threshold(items), d.list(items, ": "))
	}
	on := slices.MinFunc(items, func(a, b item) int { return d.due(a).Compare(d.due(b)) })
	return fmt.Sprintf("will %s on %s (%s, notify after %d)%s", d.firstStep(), d.due(on).Format(time.DateOnly), age(items, false), d.rule.NotifyAfterDays, d.list(items, ": "))
}

// would says what the items would get were they not protected or exempt:
// "would deactivate-access-key (unused 200 days, limit 90)".
func (d *decision) would(items []item) string {
	remediate, notify := d.split(items)
	var parts []string
	if len(remediate) > 0 {
		parts = append(parts, fmt.Sprintf("%s%s (%s, limit %d)", d.firstStep(), d.list(remediate, " for "), age(remediate, true), d.rule.RemediateAfterDays))
	}
	if len(notify) > 0 {
		cond := fmt.Sprintf("notify after %d", d.rule.NotifyAfterDays)
		if d.rule.Action == iamprune.KindNotifyOnly {
			cond = d.threshold(notify) + "; remediation disabled"
		}
		parts = append(parts, fmt.Sprintf("notify%s (%s, %s)", d.list(notify, " for "), age(notify, false), cond))
	}
	return "would " + strings.Join(parts, " and ")
}

// what names the items and their age, from the youngest (least) or the oldest.
func (d *decision) what(items []item, least bool) string {
	if d.f.Type == iamprune.UnusedPermission {
		n, days := len(items), pick(items, least)
		switch {
		case n == 1:
			return fmt.Sprintf("1 service unused for %d days", days)
		case least:
			return fmt.Sprintf("%d services unused for at least %d days", n, days)
		}
		return fmt.Sprintf("%d services unused for up to %d days", n, days)
	}
	subject, unused, never := "access key", "unused", "never used"
	switch d.f.Type {
	case iamprune.UnusedIAMUserPassword:
		subject = "console password"
	case iamprune.UnusedIAMRole:
		subject, unused, never = "role", "not assumed", "never assumed"
	}
	it := items[0] // one item per entry for these types
	if it.last == nil {
		return fmt.Sprintf("%s %s; created %d days ago", subject, never, it.days)
	}
	return fmt.Sprintf("%s %s for %d days", subject, unused, it.days)
}

// age is the short form used in parentheses: "unused 45 days", "never used;
// created 45 days ago", "unused at least 130 days".
func age(items []item, least bool) string {
	if len(items) == 1 {
		if items[0].last == nil {
			return fmt.Sprintf("never used; created %d days ago", items[0].days)
		}
		return fmt.Sprintf("unused %d days", items[0].days)
	}
	if least {
		return fmt.Sprintf("unused at least %d days", pick(items, true))
	}
	return fmt.Sprintf("unused up to %d days", pick(items, false))
}

// threshold names the limit the oldest item has passed.
func (d *decision) threshold(items []item) string {
	if pick(items, false) >= d.rule.RemediateAfterDays {
		return fmt.Sprintf("limit %d", d.rule.RemediateAfterDays)
	}
	return fmt.Sprintf("notify after %d", d.rule.NotifyAfterDays)
}

// list names the services of UnusedPermission items after sep, else "".
func (d *decision) list(items []item, sep string) string {
	if d.f.Type != iamprune.UnusedPermission {
		return ""
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.service
	}
	return sep + strings.Join(names, ", ")
}

// exemptReason names the exception and where it is defined:
// `exempt by exception arn:… (reason "…", owner …, ticket …, expires
// 2026-12-31, exceptions.yaml:4)`, with the services it covers if given.
func exemptReason(e iamprune.Exception, services []string) string {
	s := "exempt by exception " + e.Principal
	if len(services) > 0 {
		s += " for " + strings.Join(services, ", ")
	}
	var details []string
	if e.Reason != "" {
		details = append(details, fmt.Sprintf("reason %q", e.Reason))
	}
	if e.Owner != "" {
		details = append(details, "owner "+e.Owner)
	}
	if e.Ticket != "" {
		details = append(details, "ticket "+e.Ticket)
	}
	if exp := expiry(e); exp != "" {
		details = append(details, "expires "+exp)
	}
	if loc := location(e); loc != "" {
		details = append(details, loc)
	}
	if len(details) > 0 {
		s += " (" + strings.Join(details, ", ") + ")"
	}
	return s
}

func pick(items []item, least bool) int {
	cmp := func(a, b item) int { return a.days - b.days }
	if least {
		return slices.MinFunc(items, cmp).days
	}
	return slices.MaxFunc(items, cmp).days
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// location is where an exception is defined: "file:line".
func location(e iamprune.Exception) string {
	if e.File == "" || e.Line <= 0 {
		return e.File
	}
	return fmt.Sprintf("%s:%d", e.File, e.Line)
}

// firstStep is the change remediation starts with: a key is always
// deactivated before it may be deleted.
func (d *decision) firstStep() iamprune.ActionKind {
	if d.rule.Action == iamprune.KindDeleteAccessKey {
		return iamprune.KindDeactivateAccessKey
	}
	return d.rule.Action
}
