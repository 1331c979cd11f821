package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

// entryFor returns the plan's entry for target that a hold exempts, else
// its first remediation, or nil.
func entryFor(p iamprune.Plan, target string) *iamprune.Action {
	var found *iamprune.Action
	for i, a := range p.Actions {
		switch {
		case a.Target == target && a.Hold != "":
			return &p.Actions[i]
		case a.Target == target && a.Kind.IsRemediation() && found == nil:
			found = &p.Actions[i]
		}
	}
	return found
}

// holdsArgs are the arguments of a holds command against acct's store.
func holdsArgs(acct *account, args ...string) []string {
	return append(append([]string{"holds"}, args...), "--state", acct.state)
}

// Rollback is sticky: the next plan shows the rolled-back items as exempt
// while their holds last, holds lists them, and releasing one lets the
// next plan remediate it again.
func TestRollbackHoldsItems(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	res := decodeRun(t, runCLI(t, acct.args(t, "apply", "--yes", "-o", "json")...))
	r := runCLI(t, acct.args(t, "rollback", res.RunID, "--yes", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("rollback exit %d: %s", r.code, r.stderr)
	}
	rb := decodeRun(t, r)

	p := decodePlan(t, runCLI(t, acct.args(t, "plan", "-o", "json")...))
	// erin's recreated login profile is new: nothing to plan for it.
	for _, target := range []string{"AKIAP2J3ADGM2EXAMPLE", "bob", "WebAppRole", "ci-deployer", "LegacyBatchRole"} {
		a := entryFor(p, target)
		if a == nil || a.Kind != iamprune.KindExempt || a.Hold == "" || a.HoldUntil != "2026-12-28" ||
			!strings.Contains(a.Reason, "until 2026-12-28 after rollback "+rb.RunID+" of run "+res.RunID) ||
			!strings.Contains(a.Reason, "iamprune holds release "+a.Hold) {
			t.Errorf("%s after rollback: %+v, want exempt by its hold", target, a)
		}
	}

	h := runCLI(t, holdsArgs(acct, "-o", "json")...)
	var listed struct {
		Holds []struct {
			iamprune.Hold
			Status string `json:"status"`
		} `json:"holds"`
	}
	if err := json.Unmarshal([]byte(h.stdout), &listed); h.code != 0 || err != nil || len(listed.Holds) != len(demoRemediations) {
		t.Fatalf("holds: exit %d, %v\n%s", h.code, err, h.stdout)
	}
	role := entryFor(p, "LegacyBatchRole")
	var found bool
	for _, hd := range listed.Holds {
		found = found || (hd.ID == role.Hold && hd.Status == "active" && hd.RunID == res.RunID && hd.RollbackRunID == rb.RunID)
	}
	if !found {
		t.Errorf("holds does not list %s as active: %s", role.Hold, h.stdout)
	}
	if tbl := runCLI(t, holdsArgs(acct)...); tbl.code != 0 || !strings.Contains(tbl.stdout, role.Hold) || !strings.Contains(tbl.stdout, "active") {
		t.Errorf("holds table: exit %d\n%s", tbl.code, tbl.stdout)
	}

	rel := runCLI(t, acct.args(t, "holds", "release", role.Hold)...)
	if rel.code != 0 || !strings.Contains(rel.stdout, "Released hold "+role.Hold) {
		t.Fatalf("holds release: exit %d\n%s%s", rel.code, rel.stdout, rel.stderr)
	}
	p = decodePlan(t, runCLI(t, acct.args(t, "plan", "-o", "json")...))
	if a := entryFor(p, "LegacyBatchRole"); a == nil || a.Kind != iamprune.KindQuarantineRole || a.Hold != "" {
		t.Errorf("after release: %+v, want quarantine-role again", a)
	}
	if a := entryFor(p, "bob"); a == nil || a.Kind != iamprune.KindExempt {
		t.Errorf("bob, still held: %+v", a)
	}

	if r := runCLI(t, acct.args(t, "holds", "release", "hold-000000000000")...); r.code != 2 || !strings.Contains(r.stderr, "no hold hold-000000000000") {
		t.Errorf("unknown hold: exit %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, "holds", "--state", filepath.Join(t.TempDir(), "s.db"), "--account", "12"); r.code != 2 || !strings.Contains(r.stderr, "not a 12-digit AWS account id") {
		t.Errorf("holds --account 12: exit %d %s", r.code, r.stderr)
	}
}

// --hold-days 0 sets no hold: the next plan remediates again.
func TestRollbackHoldDaysZero(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	res := decodeRun(t, runCLI(t, acct.args(t, "apply", "--yes", "-o", "json")...))
	if r := runCLI(t, acct.args(t, "rollback", res.RunID, "--yes", "--hold-days", "0", "-o", "json")...); r.code != 0 {
		t.Fatalf("rollback exit %d: %s", r.code, r.stderr)
	}
	p := decodePlan(t, runCLI(t, acct.args(t, "plan", "-o", "json")...))
	if a := entryFor(p, "LegacyBatchRole"); a == nil || a.Kind != iamprune.KindQuarantineRole {
		t.Errorf("after a rollback without hold: %+v, want quarantine-role", a)
	}
	if h := runCLI(t, holdsArgs(acct)...); h.code != 0 || !strings.Contains(h.stdout, "No holds.") {
		t.Errorf("holds: exit %d\n%s", h.code, h.stdout)
	}
	for _, days := range []string{"-1", "3651", "999999999999"} {
		if r := runCLI(t, acct.args(t, "rollback", res.RunID, "--yes", "--hold-days", days)...); r.code != 2 {
			t.Errorf("--hold-days %s: exit %d, want 2", days, r.code)
		}
	}
	// A hold too long to store would break every later plan.
	if r := runCLI(t, holdsArgs(acct)...); r.code != 0 {
		t.Errorf("holds after refused --hold-days: exit %d\n%s", r.code, r.stderr)
	}
}
