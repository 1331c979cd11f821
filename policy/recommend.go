package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
)

// Recommended actions of an unusedPermissionsRecommendedStep.
const (
	RecommendCreatePolicy = "CREATE_POLICY"
	RecommendDetachPolicy = "DETACH_POLICY"
)

// maxCheckListed caps OnlyIAMPrune and OnlyAnalyzer: a plan entry is for people
// to read, and a wildcard can differ by thousands of actions.
const maxCheckListed = 50

// CompareRecommendation compares iamprune's refinement of one finding's
// policies (changes) with Access Analyzer's recommendation for it. Both are
// reduced to the catalogue actions they remove, per policy, evaluated
// action-level on Resource "*" with Allowed over every catalogue action of
// the services the documents mention:
//   - iamprune removes what Before allows and the After documents do not
//     (nothing, when After is empty: every allowed action);
//   - the recommendation removes what the current document (Before) allows
//     and its CREATE_POLICY documents do not; a DETACH_POLICY without a
//     CREATE_POLICY for the same policy removes everything it allowed.
//
// Steps are matched to changes by managed policy ARN or inline policy
// name. A step for a policy iamprune leaves unchanged, a step naming no
// policy or an unreadable document make the check disagree with a Detail,
// as does any status other than SUCCEEDED ("" counts as unavailable).
func CompareRecommendation(changes []iamprune.PolicyChange, rec iamprune.Recommendation) iamprune.RecommendationCheck {
	check := iamprune.RecommendationCheck{Status: rec.Status, Type: rec.Type}
	if !recommendationReady(&check, rec) {
		return check
	}
	byChange, notes := matchSteps(changes, rec.Steps)
	var onlyIAMPrune, onlyAnalyzer []string
	for i, c := range changes {
		ours, theirs, note := compareChange(c, byChange[i])
		notes = append(notes, note...)
		onlyIAMPrune = append(onlyIAMPrune, minus(ours, theirs)...)
		onlyAnalyzer = append(onlyAnalyzer, minus(theirs, ours)...)
	}
	check.OnlyIAMPrune = capList(sortedUnique(onlyIAMPrune))
	check.OnlyAnalyzer = capList(sortedUnique(onlyAnalyzer))
	check.Agrees = len(check.OnlyIAMPrune) == 0 && len(check.OnlyAnalyzer) == 0 && len(notes) == 0
	check.Detail = strings.Join(notes, "; ")
	return check
}

// recommendationReady reports whether the recommendation succeeded; when
// not, it sets the check's status and detail to say why.
func recommendationReady(check *iamprune.RecommendationCheck, rec iamprune.Recommendation) bool {
	switch rec.Status {
	case "SUCCEEDED":
		return true
	case "", "unavailable":
		check.Status = "unavailable"
		check.Detail = orDefault(rec.Error, "Access Analyzer's recommendation could not be read")
	case "FAILED":
		check.Detail = "Access Analyzer could not make a recommendation: " + orDefault(rec.Error, "no reason given")
	case "IN_PROGRESS":
		check.Detail = orDefault(rec.Error, "Access Analyzer had not finished its recommendation")
	default:
		check.Detail = fmt.Sprintf("unknown recommendation status %q", rec.Status)
	}
	return false
}

// recommended is what the recommendation does to one policy change's
// policy: how many steps name it, the policies it creates in its stead,
// and whether it detaches it.
type recommended struct {
	steps   int
	creates []Document
	detach  bool
}

