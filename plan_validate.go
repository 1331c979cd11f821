package iamprune

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// accessKeyID is the shape of an IAM access key id: AKIA (long-term) or
// ASIA (temporary) and upper-case letters and digits.
var accessKeyID = regexp.MustCompile(`^(AKIA|ASIA)[A-Z0-9]{4,124}$`)

// planKinds are the kinds a plan may hold (notify-only is a rule action).
var planKinds = []ActionKind{KindNotify, KindDeactivateAccessKey, KindDeleteAccessKey, KindDeleteLoginProfile,
	KindQuarantineRole, KindDenyUnusedServices, KindRewritePolicy, KindProposePolicy, KindExempt, KindProtected, KindSkip}

// principalKinds says which IAM principal kind a finding type is about.
var principalKinds = map[FindingType][]string{
	UnusedIAMUserAccessKey: {"user"},
	UnusedIAMUserPassword:  {"user"},
	UnusedIAMRole:          {"role"},
	UnusedPermission:       {"user", "role"},
}

// hasEffect reports whether an action of kind k makes a change or a notice
// when applied; the others (exempt, protected, skip) only report.
func (k ActionKind) hasEffect() bool {
	return k.IsRemediation() || k.IsProposal() || k == KindNotify
}

// Validate checks a plan as a whole, as applying a saved one must before
// doing anything: every kind is known, every acting entry's target, finding
// type and account agree with its principal, ids are unique, and no two
// entries would have the same effect. A saved plan is input like any other:
// edited by hand or by mistake, it must not steer writes at a principal
// other than the one it names. Every violation is reported, one a line,
// naming the action's index, id and field (EINVALID).
func (p *Plan) Validate() error {
	var probs []string
	add := func(i int, a Action, field, format string, args ...any) {
		probs = append(probs, fmt.Sprintf("actions[%d] (id %q).%s: %s", i, a.ID, field, fmt.Sprintf(format, args...)))
	}
	ids := map[string]int{}
	for i, a := range p.Actions {
		if j, ok := ids[a.ID]; ok && a.ID != "" {
			add(i, a, "id", "the same as actions[%d]'s", j)
		} else {
			ids[a.ID] = i
		}
		if !slices.Contains(planKinds, a.Kind) {
			add(i, a, "kind", "%q is not a plan kind (want one of %s)", a.Kind, kindList())
			continue
		}
		if !a.Kind.hasEffect() {
			continue
		}
		if !a.FindingType.Valid() {
			add(i, a, "finding_type", "%q is not a finding type", a.FindingType)
			continue
		}
		if a.Kind != KindNotify && !slices.Contains(RemediationsFor(a.FindingType), a.Kind) {
			add(i, a, "kind", "%s does not apply to a %s finding", a.Kind, a.FindingType)
		}
		arn, ok := ParseARN(a.Principal)
		if !ok || arn.Service != "iam" || !slices.Contains(principalKinds[a.FindingType], arn.Kind) {
			add(i, a, "principal", "%q is not the ARN of an IAM %s", a.Principal, strings.Join(principalKinds[a.FindingType], " or "))
			continue
		}
		if a.Account != arn.Account {
			add(i, a, "account", "%q is not the principal's account %q", a.Account, arn.Account)
		}
		switch {
		case a.FindingType == UnusedIAMUserAccessKey:
			if !accessKeyID.MatchString(a.Target) {
				add(i, a, "target", "%q is not an access key id (AKIA… or ASIA…)", a.Target)
			}
		case a.Target != arn.Name:
			add(i, a, "target", "%q is not the principal's name %q", a.Target, arn.Name)
		}
	}
	probs = append(probs, p.sameEffect()...)
	if len(probs) > 0 {
		return Errorf(EINVALID, "%s", strings.Join(probs, "\n"))
	}
	return nil
}

// sameEffect reports pairs of acting entries that would make the same
// change twice: one account, kind, principal and target, and services that
// overlap (no services stands for the whole item).
func (p *Plan) sameEffect() []string {
	var probs []string
	for j, b := range p.Actions {
		if !b.Kind.hasEffect() {
			continue
		}
		for i, a := range p.Actions[:j] {
			if a.Kind != b.Kind || a.Account != b.Account || a.Principal != b.Principal || a.Target != b.Target {
				continue
			}
			if len(a.Services) == 0 || len(b.Services) == 0 || slices.ContainsFunc(a.Services, func(s string) bool { return slices.Contains(b.Services, s) }) {
				probs = append(probs, fmt.Sprintf("actions[%d] (id %q): %s of %s on %s again, as actions[%d] (id %q) already does",
					j, b.ID, b.Kind, b.Target, b.Principal, i, a.ID))
				break
			}
		}
	}
	return probs
}

func kindList() string {
	s := make([]string, len(planKinds))
	for i, k := range planKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
