package app

import (
	"context"
	"log/slog"
	"maps"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/decide"
)

// findingStream is a finding source that hands its findings over one at a
// time (a snapshot opened with snapshot.OpenDir), so that a plan holds its
// actions but never the whole input.
type findingStream interface {
	EachFinding(ctx context.Context, fn func(iamprune.Finding) error) ([]iamprune.Warning, error)
}

// reachFacts is a fact source whose facts do not depend on the findings
// but for the accounts they name, which it tells about one by one.
type reachFacts interface {
	iamprune.FactSource
	Unreachable(account string) string
}

// decideStream is Decide for a streaming source: the facts are read
// first, each finding is decided as it comes, and the journal and holds of
// an account are read when its first finding does. The plan is the one
// Decide makes of the same findings.
func decideStream(ctx context.Context, fs findingStream, facts reachFacts, in Inputs, store iamprune.Store, source string, log *slog.Logger) (*iamprune.Plan, *iamprune.Facts, error) {
	f, err := facts.Facts(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	if r, ok := facts.(interface{ ReleaseFacts() }); ok {
		r.ReleaseFacts()
	}
	notices, err := sentNotices(ctx, store, f.Account)
	if err != nil {
		return nil, nil, err
	}
	dec := decide.Input{Facts: f, Config: in.Config, Exceptions: in.Exceptions, Now: in.Now, Warnings: in.Warnings, Source: source, Notices: notices}
	if store != nil {
		dec.Done, dec.Deactivated = map[string]iamprune.DoneRef{}, map[string]iamprune.DoneRef{}
	}
	p := decide.NewPlanner(dec)
	seen := map[string]bool{}
	account := func(a string) error {
		if seen[a] {
			return nil
		}
		seen[a] = true
		if r := facts.Unreachable(a); r != "" {
			if f.Unreachable == nil {
				f.Unreachable = map[string]string{}
			}
			f.Unreachable[a] = r
		}
		done, deactivated, err := journalState(ctx, store, a)
		if err != nil {
			return err
		}
		maps.Copy(dec.Done, done)
		maps.Copy(dec.Deactivated, deactivated)
		holds, err := storedHolds(ctx, store, a)
		p.AddHolds(holds...)
		return err
	}
	if err := account(f.Account); err != nil {
		return nil, nil, err
	}
	keep, _ := fs.(keeper)
	shared := interner{}
	warnings, err := fs.EachFinding(ctx, func(x iamprune.Finding) error {
		if x.Account != "" {
			if err := account(x.Account); err != nil {
				return err
			}
		}
		// The plan's actions keep these strings: share one copy of each.
		x.Account, x.Type = shared.get(x.Account), iamprune.FindingType(shared.get(string(x.Type)))
		if pr := f.Principal(x.Resource); pr != nil {
			x.Resource = pr.ARN
		}
		if acts := p.Add(x); keep != nil && rechecked(acts) {
			keep.Keep(x)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, w := range warnings {
		logger(log).Warn(w.Message, "source", w.Source)
	}
	plan := p.Plan(warnings)
	plan.Config = in.ConfigPath
	settleAWSManaged(&plan, f)
	return &plan, f, nil
}

// keeper is a streaming source that can keep some of its findings for
// apply's re-checks (awsapi.FindingSource.Keep) instead of all of them.
type keeper interface {
	Keep(iamprune.Finding)
}

// rechecked reports whether apply re-reads the finding of actions: it
// does for a remediation not done yet (apply.prepass).
func rechecked(actions []iamprune.Action) bool {
	for _, a := range actions {
		if a.Kind.IsRemediation() && a.Done == nil {
			return true
		}
	}
	return false
}

// settleAWSManaged gives every AWS-managed policy change the attachment
// count of the facts as they ended: facts that grew with the findings
// (an organisation's, read a chunk at a time) may have learnt a larger
// count in an account read after the change was decided, and the count
// changes nothing else in the decision (an AWS-managed policy is always
// copied, never changed in place).
func settleAWSManaged(plan *iamprune.Plan, f *iamprune.Facts) {
	for i := range plan.Actions {
		for j := range plan.Actions[i].Policies {
			c := &plan.Actions[i].Policies[j]
			if mp := f.ManagedPolicies[c.Policy]; c.Type == iamprune.PolicyAWSManaged && mp != nil {
				c.AttachmentCount = mp.AttachmentCount
			}
		}
	}
}

// DecideAnalyzer is Decide for an analyzer's findings and the facts of an
// organisation, streamed: findings are read a chunk at a time
// (awsapi.FindingSource.EachChunk), the facts a chunk needs are read just
// before it is decided, and only the findings apply will re-check stay
// in the source's cache. Memory holds the plan and the facts, never all
// the findings; the plan is the one Decide makes, with the same calls.
func DecideAnalyzer(ctx context.Context, src *awsapi.FindingSource, org *awsapi.OrgFacts, in Inputs, store iamprune.Store, source string, log *slog.Logger) (*iamprune.Plan, *iamprune.Facts, error) {
	facts, err := org.Stream(ctx)
	if err != nil {
		return nil, nil, err
	}
	s := apiStream{src: src, facts: facts}
	return decideStream(ctx, s, s, in, store, source, log)
}

// apiStream is an analyzer's findings with the growing facts of their
// accounts, for decideStream.
type apiStream struct {
	src   *awsapi.FindingSource
	facts *awsapi.FactStream
}

func (s apiStream) EachFinding(ctx context.Context, fn func(iamprune.Finding) error) ([]iamprune.Warning, error) {
	warnings, err := s.src.EachChunk(ctx, func(chunk []iamprune.Finding) error {
		if err := s.facts.Add(ctx, chunk); err != nil {
			return err
		}
		for _, x := range chunk {
			if err := fn(x); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return warnings, s.facts.Finish(ctx)
}

// Facts returns the facts, which grow as EachFinding proceeds.
func (s apiStream) Facts(context.Context, []iamprune.Finding) (*iamprune.Facts, error) {
	return s.facts.Facts(), nil
}

// Unreachable is known once the account's first chunk was read.
func (s apiStream) Unreachable(account string) string { return s.facts.Facts().Unreachable[account] }

func (s apiStream) Keep(f iamprune.Finding) { s.src.Keep(f) }

// interner keeps one copy of each of a few strings that recur in every
// finding (accounts, finding types).
type interner map[string]string

func (in interner) get(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	in[s] = s
	return s
}
