package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

// A saved plan that is not consistent as a whole is refused before
// anything is done: exit 2, naming the action and the field, no write.
func TestApplyRefusesInconsistentPlan(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	planFile := filepath.Join(t.TempDir(), "plan.json")
	if r := runCLI(t, acct.args(t, "plan", "--out", planFile, "-o", "json")...); r.code != 0 {
		t.Fatalf("plan --out: %s", r.stderr)
	}
	b, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	var orig iamprune.Plan
	if err := json.Unmarshal(b, &orig); err != nil {
		t.Fatal(err)
	}
	find := func(p *iamprune.Plan, kind iamprune.ActionKind) int {
		for i, a := range p.Actions {
			if a.Kind == kind {
				return i
			}
		}
		t.Fatalf("the demo plan has no %s", kind)
		return -1
	}
	tests := []struct {
		name   string
		tamper func(p *iamprune.Plan) int // returns the index named
		want   string
	}{
		{"target of another principal", func(p *iamprune.Plan) int {
			i := find(p, iamprune.KindQuarantineRole)
			p.Actions[i].Target = "WebAppRole"
			return i
		}, ".target:"},
		{"key action on a name", func(p *iamprune.Plan) int {
			i := find(p, iamprune.KindDeactivateAccessKey)
			p.Actions[i].Target = "alice"
			return i
		}, ".target:"},
		{"unknown kind", func(p *iamprune.Plan) int {
			i := find(p, iamprune.KindDeleteLoginProfile)
			p.Actions[i].Kind = "delete-user"
			return i
		}, ".kind:"},
		{"kind of another finding type", func(p *iamprune.Plan) int {
			i := find(p, iamprune.KindDeleteLoginProfile)
			p.Actions[i].Kind = iamprune.KindQuarantineRole
			return i
		}, ".kind:"},
		{"account of another principal", func(p *iamprune.Plan) int {
			i := find(p, iamprune.KindQuarantineRole)
			p.Actions[i].Account = "999999999999"
			return i
		}, ".account:"},
		{"duplicate id", func(p *iamprune.Plan) int {
			i := find(p, iamprune.KindQuarantineRole)
			p.Actions[i].ID = p.Actions[0].ID
			return i
		}, ".id:"},
		{"same effect twice", func(p *iamprune.Plan) int {
			i := find(p, iamprune.KindDenyUnusedServices)
			dup := p.Actions[i]
			dup.ID = "0000000000000000"
			dup.Services = dup.Services[:1]
			p.Actions = append(p.Actions, dup)
			return len(p.Actions) - 1
		}, "again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p iamprune.Plan
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			i := tt.tamper(&p)
			nb, _ := json.Marshal(p)
			file := filepath.Join(t.TempDir(), "plan.json")
			if err := os.WriteFile(file, nb, 0o600); err != nil {
				t.Fatal(err)
			}
			before := acct.dump(t)
			r := runCLI(t, acct.args(t, "apply", file, "--yes", "-o", "json")...)
			if r.code != exitInvalid {
				t.Errorf("exit %d, want 2; stderr %s", r.code, r.stderr)
			}
			if want := fmt.Sprintf("actions[%d]", i); !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not name %s and %q", r.stderr, want, tt.want)
			}
			if c := changed(t, before, acct.dump(t)); len(c) != 0 {
				t.Errorf("an inconsistent plan changed %v", c)
			}
		})
	}
	// The untouched plan is consistent.
	if err := orig.Validate(); err != nil {
		t.Errorf("the plan as made: %v", err)
	}
}
