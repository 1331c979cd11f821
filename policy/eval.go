package policy

import (
	"slices"
)

// Allowed answers an action-level question: may a principal with the
// identity policies docs call action on some resource? An explicit Deny
// wins over any Allow, and without an Allow the answer is no.
//
// It is an approximation meant for tests and property checks, which use
// Resource "*" policies:
//   - an Allow counts when its Action or NotAction covers the action,
//     whatever its resources and conditions ("may allow");
//   - a Deny counts only when it surely applies: its Resource includes "*",
//     it has no NotResource and no Condition. A narrower Deny may or may not
//     apply, so it does not count;
//   - principals are ignored (identity policies have none).
func Allowed(docs []Document, action string) bool {
	allowed := false
	for _, d := range docs {
		for _, s := range d.Statement {
			if !s.MatchesAction(action) {
				continue
			}
			switch s.Effect {
			case Deny:
				if s.deniesEverywhere() {
					return false
				}
			case Allow:
				allowed = true
			}
		}
	}
	return allowed
}

// deniesEverywhere reports whether a Deny applies to every resource in every
// request context.
func (s Statement) deniesEverywhere() bool {
	return s.Condition == nil && !s.NotResource.Set() && slices.Contains(s.Resource.Values, "*")
}
