package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamprune/iamprune/render"
)

// hubFinding is what the test reads of a stored ASFF finding.
type hubFinding struct {
	ID            string            `json:"Id"`
	Workflow      hubStatus         `json:"Workflow"`
	Compliance    hubStatus         `json:"Compliance"`
	ProductFields map[string]string `json:"ProductFields"`
	RecordState   string            `json:"RecordState"`
}

// hubStatus is an ASFF status object.
type hubStatus struct {
	Status string `json:"Status"`
}

func hubByTarget(t *testing.T, acct *account) map[string]hubFinding {
	t.Helper()
	out := map[string]hubFinding{}
	for _, raw := range acct.srv.HubFindings() {
		var f hubFinding
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		key := f.ProductFields["iamprune/target"] + " " + f.ID
		out[key] = f
	}
	return out
}

func exportArgs(acct *account, args ...string) []string {
	return append([]string{"export", "securityhub", "--config", filepath.Join("testdata", "no-prior-notice", "iamprune.yaml"),
		"--now", demoNow, "--state", acct.state}, args...)
}

// export securityhub sends one finding per plan entry through the real
// SDK client; re-exporting after apply and after rollback updates the
// same findings (no duplicates) with the workflow and compliance status of
// docs/exports.md; the output equals plan -o asff.
func TestExportSecurityHubUpdatesTheSameFindings(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	p := decodePlan(t, runCLI(t, acct.args(t, "plan", "-o", "json")...))
	r := runCLI(t, exportArgs(acct)...)
	if r.code != 0 || !strings.Contains(r.stdout, "0 rejected") {
		t.Fatalf("export: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	first := acct.srv.HubFindings()
	if len(first) != len(p.Actions) {
		t.Fatalf("the hub holds %d findings, want one per plan entry (%d)", len(first), len(p.Actions))
	}
	var asff []render.ASFFFinding
	if err := json.Unmarshal([]byte(runCLI(t, acct.args(t, "plan", "-o", "asff")...).stdout), &asff); err != nil || len(asff) != len(p.Actions) {
		t.Fatalf("plan -o asff: %v, %d findings", err, len(asff))
	}
	status := func(target, wantWorkflow, wantCompliance, when string) {
		t.Helper()
		n := 0
		for key, f := range hubByTarget(t, acct) {
			if !strings.HasPrefix(key, target+" ") || f.ProductFields["iamprune/kind"] == "notify" {
				continue
			}
			n++
			if f.Workflow.Status != wantWorkflow || f.Compliance.Status != wantCompliance {
				t.Errorf("%s: finding of %s (%s) is %s/%s, want %s/%s", when, target, f.ProductFields["iamprune/kind"], f.Workflow.Status, f.Compliance.Status, wantWorkflow, wantCompliance)
			}
		}
		if n == 0 {
			t.Errorf("%s: no finding for %s", when, target)
		}
	}
	status("LegacyBatchRole", "NEW", "FAILED", "before apply")

	res := decodeRun(t, runCLI(t, acct.args(t, "apply", "--yes", "-o", "json")...))
	if r := runCLI(t, exportArgs(acct)...); r.code != 0 {
		t.Fatalf("export after apply: exit %d %s", r.code, r.stderr)
	}
	if n := len(acct.srv.HubFindings()); n != len(first) {
		t.Errorf("after apply the hub holds %d findings, want the same %d updated", n, len(first))
	}
	status("LegacyBatchRole", "RESOLVED", "PASSED", "after apply")

	if r := runCLI(t, acct.args(t, "rollback", res.RunID, "--yes")...); r.code != 0 {
		t.Fatalf("rollback: %s", r.stderr)
	}
	if r := runCLI(t, exportArgs(acct)...); r.code != 0 {
		t.Fatalf("export after rollback: exit %d %s", r.code, r.stderr)
	}
	if n := len(acct.srv.HubFindings()); n != len(first) {
		t.Errorf("after rollback the hub holds %d findings, want the same %d updated", n, len(first))
	}
	status("LegacyBatchRole", "NOTIFIED", "FAILED", "after rollback")
}

// Findings Security Hub rejects are reported one by one, and the command
// exits 1; the others are imported.
func TestExportSecurityHubRejectionsExitOne(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	var asff []render.ASFFFinding
	if err := json.Unmarshal([]byte(runCLI(t, acct.args(t, "plan", "-o", "asff")...).stdout), &asff); err != nil || len(asff) < 3 {
		t.Fatalf("plan -o asff: %v", err)
	}
	acct.srv.RejectFinding(asff[0].ID, "InvalidInput", "Finding does not adhere to ASFF: test", -1)
	acct.srv.RejectFinding(asff[2].ID, "AccessDeniedException", "not yours", -1)
	r := runCLI(t, exportArgs(acct)...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"rejected " + asff[0].ID + ": InvalidInput: Finding does not adhere to ASFF: test",
		"rejected " + asff[2].ID + ": AccessDeniedException: not yours", "2 rejected"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "2 of") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if n := len(acct.srv.HubFindings()); n != len(asff)-2 {
		t.Errorf("the hub holds %d findings, want the %d accepted", n, len(asff)-2)
	}
	j := runCLI(t, exportArgs(acct, "-o", "json")...)
	validate(t, schemas(t)("export-result"), "export securityhub -o json", j, 1)
	var rep struct {
		Rejected []struct{ ID, Code, Message string } `json:"rejected"`
	}
	if j.code != 1 || json.Unmarshal([]byte(j.stdout), &rep) != nil || len(rep.Rejected) != 2 {
		t.Errorf("-o json: exit %d, %s", j.code, j.stdout)
	}
}

// export securityhub writes a table or JSON, not the plan's formats: its
// help says so, and another format is refused (exit 2) before the plan is
// made (it used to offer csv, ocsf, asff and markdown, and refuse them only
// after reading every finding).
func TestExportSecurityHubOutputFormats(t *testing.T) {
	t.Parallel()
	help := runCLI(t, "export", "securityhub", "--help")
	if strings.Contains(help.stdout, "csv, ocsf and asff") || !strings.Contains(help.stdout, "table or json") {
		t.Errorf("--output help:\n%s", help.stdout)
	}
	r := runCLI(t, "export", "securityhub", "--snapshot", filepath.Join(t.TempDir(), "missing"), "-o", "csv")
	if r.code != 2 || !strings.Contains(r.stderr, `"csv" is not table or json`) {
		t.Errorf("-o csv: exit %d\n%s", r.code, r.stderr)
	}
}

// An UnusedPermission finding whose services to notify all came due moves
// from its notify side to its remediation side, two ASFF ids: the export
// archives the notify side instead of leaving it NEW beside the new one
// (ci-deployer's stayed open for good), and creates no finding for a side
// never exported.
func TestExportSecurityHubArchivesReplacedSides(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	export := func(now string) {
		t.Helper()
		r := runCLI(t, append(exportArgs(acct), "--now", now)...)
		if r.code != 0 {
			t.Fatalf("export at %s: exit %d\n%s", now, r.code, r.stderr)
		}
	}
	export("2026-09-01") // ci-deployer: notify sns, sqs
	before := len(acct.srv.HubFindings())
	export(demoNow) // ci-deployer: deny-unused-services sns, sqs
	p := decodePlan(t, runCLI(t, acct.args(t, "plan", "-o", "json")...))
	open, archivedNotify := 0, 0
	for _, f := range hubByTarget(t, acct) {
		if f.RecordState == "ACTIVE" {
			open++
		}
		if f.ProductFields["iamprune/target"] == "ci-deployer" && f.ProductFields["iamprune/kind"] == "notify" && f.RecordState == "ARCHIVED" {
			archivedNotify++
		}
	}
	want := 0
	for _, a := range p.Actions {
		if a.Kind != "skip" {
			want++
		}
	}
	if open != want || archivedNotify != 1 {
		t.Errorf("%d ACTIVE findings (want one per open plan entry, %d); ci-deployer's notify side archived: %d (want 1)", open, want, archivedNotify)
	}
	if n := len(acct.srv.HubFindings()); n > before+len(p.Actions) {
		t.Errorf("the hub holds %d findings after two exports", n)
	}
}
