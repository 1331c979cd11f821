// Package archive turns approved exceptions into IAM Access Analyzer archive
// rules and reconciles them with the rules an analyzer has. It does no I/O:
// the awsapi package reads and writes the rules, the CLI wires the two.
//
// Rules are recognised as iamprune's by their name (Prefix); any other rule
// is someone else's and is never modified or deleted.
//
// It imports only the root; awsapi, app and cmd import it.
package archive

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// Prefix starts the name of every rule iamprune manages.
const Prefix = "iamprune-"

// Access Analyzer quotas: values per filter criterion (fixed) and archive
// rules per analyzer (the default; raisable through AWS support).
const (
	MaxValues       = 20
	DefaultMaxRules = 100
)

// Filter keys of unused-access findings that iamprune's rules use.
const (
	KeyResource    = "resource"
	KeyFindingType = "findingType"
)

// Criterion is one archive-rule filter criterion, as Access Analyzer has it:
// every operator given must hold.
type Criterion struct {
	Eq       []string `json:"eq,omitempty"`
	Neq      []string `json:"neq,omitempty"`
	Contains []string `json:"contains,omitempty"`
	Exists   *bool    `json:"exists,omitempty"`
}

// Rule is an archive rule: a finding that matches every criterion of the
// filter is archived.
type Rule struct {
	Name   string               `json:"name"`
	Filter map[string]Criterion `json:"filter"`
}

// Ours reports whether the rule is one iamprune manages.
func (r Rule) Ours() bool { return strings.HasPrefix(r.Name, Prefix) }

// Finding is what reconciliation needs of an analyzer finding.
type Finding struct {
	ID       string `json:"id"`
	Resource string `json:"resource"`
	Type     string `json:"finding_type"`
}

// typeSet is a set of finding types, one bit per iamprune.FindingTypes entry.
type typeSet uint8

var allTypes = typeSet(1<<len(iamprune.FindingTypes) - 1)

func typeBit(t iamprune.FindingType) typeSet {
	if i := slices.Index(iamprune.FindingTypes, t); i >= 0 {
		return 1 << i
	}
	return 0
}

// setOf returns the types an exception names; none named means all.
func setOf(ts []iamprune.FindingType) typeSet {
	if len(ts) == 0 {
		return allTypes
	}
	var s typeSet
	for _, t := range ts {
		s |= typeBit(t)
	}
	return s
}

func (s typeSet) types() []string {
	var out []string
	for i, t := range iamprune.FindingTypes {
		if s&(1<<i) != 0 {
			out = append(out, string(t))
		}
	}
	return out
}

// name is the rule-name part of the group: "all", or the types in
// iamprune.FindingTypes order joined by "." (letters and dots only, as rule
// names allow).
func (s typeSet) name() string {
	if s == allTypes {
		return "all"
	}
	return strings.Join(s.types(), ".")
}

// Desired returns the archive rules that express the unexpired exceptions
// exactly, at now:
//   - an exact ARN is an eq on resource, plus an eq on findingType when the
//     exception is limited to types;
//   - a glob is resolved against principals, the user and role ARNs known at
//     sync time;
//   - an UnusedPermission exception limited to services cannot be a rule (it
//     would archive the whole finding, every service included): it is left
//     to decision time and reported in notes, as are expired entries and
//     globs that match nobody.
//
// A principal covered by several exceptions gets the union of their types.
// Principals are grouped by that type set and packed, sorted, MaxValues to a
// rule named Prefix+GROUP+"-"+N: names depend only on the group and the
// position, so adding a principal updates rules instead of replacing them.
// More than maxRules rules (0 means DefaultMaxRules) is an EINVALID error.
func Desired(excs []iamprune.Exception, principals []string, now time.Time, maxRules int) ([]Rule, []string, error) {
	if maxRules <= 0 {
		maxRules = DefaultMaxRules
	}
	known := slices.Clone(principals)
	slices.Sort(known)
	known = slices.Compact(known)

	cover := map[string]typeSet{}
	var notes []string
	for _, e := range excs {
		where := locate(e)
		if e.Expired(now) {
			notes = append(notes, fmt.Sprintf("%s: expired on %s; no archive rule (its findings are no longer archived)", where, e.Expires.UTC().Format(time.DateOnly)))
			continue
		}
		set := setOf(e.FindingTypes)
		if set&typeBit(iamprune.UnusedPermission) != 0 && serviceLimited(e) {
			set &^= typeBit(iamprune.UnusedPermission)
			notes = append(notes, fmt.Sprintf("%s: %s limited to services %s cannot be an archive rule (it would archive the whole finding); honoured at decision time only",
				where, iamprune.UnusedPermission, strings.Join(e.Services, ", ")))
		}
		if set == 0 {
			continue
		}
		arns := []string{e.Principal}
		if strings.ContainsAny(e.Principal, "*?") {
			arns = nil
			for _, p := range known {
				if iamprune.MatchGlob(e.Principal, p) {
					arns = append(arns, p)
				}
			}
			if len(arns) == 0 {
				notes = append(notes, fmt.Sprintf("%s: matches no user or role at sync time; no archive rule", where))
			}
		}
		for _, a := range arns {
			cover[a] |= set
		}
	}

	groups := map[typeSet][]string{}
	for arn, set := range cover {
		groups[set] = append(groups[set], arn)
	}
	sets := make([]typeSet, 0, len(groups))
	for s := range groups {
		sets = append(sets, s)
	}
	slices.SortFunc(sets, func(a, b typeSet) int { return strings.Compare(a.name(), b.name()) })

	var rules []Rule
	for _, s := range sets {
		arns := groups[s]
		slices.Sort(arns)
		for i := 0; len(arns) > 0; i++ {
			n := min(MaxValues, len(arns))
			r := Rule{
				Name:   Prefix + s.name() + "-" + strconv.Itoa(i+1),
				Filter: map[string]Criterion{KeyResource: {Eq: slices.Clone(arns[:n])}},
			}
			if s != allTypes {
				r.Filter[KeyFindingType] = Criterion{Eq: s.types()}
			}
			rules = append(rules, r)
			arns = arns[n:]
		}
	}
	if len(rules) > maxRules {
		return nil, notes, iamprune.Errorf(iamprune.EINVALID,
			"archive: the exceptions need %d archive rules (%d principals in %d finding-type groups, at most %d per rule), more than the analyzer's quota of %d (exceptions.max_archive_rules; raise the quota with AWS support first, or narrow the exceptions)",
			len(rules), len(cover), len(groups), MaxValues, maxRules)
	}
	return rules, notes, nil
}

// serviceLimited reports whether the exception covers only some services.
func serviceLimited(e iamprune.Exception) bool {
	return len(e.Services) > 0 && !slices.Contains(e.Services, "*")
}

// locate names an exception for notes: file:line and its principal.
func locate(e iamprune.Exception) string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Principal)
	case e.File != "":
		return e.File + ": " + e.Principal
	}
	return e.Principal
}
