package apply

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// check is what the pre-pass found out about one action before any change.
type check struct {
	action   iamprune.Action // services narrowed by exceptions added since the plan
	executor iamprune.Executor
	pre      iamprune.Inspection
	// status is the final result when nothing is to be changed (skipped,
	// already-done, failed), "" when the action is a change to make.
	status, detail string
	// note qualifies a change: the services exceptions took out of it.
	note string
	// stale says why a saved plan no longer holds for this action.
	stale string
}

func (c *check) finish(status, detail string) *check {
	c.status, c.detail = status, detail
	return c
}

// prepass reads the live state of every action once, before any change, so
// that the run can be refused as a whole (stale plan, blast radius) and
// nothing is read twice: findings are cached by id across actions.
func prepass(ctx context.Context, actions []iamprune.Action, o Options) []*check {
	p := &prepasser{o: o, now: o.now(), findings: map[string]findingRead{}, made: map[string]*iamprune.Made{}, held: map[string][]iamprune.Hold{}}
	checks := make([]*check, len(actions))
	for i, a := range actions {
		checks[i] = p.check(ctx, a)
	}
	return checks
}

type prepasser struct {
	o        Options
	now      time.Time
	findings map[string]findingRead
	made     map[string]*iamprune.Made // each account's journal changes, read once when a delete needs them
	held     map[string][]iamprune.Hold
}

type findingRead struct {
	f   *iamprune.Finding
	err error
}

func (p *prepasser) check(ctx context.Context, a iamprune.Action) *check {
	c := &check{action: a}
	if a.Done != nil {
		return c.finish(iamprune.ResultAlreadyDone, fmt.Sprintf("already done by run %s on %s", a.Done.RunID, a.Done.At.UTC().Format(time.DateOnly)))
	}
	// No read is needed to refuse a protected principal, so it is checked
	// first and never reaches an executor, whatever a plan file says.
	if why := p.o.Protection.Check(a.Principal, ""); why != "" {
		return c.finish(iamprune.ResultSkipped, "protected: "+why)
	}
	if a.Kind == iamprune.KindDeleteAccessKey {
		if why, err := p.deletable(ctx, a.Account, a.Target); err != nil {
			return c.finish(iamprune.ResultFailed, err.Error())
		} else if why != "" {
			return c.finish(iamprune.ResultSkipped, why)
		}
	}
	a, why, note := exempt(a, p.o.Exceptions, p.now)
	c.action, c.note = a, note
	if why != "" {
		return c.finish(iamprune.ResultSkipped, why)
	}
	// A hold set by a rollback since the plan was made: the item must not
	// be remediated again until it ends.
	holds, err := p.holds(ctx, a.Account)
	if err != nil {
		return c.finish(iamprune.ResultFailed, err.Error())
	}
	a, why, note = held(a, holds, p.now)
	c.action, c.note = a, c.note+note
	if why != "" {
		return c.finish(iamprune.ResultSkipped, why)
	}
	if why := narrowsOnly(a); why != "" {
		if p.o.Saved {
			c.stale = why // a tampered plan file: refuse all of it
		}
		return c.finish(iamprune.ResultFailed, why)
	}
	var f *iamprune.Finding
	if p.o.Findings != nil {
		var status, why string
		if f, status, why = p.finding(ctx, a); f == nil {
			return c.finish(status, why)
		}
	}
	ex, err := p.o.executor(ctx, a.Account, a.Kind)
	if err != nil {
		return c.finish(iamprune.ResultFailed, err.Error())
	}
	c.executor = ex
	in, err := ex.Inspect(ctx, a)
	if err != nil {
		return c.finish(iamprune.ResultFailed, fmt.Sprintf("cannot read the live state: %v", err))
	}
	c.pre = in
	if in.AlreadyDone {
		return c.finish(iamprune.ResultAlreadyDone, "already in the planned state")
	}
	// A saved plan is checked before the executor's own skip reasons: a
	// credential used since the plan makes the whole plan stale, not just
	// this action.
	if p.o.Saved {
		c.stale = stale(a, f, in)
	}
	if in.Skip != "" {
		return c.finish(iamprune.ResultSkipped, in.Skip)
	}
	return c
}

