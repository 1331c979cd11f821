// Package decide is iamprune's decision engine: findings, the facts about
// their principals, the configuration, the exceptions and the current time
// go in; a Plan comes out. It does no I/O, reads no clock and logs nothing,
// so the same input always gives the same plan, with the same action ids.
//
// It is pure: it imports only the root, policy and catalog, and does no I/O.
// app and cmd import it.
package decide

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// Input is everything a decision depends on.
type Input struct {
	Findings   []iamprune.Finding
	Facts      *iamprune.Facts
	Config     iamprune.Config
	Exceptions []iamprune.Exception
	Now        time.Time
	Warnings   []iamprune.Warning // copied into the plan
	Source     string             // copied into Plan.Source
	// Done maps action ids to the run that already made that change and
	// did not roll it back (from the state store).
	Done map[string]iamprune.DoneRef
	// Deactivated maps the ids of access keys iamprune deactivated, and did
	// not roll back, to when: only those keys may ever be deleted.
	Deactivated map[string]iamprune.DoneRef
	// Notices are the account's sent notices (the notification log), the
	// proof of prior notice; failed ones, if passed, do not count.
	Notices []iamprune.NoticeRecord
	// Holds are the holds rollbacks set (the state store); an active one
	// keeps its item exempt.
	Holds []iamprune.Hold
}

// Plan decides what to do about every finding (docs/plan-format.md). Actions
// are sorted by principal, finding type, target and kind.
func Plan(in Input) iamprune.Plan {
	p := NewPlanner(in)
	for _, f := range in.Findings {
		p.Add(f)
	}
	return p.Plan(nil)
}

// Planner decides findings one at a time, for sources that stream them:
// Plan(in) is NewPlanner(in), Add for each of in.Findings, then Plan(nil).
// The maps and the facts of its input may grow between calls to Add (an
// account's journal read when its first finding comes); Holds grow with
// AddHolds.
type Planner struct {
	in      Input
	now     time.Time
	notices noticeIndex
	seen    map[string]bool
	// chunks hold the actions so far; a chunk is never grown, so that a
	// plan of a hundred thousand actions is not copied again and again.
	chunks [][]iamprune.Action
	dups   []iamprune.Warning
	n      int
}

// chunkSize is how many actions a chunk of a Planner holds.
const chunkSize = 4096

// NewPlanner starts a plan; in.Findings is ignored.
func NewPlanner(in Input) *Planner {
	in.Findings = nil
	now := in.Now.UTC()
	return &Planner{in: in, now: now, notices: indexNotices(in.Notices, now), seen: map[string]bool{}}
}

// AddHolds adds holds to those the plan applies.
func (p *Planner) AddHolds(hs ...iamprune.Hold) { p.in.Holds = append(p.in.Holds, hs...) }

// Add decides one finding and returns its actions (none for a finding
// listed twice), which the plan keeps: the caller must not change them.
func (p *Planner) Add(f iamprune.Finding) []iamprune.Action {
	p.n++
	if f.ID != "" && p.seen[f.ID] {
		// Two entries would get the same action ids; the first wins.
		p.dups = append(p.dups, iamprune.Warning{Source: "findings", Message: fmt.Sprintf("finding %s is listed more than once; only the first is planned", f.ID)})
		return nil
	}
	p.seen[f.ID] = true
	d := newDecision(&p.in, p.now, f)
	d.notices = p.notices
	actions := d.actions()
	for _, a := range actions {
		if len(p.chunks) == 0 || len(p.chunks[len(p.chunks)-1]) == chunkSize {
			p.chunks = append(p.chunks, make([]iamprune.Action, 0, chunkSize))
		}
		last := &p.chunks[len(p.chunks)-1]
		*last = append(*last, a)
	}
	return actions
}

