package decide

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// Prior notice (notifications.require_prior_notice): a remediation happens
// only for items whose owner was sent a notice of them at least
// notice_days before now. Any other item past its limit is held back as a
// notice, due when its notice period ends.

// noticeIndex maps item keys to the times notices of them were sent,
// oldest first.
type noticeIndex map[string][]time.Time

// indexNotices keeps the notices that prove prior notice: sent (a failed
// channel notified no one) and not after now (a replay with an earlier
// --now must not see notices from its future). Item keys embed the
// principal ARN, so another account's notices never match.
func indexNotices(recs []iamprune.NoticeRecord, now time.Time) noticeIndex {
	idx := noticeIndex{}
	for _, n := range recs {
		if n.Status != iamprune.NoticeSent || n.ItemKey == "" || n.SentAt.IsZero() || n.SentAt.After(now) {
			continue
		}
		idx[n.ItemKey] = append(idx[n.ItemKey], n.SentAt.UTC())
	}
	for _, ts := range idx {
		slices.SortFunc(ts, time.Time.Compare)
	}
	return idx
}

// itemKey is the notice key of one item: iamprune.ItemKeys of an entry
// holding only that item.
func (d *decision) itemKey(it item) string {
	a := iamprune.Action{Principal: d.f.Resource, FindingType: d.f.Type, Target: it.target}
	if it.service != "" {
		a.Services = []string{it.service}
	}
	return iamprune.ItemKeys(a)[0]
}

// firstNotice is when the item's owner was first sent a notice of it, or
// nil. A notice sent before the item's last use was about an earlier
// stretch of disuse, which that use ended, and does not count.
func (d *decision) firstNotice(it item) *time.Time {
	for _, t := range d.notices[d.itemKey(it)] {
		if !t.Before(it.ref) {
			return &t
		}
	}
	return nil
}

// noticeDays is the prior-notice period, and whether it applies at all.
func (d *decision) noticeDays() (int, bool) {
	n := d.in.Config.Notifications
	return max(0, n.NoticeDays), n.RequirePriorNotice
}

// hold splits items past their limit into those whose owner was notified
// long enough ago, and those held back. A held item records its first
// notice and is not due before its notice period ends.
func (d *decision) hold(items []item) (ready, held []item) {
	days, required := d.noticeDays()
	if !required {
		return items, nil
	}
	period := time.Duration(days) * day
	for _, it := range items {
		first := d.firstNotice(it)
		if first != nil && !first.Add(period).After(d.now) {
			ready = append(ready, it)
			continue
		}
		it.noticed, it.notBefore = first, d.now.Add(period)
		if first != nil {
			it.notBefore = first.Add(period)
		}
		held = append(held, it)
	}
	return ready, held
}

// heldReason says why items are held back and until when: "owner not yet
// notified (prior notice required, 7 days)" or "owner notified on
// 2026-11-25; remediation from 2026-12-02 (prior notice, 7 days)". When
// they are only some of the entry's services, it names them.
func (d *decision) heldReason(held []item, entry int) string {
	days, _ := d.noticeDays()
	groups := map[string][]item{}
	var dates []string // "" (never notified) sorts first
	for _, it := range held {
		date := ""
		if it.noticed != nil {
			date = it.noticed.Format(time.DateOnly)
		}
		if _, ok := groups[date]; !ok {
			dates = append(dates, date)
		}
		groups[date] = append(groups[date], it)
	}
	slices.Sort(dates)
	var parts []string
	for _, date := range dates {
		g := groups[date]
		of := ""
		if len(g) < entry {
			of = d.list(g, " of ")
		}
		if date == "" {
			parts = append(parts, fmt.Sprintf("owner not yet notified%s (prior notice required, %d days)", of, days))
			continue
		}
		from := slices.MaxFunc(g, func(a, b item) int { return d.due(a).Compare(d.due(b)) })
		parts = append(parts, fmt.Sprintf("owner notified%s on %s; remediation from %s (prior notice, %d days)", of, date, d.due(from).Format(time.DateOnly), days))
	}
	return strings.Join(parts, "; ")
}