// holds returns the account's holds, read once.
func (p *prepasser) holds(ctx context.Context, account string) ([]iamprune.Hold, error) {
	account = cmp.Or(account, p.o.Account)
	if hs, ok := p.held[account]; ok {
		return hs, nil
	}
	hs, err := p.o.Store.Holds(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("cannot read the holds of account %s: %w", account, err)
	}
	p.held[account] = hs
	return hs, nil
}

// deletable says why a key must not be deleted, or "": iamprune deletes only
// a key its own journal shows it deactivated at least KeyDeleteAfterDays
// ago, whatever a plan file says (the executor also refuses an active key
// and one used since).
func (p *prepasser) deletable(ctx context.Context, account, key string) (string, error) {
	if p.o.KeyDeleteAfterDays <= 0 {
		return "deleting access keys is disabled (rules.UnusedIAMUserAccessKey.delete_after_days is 0)", nil
	}
	account = cmp.Or(account, p.o.Account)
	if p.made[account] == nil {
		m, err := iamprune.Changes(ctx, p.o.Store, account)
		if err != nil {
			return "", err
		}
		p.made[account] = &m
	}
	ref, ok := p.made[account].Deactivated[key]
	if !ok {
		return fmt.Sprintf("access key %s was not deactivated by iamprune; it deletes only keys it deactivated itself", key), nil
	}
	due := ref.At.Add(time.Duration(p.o.KeyDeleteAfterDays) * 24 * time.Hour)
	if p.now.Before(due) {
		return fmt.Sprintf("access key %s was deactivated by run %s on %s; it may be deleted from %s", key, ref.RunID,
			ref.At.UTC().Format(time.DateOnly), due.UTC().Format(time.DateOnly)), nil
	}
	return "", nil
}

// finding re-reads the action's finding once per id and returns it when
// it still calls for the action, else nil with the result and why.
func (p *prepasser) finding(ctx context.Context, a iamprune.Action) (*iamprune.Finding, string, string) {
	skip := iamprune.ResultSkipped
	if a.FindingID == "" {
		return nil, skip, "the action names no finding to re-check"
	}
	r, ok := p.findings[a.FindingID]
	if !ok {
		r.f, r.err = p.o.Findings.Finding(ctx, a.FindingID)
		p.findings[a.FindingID] = r
	}
	switch {
	case iamprune.ErrorCode(r.err) == iamprune.ENOTFOUND:
		return nil, skip, fmt.Sprintf("finding %s no longer exists", a.FindingID)
	case r.err != nil:
		return nil, iamprune.ResultFailed, fmt.Sprintf("cannot re-read finding %s: %v", a.FindingID, r.err)
	case r.f.Status != iamprune.StatusActive:
		return nil, skip, fmt.Sprintf("finding is now %s", r.f.Status)
	case r.f.Resource != "" && r.f.Resource != a.Principal:
		// Only an edited plan pairs a finding with another principal.
		return nil, skip, fmt.Sprintf("finding %s is about %s, not %s", a.FindingID, r.f.Resource, a.Principal)
	case r.f.Type != "" && a.FindingType != "" && r.f.Type != a.FindingType:
		return nil, skip, fmt.Sprintf("finding %s is %s, not %s", a.FindingID, r.f.Type, a.FindingType)
	}
	return r.f, "", ""
}

