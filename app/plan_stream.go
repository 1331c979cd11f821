package app

import (
	"context"
	"log/slog"
	"maps"

	"github.com/iamprune/iamprune"
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
		p.Add(x)
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
	return &plan, f, nil
}

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
