package notify

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/iamprune/iamprune"
)

// builder collects one route's digest.
type builder struct {
	d          Delivery
	principals map[string]*iamprune.DigestPrincipal
	owners     map[string]bool
}

func newBuilder(facts *iamprune.Facts, n iamprune.Notifications, idx int) *builder {
	b := &builder{principals: map[string]*iamprune.DigestPrincipal{}, owners: map[string]bool{}}
	b.d.Digest = iamprune.Digest{Route: DefaultRoute, ExceptionRequestURL: n.ExceptionRequestURL}
	b.d.Channels = n.Default
	if idx >= 0 {
		b.d.Digest.Route = n.Routes[idx].Owner
		b.d.Channels = n.Routes[idx].Channels
	}
	b.d.Channels = slices.Clone(b.d.Channels)
	if facts != nil {
		b.d.Digest.Account = facts.Account
	}
	return b
}

func (b *builder) add(p Pending, owner string) {
	a := p.Action
	dg := &b.d.Digest
	if dg.Account == "" {
		dg.Account = a.Account
	}
	if p.At.After(dg.GeneratedAt) {
		dg.GeneratedAt = p.At.UTC()
	}
	dp := b.principals[a.Principal]
	if dp == nil {
		dp = &iamprune.DigestPrincipal{ARN: a.Principal, Owner: owner}
		b.principals[a.Principal] = dp
	}
	b.owners[owner] = true
	item := iamprune.DigestItem{
		ActionID:    a.ID,
		FindingType: a.FindingType,
		Kind:        a.Kind,
		Target:      a.Target,
		Services:    slices.Clone(a.Services),
		UnusedDays:  a.UnusedDays,
		RemediateOn: a.RemediateOn,
		Reason:      a.Reason,
		Notice:      p.Notice,
	}
	if !p.At.IsZero() { // the expiry counts from it
		item.ExceptionYAML = ExceptionYAML(a, owner, p.At)
	}
	if item.Services == nil {
		item.Services = []string{}
	}
	if p.DoneRunID != "" {
		item.DoneRunID = p.DoneRunID
		item.RollbackCommand = RollbackCommand(p.DoneRunID, a.ID)
	}
	dp.Items = append(dp.Items, item)
	for _, k := range p.Keys {
		b.d.Notices = append(b.d.Notices, Notice{ItemKey: k, ActionID: a.ID, Principal: a.Principal, Owner: owner, Fingerprint: p.Fingerprint})
	}
}

// mail adds an owner's address to an email channel's extra recipients.
func (b *builder) mail(channel, addr string) {
	if b.d.To == nil {
		b.d.To = map[string][]string{}
	}
	if !slices.Contains(b.d.To[channel], addr) {
		b.d.To[channel] = append(b.d.To[channel], addr)
	}
}

// delivery returns the digest with principals and items in a stable order.
func (b *builder) delivery() Delivery {
	d := b.d
	for _, dp := range b.principals {
		slices.SortFunc(dp.Items, func(x, y iamprune.DigestItem) int {
			return cmp.Or(cmp.Compare(x.FindingType, y.FindingType), cmp.Compare(x.Target, y.Target),
				cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.ActionID, y.ActionID))
		})
		d.Digest.Principals = append(d.Digest.Principals, *dp)
	}
	slices.SortFunc(d.Digest.Principals, func(x, y iamprune.DigestPrincipal) int { return cmp.Compare(x.ARN, y.ARN) })
	if len(b.owners) == 1 {
		for o := range b.owners {
			d.Digest.Owner = o
		}
	}
	for _, to := range d.To {
		slices.Sort(to)
	}
	return d
}

// RollbackCommand is the command that undoes one change of a run.
func RollbackCommand(runID, actionID string) string {
	return fmt.Sprintf("iamprune rollback %s --action %s --yes", runID, actionID)
}

// DoneDigest returns the deliveries telling owners about the changes run
// res made (results with status done), routed like notices, each item with
// the exact command that undoes it. plan is the plan the run applied; a
// result whose action it lacks is described from the result alone.
func DoneDigest(res *iamprune.RunResult, plan *iamprune.Plan, facts *iamprune.Facts, n iamprune.Notifications) []Delivery {
	if res == nil {
		return nil
	}
	byID := map[string]iamprune.Action{}
	var at time.Time
	if plan != nil {
		at = plan.GeneratedAt
		for _, a := range plan.Actions {
			byID[a.ID] = a
		}
	}
	var pending []Pending
	for _, r := range res.Results {
		if r.Status != iamprune.ResultDone {
			continue
		}
		a, ok := byID[r.ActionID]
		if !ok {
			a = iamprune.Action{ID: r.ActionID, Principal: r.Principal, Kind: r.Kind, Target: r.Target, Services: []string{}, Reason: r.Detail}
		}
		pending = append(pending, Pending{Action: a, Keys: iamprune.ItemKeys(a), Notice: NoticeDone, Fingerprint: Fingerprint(a), At: at, DoneRunID: res.RunID})
	}
	return Route(pending, facts, n)
}

// ErrorDigest returns the delivery of run errors and circuit-breaker stops
// (a blast-radius refusal, a stale plan) to the default route, or nil when
// there is nothing to report.
func ErrorDigest(errs []string, n iamprune.Notifications) *Delivery {
	if len(errs) == 0 {
		return nil
	}
	return &Delivery{
		Digest:   iamprune.Digest{Route: DefaultRoute, Errors: slices.Clone(errs), ExceptionRequestURL: n.ExceptionRequestURL},
		Channels: slices.Clone(n.Default),
	}
}