// matchSteps assigns each recommended step to the change of the policy it
// names, with notes on the steps that fit none.
func matchSteps(changes []iamprune.PolicyChange, steps []iamprune.RecommendedStep) ([]recommended, []string) {
	var notes []string
	byChange := make([]recommended, len(changes))
	for i, st := range steps {
		where := fmt.Sprintf("step %d (%s", i+1, st.Action)
		if st.ExistingPolicyID != "" {
			where += " " + st.ExistingPolicyID
		}
		where += ")"
		if st.ExistingPolicyID == "" {
			notes = append(notes, where+": names no existing policy")
			continue
		}
		ci := slices.IndexFunc(changes, func(c iamprune.PolicyChange) bool { return matchesPolicy(c, st.ExistingPolicyID) })
		if ci < 0 {
			notes = append(notes, where+": iamprune leaves this policy unchanged")
			continue
		}
		r := &byChange[ci]
		r.steps++
		switch st.Action {
		case RecommendCreatePolicy:
			d, err := Parse(st.Policy)
			if err != nil {
				notes = append(notes, where+": unreadable recommended policy: "+err.Error())
				r.steps-- // judged as if absent, and reported
				continue
			}
			r.creates = append(r.creates, d)
		case RecommendDetachPolicy:
			r.detach = true
		default:
			notes = append(notes, where+": unknown recommended action")
			r.steps--
		}
	}
	return byChange, notes
}

// compareChange returns the actions the policy grants today that iamprune
// removes (ours) and that the recommendation removes (theirs).
func compareChange(c iamprune.PolicyChange, r recommended) (ours, theirs, notes []string) {
	before, err := Parse(c.Before)
	if err != nil {
		return nil, nil, []string{fmt.Sprintf("%s: unreadable current document: %v", c.Policy, err)}
	}
	var after []Document
	for j, raw := range c.After {
		d, err := Parse(raw)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: unreadable refined document %d: %v", c.Policy, j+1, err))
			continue
		}
		after = append(after, d)
	}
	docs := slices.Concat([]Document{before}, after, r.creates)
	cur := []Document{before}
	for _, a := range actionUniverse(docs) {
		if !Allowed(cur, a) {
			continue
		}
		if !Allowed(after, a) {
			ours = append(ours, a)
		}
		switch {
		case r.steps == 0: // the recommendation keeps this policy
		case len(r.creates) > 0:
			if !Allowed(r.creates, a) {
				theirs = append(theirs, a)
			}
		case r.detach:
			theirs = append(theirs, a)
		}
	}
	return ours, theirs, notes
}

// matchesPolicy: a managed policy by ARN, an inline one by name (IAM names
// are case-insensitive).
func matchesPolicy(c iamprune.PolicyChange, id string) bool {
	if c.Type == iamprune.PolicyInline {
		return strings.EqualFold(c.Policy, id) || strings.EqualFold(c.Name, id)
	}
	return c.Policy == id
}

// actionUniverse returns, lower-cased and sorted, every catalogue action of
// the services the documents' Action and NotAction patterns can reach,
// plus any literal action they name that the catalogue lacks. A NotAction
// reaches every service.
func actionUniverse(docs []Document) []string {
	services := map[string]bool{}
	set := map[string]bool{}
	all := false
	for _, d := range docs {
		for _, s := range d.Statement {
			if s.NotAction.Set() {
				all = true
			}
			for _, p := range slices.Concat(s.Action.Values, s.NotAction.Values) {
				svc, _, ok := strings.Cut(strings.ToLower(p), ":")
				switch {
				case !ok || IsWildcard(svc):
					for _, known := range catalog.Services() {
						if !ok || catalog.Matches(svc, known) {
							services[known] = true
						}
					}
				default:
					services[svc] = true
					if !IsWildcard(p) {
						set[strings.ToLower(p)] = true
					}
				}
			}
		}
	}
	if all {
		for _, svc := range catalog.Services() {
			services[svc] = true
		}
	}
	for svc := range services {
		for _, a := range catalog.Actions(svc) {
			set[strings.ToLower(a.String())] = true
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// minus returns the elements of a (sorted) not in b (sorted).
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

func capList(xs []string) []string {
	if len(xs) <= maxCheckListed {
		return xs
	}
	return append(xs[:maxCheckListed:maxCheckListed], fmt.Sprintf("… and %d more", len(xs)-maxCheckListed))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
