// Package report writes the HTML report of a plan and of what iamprune
// did: summary tiles, SVG charts drawn here, and tables, in one
// self-contained file that loads nothing from the network. The data comes
// in as an Input (the plan, the state store's runs, journal and holds, the
// exceptions that expire soon); app gathers it.
package report

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/render"
)

// Input is everything a report shows.
type Input struct {
	Plan *iamprune.Plan
	// Now is the report's clock (the plan's evaluation time).
	Now time.Time
	// Expiring are the exceptions that expire within ExpiringWithin of
	// Now, or already did.
	Expiring       []render.ExpiringEntry
	ExpiringWithin string
	// Holds are the holds of the plan's accounts, active or not.
	Holds []iamprune.Hold
	// Owners maps principal ARNs to their owners (the owner tags the
	// notifications read); a principal missing has no known owner.
	Owners map[string]string
	// History is what the state store recorded; nil when it could not be
	// read, and HistoryNote says why.
	History     *History
	HistoryNote string
}

// History is the state store's record: the runs and their journals.
type History struct {
	Runs    []iamprune.Run
	Records []iamprune.ActionRecord
}

// Counts are the summary tiles' numbers, for the whole plan or one account.
type Counts struct {
	Account string
	// Findings is the number of findings read (whole plan only).
	Findings  int
	Remediate int
	Notify    int
	Exempt    int
	Protected int
	Held      int
	Propose   int
	Skip      int
	// Done are the remediations the state store shows as already made.
	Done    int
	Entries int
}

// Open is the number of unused items still to act on: to notify, to
// remediate or to propose.
func (c Counts) Open() int { return c.Remediate + c.Notify + c.Propose }

// group is the tile an entry counts towards.
func group(a iamprune.Action) string {
	switch {
	case a.Kind.IsRemediation() && a.Done != nil:
		return "done"
	case a.Kind.IsRemediation():
		return "remediate"
	case a.Kind == iamprune.KindNotify:
		return "notify"
	case a.Kind == iamprune.KindExempt && a.Hold != "":
		return "held"
	case a.Kind == iamprune.KindExempt:
		return "exempt"
	case a.Kind == iamprune.KindProtected:
		return "protected"
	case a.Kind.IsProposal():
		return "propose"
	}
	return "skip"
}

func (c *Counts) add(a iamprune.Action) {
	c.Entries++
	switch group(a) {
	case "remediate":
		c.Remediate++
	case "notify":
		c.Notify++
	case "held":
		c.Held++
	case "exempt":
		c.Exempt++
	case "protected":
		c.Protected++
	case "propose":
		c.Propose++
	case "done":
		c.Done++
	default:
		c.Skip++
	}
}

// Totals counts the plan's entries as the tiles show them.
func Totals(p *iamprune.Plan) Counts {
	c := Counts{Findings: p.Findings}
	for _, a := range p.Actions {
		c.add(a)
	}
	return c
}

// ByAccount counts the plan's entries per account, sorted by account.
func ByAccount(p *iamprune.Plan) []Counts {
	m := map[string]*Counts{}
	for _, a := range p.Actions {
		acct := cmp.Or(a.Account, p.Account)
		if m[acct] == nil {
			m[acct] = &Counts{Account: acct}
		}
		m[acct].add(a)
	}
	out := make([]Counts, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Counts) int { return cmp.Compare(a.Account, b.Account) })
	return out
}

// bar is one labelled value of a chart.
type bar struct {
	Label string
	Value int
}

// byKind counts entries per plan kind, in the order the CLI lists them.
func byKind(p *iamprune.Plan) []bar {
	m := map[string]int{}
	for _, a := range p.Actions {
		m[string(a.Kind)]++
	}
	return sortedBars(m)
}

// byType counts entries per finding type.
func byType(p *iamprune.Plan) []bar {
	m := map[string]int{}
	for _, a := range p.Actions {
		m[string(a.FindingType)]++
	}
	return sortedBars(m)
}

// sortedBars orders counts by value, largest first, then by label.
func sortedBars(m map[string]int) []bar {
	out := make([]bar, 0, len(m))
	for k, v := range m {
		out = append(out, bar{k, v})
	}
	slices.SortFunc(out, func(a, b bar) int {
		return cmp.Or(cmp.Compare(b.Value, a.Value), cmp.Compare(a.Label, b.Label))
	})
	return out
}

// unusedBuckets are the histogram's bins of unused days: [lo, next lo).
var unusedBuckets = []struct {
	lo    int
	label string
}{{0, "0–29"}, {30, "30–59"}, {60, "60–89"}, {90, "90–179"}, {180, "180–364"}, {365, "365+"}}

// unusedHistogram counts the open and remediated entries (notify,
// remediations, proposals) by unused days.
func unusedHistogram(p *iamprune.Plan) []bar {
	out := make([]bar, len(unusedBuckets))
	for i, b := range unusedBuckets {
		out[i].Label = b.label
	}
	for _, a := range p.Actions {
		if g := group(a); g != "remediate" && g != "notify" && g != "propose" {
			continue
		}
		i := len(unusedBuckets) - 1
		for i > 0 && a.UnusedDays < unusedBuckets[i].lo {
			i--
		}
		out[i].Value++
	}
	return out
}

// noOwner labels the items whose principal has no owner tag.
const noOwner = "(no owner)"

// maxOwners is how many owners the owner chart names; the rest are summed.
const maxOwners = 12

