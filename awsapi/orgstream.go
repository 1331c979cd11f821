package awsapi

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/iamprune/iamprune"
)

// FactStream is the facts of an organisation for a run that reads its
// findings a chunk at a time (FindingSource.EachChunk): one iamprune.Facts
// that grows, before each chunk is decided, with what that chunk's
// findings need. Once every chunk was added, it holds what OrgFacts.Facts
// gives for all the findings, with the same calls, each made once: each
// account's Facts keeps what it read, and only what is new is copied.
//
// A member account that cannot be reached is listed in Unreachable on its
// first finding, as OrgFacts.Facts lists it, and never read again. One
// that fails only later (a key listing refused) is listed then: the
// findings of its earlier chunks were decided with what was read. A
// user's keys and login profile are read for the first chunk that needs
// them, so the credential report must be as recent as that chunk's
// findings about the user, not as all of them (needs): a later finding
// about the user updated after the report does not read them again.
type FactStream struct {
	org      *OrgFacts
	facts    *iamprune.Facts
	homeRead bool
	read     map[string]bool // member accounts read in full
}

// Stream starts the facts of a streamed run with the home caller only:
// the home account is read with the first chunk, or by Finish when none
// came, so that a run whose listing fails reads nothing more than one
// whose findings are read first.
func (o *OrgFacts) Stream(ctx context.Context) (*FactStream, error) {
	home := o.accounts.home
	hf, err := o.For(ctx, home)
	if err != nil {
		return nil, err
	}
	f, err := hf.identity(ctx)
	if err != nil {
		return nil, fmt.Errorf("home account %s: %w", home, err)
	}
	return &FactStream{org: o, facts: f, read: map[string]bool{}}, nil
}

// Facts returns the facts read so far; Add and Finish grow them in place.
func (g *FactStream) Facts() *iamprune.Facts { return g.facts }

// Finish reads the home account if no chunk did: OrgFacts.Facts always
// reads it.
func (g *FactStream) Finish(ctx context.Context) error {
	if g.homeRead {
		return nil
	}
	return g.Add(ctx, nil)
}

// Add reads what findings need that earlier chunks did not: in the home
// account and in members read before, only that; the home account on the
// first call and a member met for the first time are read in full.
// Members are read in parallel, as OrgFacts.Facts reads them.
func (g *FactStream) Add(ctx context.Context, findings []iamprune.Finding) error {
	o, home := g.org, g.org.accounts.home
	byAccount := groupByAccount(home, findings)
	hf, err := o.For(ctx, home)
	if err != nil {
		return err
	}
	var more *iamprune.Facts
	switch fs := byAccount[home]; {
	case !g.homeRead:
		more, err = hf.Facts(ctx, fs)
	case len(fs) > 0:
		more, err = hf.more(ctx, fs)
	}
	if err != nil {
		return fmt.Errorf("home account %s: %w", home, err)
	}
	if more != nil {
		g.homeRead = true
		merge(g.facts, more)
	}
	members := slices.Sorted(maps.Keys(byAccount))
	members = slices.DeleteFunc(members, func(a string) bool { return a == home || g.facts.Unreachable[a] != "" })
	got := make([]*iamprune.Facts, len(members))
	reasons := make([]string, len(members))
	err = forEach(ctx, len(members), o.accountWorkers, func(ctx context.Context, i int) error {
		acct, fs := members[i], byAccount[members[i]]
		if !g.read[acct] {
			got[i], reasons[i] = o.member(ctx, acct, fs)
			return ctx.Err()
		}
		f, err := o.For(ctx, acct) // kept since its first read
		if err == nil {
			got[i], err = f.more(ctx, fs)
		}
		if err != nil {
			reasons[i] = fmt.Sprintf("cannot read IAM of account %s through role %s: %v", acct, o.accounts.RoleARN(acct), err)
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	for i, acct := range members {
		if got[i] == nil {
			if g.facts.Unreachable == nil {
				g.facts.Unreachable = map[string]string{}
			}
			g.facts.Unreachable[acct] = reasons[i]
			continue
		}
		g.read[acct] = true
		merge(g.facts, got[i])
	}
	return nil
}
