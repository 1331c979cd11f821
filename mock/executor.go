// Package mock holds function-field mocks of the root interfaces, and an
// in-memory Store, for tests of the packages that use them.
//
// It is test support: it imports only the root, and only tests import it.
package mock

import (
	"context"
	"encoding/json"

	"github.com/iamprune/iamprune"
)

var _ iamprune.Executor = (*Executor)(nil)

// Executor is an iamprune.Executor whose methods call its fields.
type Executor struct {
	KindFn     func() iamprune.ActionKind
	InspectFn  func(ctx context.Context, a iamprune.Action) (iamprune.Inspection, error)
	ApplyFn    func(ctx context.Context, a iamprune.Action, pre iamprune.Inspection) (json.RawMessage, error)
	RollbackFn func(ctx context.Context, rec iamprune.ActionRecord) (iamprune.RollbackOutcome, error)
}

func (e *Executor) Kind() iamprune.ActionKind { return e.KindFn() }

func (e *Executor) Inspect(ctx context.Context, a iamprune.Action) (iamprune.Inspection, error) {
	return e.InspectFn(ctx, a)
}

func (e *Executor) Apply(ctx context.Context, a iamprune.Action, pre iamprune.Inspection) (json.RawMessage, error) {
	return e.ApplyFn(ctx, a, pre)
}

func (e *Executor) Rollback(ctx context.Context, rec iamprune.ActionRecord) (iamprune.RollbackOutcome, error) {
	return e.RollbackFn(ctx, rec)
}

var _ iamprune.FindingGetter = (*FindingGetter)(nil)

// FindingGetter is an iamprune.FindingGetter whose method calls FindingFn.
type FindingGetter struct {
	FindingFn func(ctx context.Context, id string) (*iamprune.Finding, error)
}

func (g *FindingGetter) Finding(ctx context.Context, id string) (*iamprune.Finding, error) {
	return g.FindingFn(ctx, id)
}
