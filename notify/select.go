package notify

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// Notice reasons that are not built from the item.
const (
	NoticeFirst = "first notice"
	NoticeDone  = "done"
	NoticeHeld  = "held after rollback"
)

// Pending is one plan entry to notify about now.
type Pending struct {
	Action iamprune.Action
	// Keys are the entry's notice keys (iamprune.ItemKeys).
	Keys []string
	// Notice says why it is sent now: "first notice", "reminder: 14 days
	// before remediation", "changed: …", "done".
	Notice      string
	Fingerprint string
	// At is when it was selected; exception expiry dates count from it.
	At time.Time
	// DoneRunID is the run that made the change, for done notices.
	DoneRunID string
}

// Fingerprint is what a notice says about an entry, as the log records it:
// "kind|remediate_on|sorted services". A different fingerprint for the same
// item key means the owner was told something else.
func Fingerprint(a iamprune.Action) string {
	services := slices.Clone(a.Services)
	slices.Sort(services)
	return string(a.Kind) + "|" + a.RemediateOn + "|" + strings.Join(services, ",")
}

func splitFingerprint(fp string) (kind iamprune.ActionKind, remediateOn string) {
	k, rest, _ := strings.Cut(fp, "|")
	on, _, _ := strings.Cut(rest, "|")
	return iamprune.ActionKind(k), on
}

// Select returns the plan entries to notify about at now, given the notice
// log (any order; only sent records count, so a failed notice is tried
// again). The candidates are notify entries and remediations not yet done:
// an owner hears before a change. An entry is sent when:
//   - none of its item keys was ever noticed (first notice);
//   - what it says changed since a key was last noticed: its kind or its
//     remediation date, or services joined it;
//   - a reminder day (remediate_on minus one of n.RemindDaysBefore) has come
//     and no notice was sent on or after it;
//
// but a reminder is never sent within n.MinInterval of the last notice.
func Select(plan *iamprune.Plan, log []iamprune.NoticeRecord, n iamprune.Notifications, now time.Time) []Pending {
	if plan == nil {
		return nil
	}
	last := lastSent(log)
	var out []Pending
	for _, a := range plan.Actions {
		// A held item is told once: it is left alone until the hold ends,
		// and an exception makes that permanent.
		held := a.Kind == iamprune.KindExempt && a.Hold != ""
		if a.Done != nil || !(a.Kind == iamprune.KindNotify || a.Kind.IsRemediation() || held) {
			continue
		}
		keys := iamprune.ItemKeys(a)
		fp := Fingerprint(a)
		if why := noticeReason(a, keys, fp, last, n, now); why != "" {
			if held {
				why = NoticeHeld
			}
			out = append(out, Pending{Action: a, Keys: keys, Notice: why, Fingerprint: fp, At: now})
		}
	}
	return out
}

// lastSent maps each item key to its latest sent notice, on any channel.
func lastSent(log []iamprune.NoticeRecord) map[string]iamprune.NoticeRecord {
	m := map[string]iamprune.NoticeRecord{}
	for _, r := range log {
		if r.Status != iamprune.NoticeSent {
			continue
		}
		if cur, ok := m[r.ItemKey]; !ok || !r.SentAt.Before(cur.SentAt) {
			m[r.ItemKey] = r
		}
	}
	return m
}

// noticeReason says why a is sent now, or "" when it is not.
func noticeReason(a iamprune.Action, keys []string, fp string, last map[string]iamprune.NoticeRecord, n iamprune.Notifications, now time.Time) string {
	var sent []iamprune.NoticeRecord
	var fresh []string // services never noticed
	for _, k := range keys {
		if r, ok := last[k]; ok {
			sent = append(sent, r)
		} else if i := strings.LastIndexByte(k, '|'); len(keys) > 1 && i >= 0 {
			fresh = append(fresh, k[i+1:])
		}
	}
	if len(sent) == 0 {
		return NoticeFirst
	}
	var changes []string
	if len(fresh) > 0 {
		changes = append(changes, "now also "+strings.Join(fresh, ", "))
	}
	for _, r := range sent {
		if r.Fingerprint == fp {
			continue
		}
		for _, c := range change(r.Fingerprint, a, now) {
			if !slices.Contains(changes, c) {
				changes = append(changes, c)
			}
		}
	}
	if len(changes) > 0 {
		return "changed: " + strings.Join(changes, "; ")
	}
	newest, oldest := sent[0].SentAt, sent[0].SentAt
	for _, r := range sent[1:] {
		newest, oldest = later(newest, r.SentAt), earlier(oldest, r.SentAt)
	}
	if now.Sub(newest) < n.MinInterval {
		return ""
	}
	on, err := time.Parse(time.DateOnly, a.RemediateOn)
	if err != nil {
		return ""
	}
	// The nearest reminder day that has come and that no notice covers:
	// a notice sent on or after a reminder day covers it.
	best := -1
	for _, d := range n.RemindDaysBefore {
		day := on.AddDate(0, 0, -d)
		if !now.Before(day) && oldest.Before(day) && (best < 0 || d < best) {
			best = d
		}
	}
	if best < 0 {
		return ""
	}
	if best == 1 {
		return "reminder: 1 day before remediation"
	}
	return fmt.Sprintf("reminder: %d days before remediation", best)
}

// change describes how a differs from what the notice with fingerprint old
// said. A notify entry turning into its remediation once the announced date
// has come is what the owner was told, not a change; services are tracked
// by their own keys, so only kind and date are compared.
func change(old string, a iamprune.Action, now time.Time) []string {
	kind, on := splitFingerprint(old)
	if kind == iamprune.KindNotify && a.Kind.IsRemediation() && on != "" && now.UTC().Format(time.DateOnly) >= on {
		return nil
	}
	var out []string
	if kind != a.Kind {
		out = append(out, fmt.Sprintf("now %s (was %s)", a.Kind, kind))
	}
	if on != a.RemediateOn && a.RemediateOn != "" {
		if on == "" {
			out = append(out, "remediation date set to "+a.RemediateOn)
		} else {
			out = append(out, fmt.Sprintf("remediation date moved from %s to %s", on, a.RemediateOn))
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