// Plan returns the plan of the findings added; its warnings are first,
// then the input's, then those about findings listed twice. The planner
// must not be used afterwards.
func (p *Planner) Plan(first []iamprune.Warning) iamprune.Plan {
	n := 0
	for _, c := range p.chunks {
		n += len(c)
	}
	actions := make([]iamprune.Action, 0, n)
	for i, c := range p.chunks {
		actions = append(actions, c...)
		p.chunks[i] = nil // free for the GC as the copy proceeds
	}
	p.chunks = nil
	plan := iamprune.Plan{
		GeneratedAt: p.now,
		Actions:     actions,
		Source:      p.in.Source,
		Findings:    p.n,
		Warnings:    slices.Concat(first, p.in.Warnings, p.dups),
	}
	if p.in.Facts != nil {
		plan.Account = p.in.Facts.Account
	}
	slices.SortStableFunc(plan.Actions, func(a, b iamprune.Action) int {
		return cmp.Or(
			cmp.Compare(a.Principal, b.Principal),
			cmp.Compare(a.FindingType, b.FindingType),
			cmp.Compare(a.Target, b.Target),
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.FindingID, b.FindingID),
		)
	})
	return plan
}

// decision holds what is known about one finding while it is decided.
type decision struct {
	f       iamprune.Finding
	now     time.Time
	rule    iamprune.Rule
	account string
	p       *iamprune.Principal // nil: the principal no longer exists
	name    string              // the principal's name, the default target
	caller  string
	in      *Input
	notices noticeIndex
}

func newDecision(in *Input, now time.Time, f iamprune.Finding) *decision {
	d := &decision{f: f, now: now, rule: in.Config.Rule(f.Type), account: f.Account, p: in.Facts.Principal(f.Resource), in: in}
	if in.Facts != nil {
		d.account = cmp.Or(d.account, in.Facts.Account)
		d.caller = in.Facts.Caller
	}
	switch a, ok := iamprune.ParseARN(f.Resource); {
	case d.p != nil && d.p.Name != "":
		d.name = d.p.Name
	case ok:
		d.name = a.Name
	default:
		d.name = f.Resource
	}
	return d
}

// actions applies the rules of docs/plan-format.md in order: finding status,
// principal existence, ageing, the notify threshold, protection,
// exceptions, and finally remediate or notify.
func (d *decision) actions() []iamprune.Action {
	f := d.f
	switch {
	case !f.Type.Valid():
		return []iamprune.Action{d.skip(d.name, fmt.Sprintf("unsupported finding type %q", f.Type))}
	case f.Status != iamprune.StatusActive:
		return []iamprune.Action{d.skip(d.name, fmt.Sprintf("finding is %s", cmp.Or(string(f.Status), "without a status")))}
	case len(d.in.Config.Accounts) > 0 && !slices.Contains(d.in.Config.Accounts, d.account):
		return []iamprune.Action{d.skip(d.name, fmt.Sprintf("account %s is not in the config's accounts allowlist", d.account))}
	case d.in.Facts != nil && d.in.Facts.Unreachable[d.account] != "":
		return []iamprune.Action{d.skip(d.name, fmt.Sprintf("account %s unreachable: %s", d.account, d.in.Facts.Unreachable[d.account]))}
	case d.p == nil:
		return []iamprune.Action{d.skip(d.name, "principal no longer exists")}
	}
	if want := principalKind(f.Type); want != "" && d.p.Kind != "" && d.p.Kind != want {
		return []iamprune.Action{d.skip(d.name, fmt.Sprintf("%s finding names a %s, not a %s", f.Type, d.p.Kind, want))}
	}
	items, out := d.age()
	var due []item
	for _, it := range items {
		// A held item stays in the plan (exempt, with its hold) even when
		// the rollback made it young again (a restored login profile or
		// key): exports and reports show the hold, not a stale state.
		if it.days >= d.rule.NotifyAfterDays || d.holds(it) {
			due = append(due, it)
		}
	}
	if len(due) == 0 {
		return out
	}
	protected := iamprune.Protection{Globs: d.in.Config.ProtectedGlobs(), Caller: d.caller}.Check(f.Resource, d.p.Path)
	excs := iamprune.MatchExceptions(d.in.Exceptions, f.Resource, f.Type, d.now)
	if f.Type == iamprune.UnusedPermission {
		return append(out, d.permission(due, protected, excs)...)
	}
	for _, it := range due {
		one := []item{it}
		switch {
		case protected != "":
			out = append(out, d.entry(iamprune.KindProtected, it.target, one, "protected: "+protected+"; "+d.would(one)))
		case len(excs) > 0:
			a := d.entry(iamprune.KindExempt, it.target, one, exemptReason(excs[0], nil)+"; "+d.would(one))
			out = append(out, withException(a, excs[0]))
		case d.heldBy(it.target) != nil:
			out = append(out, d.heldEntry(d.heldBy(it.target), it.target, one, nil))
		default:
			out = append(out, d.decide(one)...)
		}
	}
	return out
}

