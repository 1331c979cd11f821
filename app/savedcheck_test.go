package app

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

// A saved plan edited to make a change that a plan made now would not (a
// notice turned into a remediation, services the finding does not call
// for) is refused before anything is done; the plan as saved is not.
func TestSavedPlanRefusesChangesNotDecided(t *testing.T) {
	t.Parallel()
	edit := map[string]func(p *iamprune.Plan) bool{
		"as saved": func(*iamprune.Plan) bool { return true },
		"notify made a remediation": func(p *iamprune.Plan) bool {
			for i, a := range p.Actions {
				if a.Kind == iamprune.KindNotify && a.FindingType == iamprune.UnusedIAMUserAccessKey {
					p.Actions[i].Kind = iamprune.KindDeactivateAccessKey
					p.Actions[i].Basis = &iamprune.Basis{}
					return true
				}
			}
			return false
		},
		"used service denied": func(p *iamprune.Plan) bool {
			for i, a := range p.Actions {
				if a.Kind == iamprune.KindDenyUnusedServices && strings.HasSuffix(a.Principal, "role/WebAppRole") {
					p.Actions[i].Services = append(slices.Clone(a.Services), "s3")
					return true
				}
			}
			return false
		},
	}
	for name, change := range edit {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			srv, e := demoAccount(t)
			store := openStore(t)
			made := planDemo(t, e, store)
			plan := *made.Plan
			plan.Actions = slices.Clone(made.Plan.Actions)
			if !change(&plan) {
				t.Fatal("the demo plan has no entry to edit")
			}
			_, err := SavedPlan(ctx, e, &plan, made.Inputs, "", store)
			if name == "as saved" {
				if err != nil {
					t.Fatalf("the plan as saved is refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "a plan made now would not") {
				t.Fatalf("err = %v, want the edited plan refused", err)
			}
			if iamprune.ErrorCode(err) == iamprune.EINVALID {
				t.Errorf("a stale or edited plan is refused (exit 1), not bad input: %v", err)
			}
			if w := srv.Writes(); len(w) != 0 {
				t.Errorf("refused plan made write calls: %v", w)
			}
		})
	}
}