// exempt applies the exceptions in force now. For deny-unused-services an
// exception limited to services takes those services out of the action,
// which is skipped only when none remain (why), else noted (note); any
// other action is skipped by any exception covering its principal and
// finding type.
func exempt(a iamprune.Action, excs []iamprune.Exception, now time.Time) (_ iamprune.Action, why, note string) {
	match := iamprune.MatchExceptions(excs, a.Principal, a.FindingType, now)
	if len(match) == 0 {
		return a, "", ""
	}
	if a.FindingType != iamprune.UnusedPermission {
		return a, exemptReason(match[0], nil), ""
	}
	var keep, dropped []string
	var by *iamprune.Exception
	for _, s := range a.Services {
		covered := false
		for i := range match {
			if match[i].CoversService(s) {
				covered = true
				if by == nil {
					by = &match[i]
				}
				break
			}
		}
		if covered {
			dropped = append(dropped, s)
		} else {
			keep = append(keep, s)
		}
	}
	if len(dropped) == 0 {
		return a, "", ""
	}
	if len(keep) == 0 {
		return a, exemptReason(*by, dropped), ""
	}
	if a.Kind != iamprune.KindDenyUnusedServices {
		// A rewrite's documents were refined without these services: they
		// cannot be narrowed here, so the whole rewrite waits for a plan.
		return a, exemptReason(*by, dropped) + "; plan again to rewrite the rest", ""
	}
	a.Services = keep
	return a, "", "; not " + strings.Join(dropped, ", ") + ": " + exemptReason(*by, nil)
}

func exemptReason(e iamprune.Exception, services []string) string {
	s := "exempt by exception " + e.Principal
	if len(services) > 0 {
		s += " for " + strings.Join(services, ", ")
	}
	if e.File != "" {
		s += fmt.Sprintf(" (%s:%d)", e.File, e.Line)
	}
	return s
}

// stale says why a saved plan no longer holds for an action it would
// change: the finding was updated, or the credential was used, since the
// plan was made. A plan without a basis cannot be checked and is stale.
func stale(a iamprune.Action, f *iamprune.Finding, in iamprune.Inspection) string {
	b := a.Basis
	if b == nil {
		return "the plan records no basis to check it against"
	}
	if f != nil && (b.FindingUpdatedAt == nil || !sec(f.UpdatedAt).Equal(sec(*b.FindingUpdatedAt))) {
		return fmt.Sprintf("finding %s was updated at %s (the plan saw %s)", f.ID, stamp(&f.UpdatedAt), stamp(b.FindingUpdatedAt))
	}
	// A principal's last use says nothing about one unused service, so
	// only credential kinds compare it.
	if a.FindingType != iamprune.UnusedPermission && in.LastUsed != nil &&
		(b.LastUsed == nil || sec(*in.LastUsed).After(sec(*b.LastUsed))) {
		return fmt.Sprintf("the credential was used at %s (the plan saw %s)", stamp(in.LastUsed), stampOr(b.LastUsed, "never used"))
	}
	return ""
}

// staleReason refuses a saved plan when any action it would change is
// stale, listing them all.
func staleReason(checks []*check) string {
	var lines []string
	for _, c := range checks {
		if c.stale != "" {
			lines = append(lines, fmt.Sprintf("action %s (%s %s): %s", c.action.ID, c.action.Kind, c.action.Target, c.stale))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "saved plan is stale: " + strings.Join(lines, "; ") + "; run iamprune plan again"
}

// IAM reports whole seconds while the analyzer may carry fractions.
func sec(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func stamp(t *time.Time) string { return stampOr(t, "none") }

func stampOr(t *time.Time, none string) string {
	if t == nil || t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// narrowsOnly refuses a policy rewrite whose new documents are not a
// narrowing of the old ones to the entry's services, whatever the plan
// file says: the executor then checks that the old ones are what is live.
func narrowsOnly(a iamprune.Action) string {
	if a.Kind != iamprune.KindRewritePolicy {
		return ""
	}
	if len(a.Policies) == 0 {
		return "refused: the plan names no policy to rewrite; plan again"
	}
	for _, pc := range a.Policies {
		if err := policy.Narrows(pc.Before, pc.After, a.Services); err != nil {
			return fmt.Sprintf("refused: the plan's new document for policy %s is not its old one narrowed to %s: %v", pc.Name, strings.Join(a.Services, ", "), err)
		}
	}
	return ""
}
