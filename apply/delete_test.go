package apply_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// A key is deleted only when iamprune's own journal shows it deactivated
// the key at least KeyDeleteAfterDays ago, whatever a plan file says.
func TestDeleteOnlyKeysIamprunedDeactivated(t *testing.T) {
	deletePlan := func() *iamprune.Plan {
		p := basePlan()
		a := p.Actions[0] // alice's first key
		a.ID, a.Kind = "a-del", iamprune.KindDeleteAccessKey
		p.Actions = []iamprune.Action{a}
		return p
	}
	deactivate := func(e *env, at time.Time) {
		t.Helper()
		p := basePlan()
		p.Actions = p.Actions[:1]
		e.opts.Now = func() time.Time { return at }
		if res := e.apply(p); res.Results[0].Status != iamprune.ResultDone {
			t.Fatalf("deactivate: %+v", res.Results)
		}
		e.opts.Now = func() time.Time { return now }
	}
	tests := []struct {
		name        string
		deleteAfter int
		deactivated *time.Time
		status      string
		detail      string
	}{
		{"disabled", 0, ptr(now.Add(-60 * 24 * time.Hour)), iamprune.ResultSkipped, "delete_after_days is 0"},
		{"not deactivated by iamprune", 30, nil, iamprune.ResultSkipped, "not deactivated by iamprune"},
		{"grace period not over", 30, ptr(now.Add(-10 * 24 * time.Hour)), iamprune.ResultSkipped, "may be deleted from"},
		{"grace period over", 30, ptr(now.Add(-31 * 24 * time.Hour)), iamprune.ResultDone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.opts.KeyDeleteAfterDays = tt.deleteAfter
			if tt.deactivated != nil {
				deactivate(e, *tt.deactivated)
			}
			res := e.apply(deletePlan())
			got := result(res, "a-del")
			if got.Status != tt.status || !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("delete: %s %q, want %s containing %q", got.Status, got.Detail, tt.status, tt.detail)
			}
			if n := e.w.applies["a-del"]; (tt.status == iamprune.ResultDone) != (n == 1) {
				t.Errorf("executor applied the delete %d times", n)
			}
		})
	}
}

func ptr(t time.Time) *time.Time { return &t }
