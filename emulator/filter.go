package emulator

import (
	"slices"
	"strings"

	"github.com/iamprune/iamprune/snapshot"
)

// Criterion is one Access Analyzer filter criterion, as ListFindingsV2
// filters and archive rules carry it on the wire. A finding matches when
// its attribute equals one of Eq, none of Neq, contains one of Contains,
// and is present (non-empty) exactly when Exists says so; absent members
// do not constrain.
type Criterion struct {
	Eq       []string `json:"eq,omitempty"`
	Neq      []string `json:"neq,omitempty"`
	Contains []string `json:"contains,omitempty"`
	Exists   *bool    `json:"exists,omitempty"`
}

// maxCriterionValues is the model's bound on each of eq, neq and contains.
const maxCriterionValues = 20

// findingFields are the attributes a filter or sort may name.
var findingFields = map[string]func(*snapshot.Finding) string{
	"id":                   func(f *snapshot.Finding) string { return f.Id },
	"status":               func(f *snapshot.Finding) string { return f.Status },
	"findingType":          func(f *snapshot.Finding) string { return f.FindingType },
	"resource":             func(f *snapshot.Finding) string { return f.Resource },
	"resourceType":         func(f *snapshot.Finding) string { return f.ResourceType },
	"resourceOwnerAccount": func(f *snapshot.Finding) string { return f.ResourceOwnerAccount },
}

func (c Criterion) match(v string) bool {
	if c.Eq != nil && !slices.Contains(c.Eq, v) {
		return false
	}
	if c.Neq != nil && slices.Contains(c.Neq, v) {
		return false
	}
	if c.Contains != nil && !slices.ContainsFunc(c.Contains, func(sub string) bool { return strings.Contains(v, sub) }) {
		return false
	}
	if c.Exists != nil && (v != "") != *c.Exists {
		return false
	}
	return true
}

// validateFilter checks a filter as Access Analyzer does: known keys only,
// and each value list of 1 to 20 entries. A criterion that constrains
// nothing is rejected too, so that a typo cannot turn an archive rule into
// one that matches every finding.
func validateFilter(filter map[string]Criterion) *apiError {
	for _, k := range sortedKeys(filter) {
		if findingFields[k] == nil {
			return validationException("filter key %q is not supported (want one of %v)", k, sortedKeys(findingFields))
		}
		c := filter[k]
		if c.Eq == nil && c.Neq == nil && c.Contains == nil && c.Exists == nil {
			return validationException("filter criterion %q must set eq, neq, contains or exists", k)
		}
		for _, l := range []struct {
			name string
			vals []string
		}{{"eq", c.Eq}, {"neq", c.Neq}, {"contains", c.Contains}} {
			if l.vals != nil && (len(l.vals) < 1 || len(l.vals) > maxCriterionValues) {
				return validationException("1 validation error detected: Value at 'filter.%s.member.%s' failed to satisfy constraint: Member must have length between 1 and %d, got %d",
					k, l.name, maxCriterionValues, len(l.vals))
			}
		}
	}
	return nil
}

// matchFilter reports whether f satisfies every criterion of a validated
// filter; an empty filter matches everything.
func matchFilter(filter map[string]Criterion, f *snapshot.Finding) bool {
	for k, c := range filter {
		if !c.match(findingFields[k](f)) {
			return false
		}
	}
	return true
}

func cloneFilter(filter map[string]Criterion) map[string]Criterion {
	out := make(map[string]Criterion, len(filter))
	for k, c := range filter {
		out[k] = Criterion{Eq: slices.Clone(c.Eq), Neq: slices.Clone(c.Neq), Contains: slices.Clone(c.Contains), Exists: clonePtr(c.Exists)}
	}
	return out
}