// decide gives the remediation and notify entries for items that nothing
// exempts: at most one of each (items of one entry share its target).
// Items past their limit whose owner was not notified long enough ago are
// held back into the notify entry (prior notice, notice.go).
func (d *decision) decide(items []item) []iamprune.Action {
	remediate, notify := d.split(items)
	var out []iamprune.Action
	note := d.expiredNote()
	var held []item
	var heldWould string // the reason the held items' remediation would give
	if len(remediate) > 0 {
		var a iamprune.Action
		if d.f.Type == iamprune.UnusedIAMUserAccessKey {
			a = d.keyRemediation(remediate[0], note)
		} else {
			a = d.markDone(d.entry(d.rule.Action, remediate[0].target, remediate, d.remediateReason(remediate)+note))
		}
		refined := func(a iamprune.Action, items []item) iamprune.Action {
			if a.Kind == iamprune.KindRewritePolicy || a.Kind == iamprune.KindProposePolicy {
				return d.refinePolicies(a, items)
			}
			return a
		}
		// A change already made, or the deletion of a key iamprune itself
		// deactivated, was noticed before that first change.
		ready, h := remediate, []item(nil)
		if a.Done == nil && a.Kind != iamprune.KindDeleteAccessKey {
			ready, h = d.hold(remediate)
		}
		switch {
		case len(h) == 0:
			out = append(out, refined(a, remediate))
		case len(ready) > 0: // UnusedPermission: deny the noticed services only
			out = append(out, refined(d.entry(d.rule.Action, ready[0].target, ready, d.remediateReason(ready)+note), ready))
			heldWould = d.remediateReason(h) + note
		default:
			heldWould = a.Reason
		}
		held = h
	}
	switch {
	case len(held) > 0 && len(notify) == 0:
		out = append(out, d.entry(iamprune.KindNotify, held[0].target, held, heldWould+"; "+d.heldReason(held, len(held))))
	case len(held) > 0: // UnusedPermission: held services join the notice
		all := append(slices.Clone(notify), held...)
		slices.SortFunc(all, func(a, b item) int { return strings.Compare(a.service, b.service) })
		out = append(out, d.entry(iamprune.KindNotify, all[0].target, all, d.notifyReason(all)+note+"; "+d.heldReason(held, len(all))))
	case len(notify) > 0:
		out = append(out, d.entry(iamprune.KindNotify, notify[0].target, notify, d.notifyReason(notify)+note))
	}
	return out
}

// expiredNote tells a reviewer why an item they may remember as exempt is
// acted on again: the exception that covered it has expired.
func (d *decision) expiredNote() string {
	var notes []string
	for _, e := range d.in.Exceptions {
		if e.Expired(d.now) && e.CoversPrincipal(d.f.Resource, d.f.Type) {
			notes = append(notes, fmt.Sprintf("; exception %s (%s) expired on %s", e.Principal, location(e), expiry(e)))
		}
	}
	return strings.Join(notes, "")
}

// split separates items past remediate_after_days from those still within
// tolerance. With a notify-only rule everything is only notified.
func (d *decision) split(items []item) (remediate, notify []item) {
	for _, it := range items {
		if it.days >= d.rule.RemediateAfterDays && d.rule.Action != iamprune.KindNotifyOnly {
			remediate = append(remediate, it)
		} else {
			notify = append(notify, it)
		}
	}
	return remediate, notify
}

func principalKind(t iamprune.FindingType) iamprune.PrincipalKind {
	switch t {
	case iamprune.UnusedIAMUserAccessKey, iamprune.UnusedIAMUserPassword:
		return iamprune.KindUser
	case iamprune.UnusedIAMRole:
		return iamprune.KindRole
	}
	return "" // UnusedPermission: users and roles alike
}

// actionID is stable for the same situation, so that state, notices and
// suppressions can key on it across runs.
func actionID(a iamprune.Action) string {
	sum := sha256.Sum256([]byte(a.Account + "|" + a.Principal + "|" + string(a.FindingType) + "|" + string(a.Kind) + "|" + a.Target + "|" + a.FindingID))
	return hex.EncodeToString(sum[:])[:16]
}