// byOwner counts the open items (to remediate, notify, propose) per owner,
// most first; beyond maxOwners, the others are summed in one row.
func byOwner(p *iamprune.Plan, owners map[string]string) []column {
	m := map[string][]int{}
	for _, a := range p.Actions {
		i := slices.Index([]string{"remediate", "notify", "propose"}, group(a))
		if i < 0 {
			continue
		}
		o := cmp.Or(owners[a.Principal], noOwner)
		if m[o] == nil {
			m[o] = make([]int, 3)
		}
		m[o][i]++
	}
	out := make([]column, 0, len(m))
	for o, v := range m {
		out = append(out, column{o, v})
	}
	slices.SortFunc(out, func(a, b column) int {
		return cmp.Or(cmp.Compare(b.total(), a.total()), cmp.Compare(a.Label, b.Label))
	})
	if len(out) > maxOwners {
		rest := column{fmt.Sprintf("%d other owners", len(out)-maxOwners+1), make([]int, 3)}
		for _, c := range out[maxOwners-1:] {
			for i, v := range c.Values {
				rest.Values[i] += v
			}
		}
		out = append(out[:maxOwners-1], rest)
	}
	return out
}

// calendarDays is how far ahead the calendar of remediations looks.
const calendarDays = 90

// day is one day of the remediation calendar.
type day struct {
	Date time.Time
	// Count is the number of entries whose remediation falls on the day;
	// today's includes those already due.
	Count int
}

// calendar counts, for each day from now's day for calendarDays days,
// the open entries whose remediate_on falls on it. Entries already due
// count on the first day; later ones are left out (beyond reports how
// many).
func calendar(p *iamprune.Plan, now time.Time) (days []day, beyond int) {
	start := now.UTC().Truncate(24 * time.Hour)
	days = make([]day, calendarDays)
	for i := range days {
		days[i].Date = start.AddDate(0, 0, i)
	}
	for _, a := range p.Actions {
		if g := group(a); (g != "remediate" && g != "notify") || a.RemediateOn == "" || a.Done != nil {
			continue
		}
		on, err := time.Parse(time.DateOnly, a.RemediateOn)
		if err != nil {
			continue
		}
		i := max(0, int(on.Sub(start).Hours()/24))
		if i >= calendarDays {
			beyond++
			continue
		}
		days[i].Count++
	}
	return days, beyond
}

// week is one week of history.
type week struct {
	Start                       time.Time
	Applied, RolledBack, Failed int
}

// historyWeeks is how many weeks of history the chart shows at most.
const historyWeeks = 26

// weekly counts the journal's changes per week (weeks start on Monday,
// UTC): changes applied by apply runs, undone by rollback runs, and
// failed, from the first week with a record to now's, at most
// historyWeeks.
func weekly(h *History, now time.Time) []week {
	kinds := map[string]iamprune.RunKind{}
	for _, r := range h.Runs {
		kinds[r.ID] = r.Kind
	}
	counts := map[time.Time]*week{}
	first, last := monday(now), monday(now)
	for _, rec := range h.Records {
		at := rec.StartedAt
		if rec.FinishedAt != nil {
			at = *rec.FinishedAt
		}
		w := monday(at)
		if counts[w] == nil {
			counts[w] = &week{Start: w}
		}
		switch {
		case rec.Status == iamprune.ResultFailed:
			counts[w].Failed++
		case rec.Status != iamprune.ResultDone:
			continue
		case kinds[rec.RunID] == iamprune.RunRollback || rec.RollbackOf != "":
			counts[w].RolledBack++
		default:
			counts[w].Applied++
		}
		if w.Before(first) {
			first = w
		}
		if w.After(last) {
			last = w
		}
	}
	if limit := last.AddDate(0, 0, -7*(historyWeeks-1)); first.Before(limit) {
		first = limit
	}
	var out []week
	for w := first; !w.After(last); w = w.AddDate(0, 0, 7) {
		if c := counts[w]; c != nil {
			out = append(out, *c)
		} else {
			out = append(out, week{Start: w})
		}
	}
	return out
}

// monday is the start (00:00 UTC) of t's week.
func monday(t time.Time) time.Time {
	d := t.UTC().Truncate(24 * time.Hour)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// runPoint is what one apply run recorded of its plan: the items open
// when it started.
type runPoint struct {
	Run                        iamprune.Run
	Remediate, Notify, Propose int
}

// perRun lists the apply runs that recorded their plan's counts, oldest
// first, with their open items; unrecorded counts the apply runs made
// before iamprune recorded them.
func perRun(h *History) (points []runPoint, unrecorded int) {
	// Runs come newest first; reversed, runs that started at the same
	// time stay in the order they were made.
	runs := slices.Clone(h.Runs)
	slices.Reverse(runs)
	slices.SortStableFunc(runs, func(a, b iamprune.Run) int { return a.StartedAt.Compare(b.StartedAt) })
	for _, r := range runs {
		if r.Kind != iamprune.RunApply {
			continue
		}
		if r.PlanCounts == nil {
			unrecorded++
			continue
		}
		p := runPoint{Run: r}
		for k, n := range r.PlanCounts {
			switch {
			case k.IsRemediation():
				p.Remediate += n
			case k == iamprune.KindNotify:
				p.Notify += n
			case k.IsProposal():
				p.Propose += n
			}
		}
		points = append(points, p)
	}
	return points, unrecorded
}

// activeHolds are the holds in force at now, soonest end first.
func activeHolds(hs []iamprune.Hold, now time.Time) []iamprune.Hold {
	var out []iamprune.Hold
	for _, h := range hs {
		if h.Active(now) {
			out = append(out, h)
		}
	}
	slices.SortStableFunc(out, func(a, b iamprune.Hold) int { return a.Until.Compare(b.Until) })
	return out
}
