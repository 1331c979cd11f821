package exceptions

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// EntryCoverage is what one exception covers in an account.
type EntryCoverage struct {
	Exception iamprune.Exception `json:"-"`
	// Principals are the existing principals the pattern matches.
	Principals []string `json:"principals"`
	// Findings are the findings the entry exempts, whatever their status
	// (a finding archived by the entry's archive rule is still covered).
	Findings []CoveredFinding `json:"findings"`
	// Expired is set when the entry no longer applies; what it would cover
	// is still listed.
	Expired bool `json:"expired"`
}

// CoveredFinding is one finding an exception covers.
type CoveredFinding struct {
	ID       string                 `json:"id"`
	Type     iamprune.FindingType   `json:"type"`
	Status   iamprune.FindingStatus `json:"status"`
	Resource string                 `json:"resource"`
	// Services are, for an UnusedPermission finding and a service-limited
	// entry, the finding's services the entry exempts.
	Services []string `json:"services,omitempty"`
}

// Stale reports whether the entry matches no principal and no finding: it
// names something that no longer exists, or never did.
func (c EntryCoverage) Stale() bool { return len(c.Principals) == 0 && len(c.Findings) == 0 }

// Coverage computes, for each exception in order, the principals (ARNs, as
// from Facts.Principals) its pattern matches and the findings it exempts.
// A service-limited entry covers an UnusedPermission finding only for the
// finding's services it names, and not at all when it names none of them.
func Coverage(excs []iamprune.Exception, findings []iamprune.Finding, principals []string, now time.Time) []EntryCoverage {
	out := make([]EntryCoverage, len(excs))
	for i, e := range excs {
		c := EntryCoverage{Exception: e, Expired: e.Expired(now), Principals: []string{}, Findings: []CoveredFinding{}}
		for _, p := range principals {
			if iamprune.MatchGlob(e.Principal, p) {
				c.Principals = append(c.Principals, p)
			}
		}
		slices.Sort(c.Principals)
		for _, f := range findings {
			if cf, ok := covers(e, f); ok {
				c.Findings = append(c.Findings, cf)
			}
		}
		slices.SortFunc(c.Findings, func(a, b CoveredFinding) int {
			return cmp.Or(strings.Compare(a.Resource, b.Resource), strings.Compare(string(a.Type), string(b.Type)), strings.Compare(a.ID, b.ID))
		})
		out[i] = c
	}
	return out
}

func covers(e iamprune.Exception, f iamprune.Finding) (CoveredFinding, bool) {
	if !e.CoversPrincipal(f.Resource, f.Type) {
		return CoveredFinding{}, false
	}
	cf := CoveredFinding{ID: f.ID, Type: f.Type, Status: f.Status, Resource: f.Resource}
	if f.Type == iamprune.UnusedPermission && len(e.Services) > 0 && !slices.Contains(e.Services, "*") {
		for _, s := range f.Services {
			if e.CoversService(s.Namespace) {
				cf.Services = append(cf.Services, s.Namespace)
			}
		}
		if len(cf.Services) == 0 {
			return CoveredFinding{}, false
		}
	}
	return cf, true
}
