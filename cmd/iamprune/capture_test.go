package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

// comparable strips what differs between a live plan and a snapshot plan
// by design: the source, warning sources (finding id vs file index) and
// Access Analyzer's recommendations, which only a live plan asks for.
func comparable(p iamprune.Plan) iamprune.Plan {
	p.Source = ""
	for i := range p.Warnings {
		p.Warnings[i].Source = ""
	}
	for i := range p.Actions {
		p.Actions[i].Recommendation = nil
	}
	return p
}

func assertSamePlan(t *testing.T, live, offline iamprune.Plan) {
	t.Helper()
	if len(live.Actions) == 0 {
		t.Fatal("the live plan is empty")
	}
	if a, b := comparable(live), comparable(offline); !reflect.DeepEqual(a, b) {
		x, _ := json.MarshalIndent(a, "", " ")
		y, _ := json.MarshalIndent(b, "", " ")
		t.Fatalf("captured snapshot plans differently from the live account\nlive:\n%s\nsnapshot:\n%s", x, y)
	}
}

// TestSnapshotCaptureDemo captures the demo account through the emulator
// (every call paginated) and plans the capture: the plan equals the live
// one, every documented file is written, and a second capture is
// byte-identical.
func TestSnapshotCaptureDemo(t *testing.T) {
	t.Parallel()
	snapDir, cfgPath := demoPaths(t)
	snap, err := snapshot.LoadDir(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	_, cfg := emulatortest.Start(t, snap, emulator.Options{PageSize: 2})
	inject(t, aws.ToString(cfg.BaseEndpoint), nil)
	dir := t.TempDir()
	out := filepath.Join(dir, "snap")
	r := runCLI(t, "snapshot", "capture", "--out", out, "--last-accessed")
	if r.code != 0 {
		t.Fatalf("capture: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{snapshot.MetaFile, snapshot.AuthDetailsFile, snapshot.AccessKeysFile, snapshot.LoginProfilesFile,
		snapshot.FindingsFile, snapshot.AnalyzerFile, snapshot.CredentialReportFile, snapshot.LastAccessedFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("capture did not write %s: %v", f, err)
		}
	}
	common := []string{"--config", cfgPath, "--now", demoNow, "-o", "json"}
	live := decodePlan(t, runCLI(t, append([]string{"plan"}, common...)...))
	offline := decodePlan(t, runCLI(t, append([]string{"plan", "--snapshot", out}, common...)...))
	assertSamePlan(t, live, offline)

	got, err := snapshot.LoadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.LastAccessed) != len(snap.Auth.UserDetailList)+len(snap.Auth.RoleDetailList) {
		t.Errorf("last-accessed.json has %d principals, want every user and role (%d)",
			len(got.LastAccessed), len(snap.Auth.UserDetailList)+len(snap.Auth.RoleDetailList))
	}
	again := filepath.Join(dir, "again")
	if r := runCLI(t, "snapshot", "capture", "--out", again, "--last-accessed"); r.code != 0 {
		t.Fatalf("second capture: exit %d\n%s", r.code, r.stderr)
	}
	for _, f := range []string{snapshot.AuthDetailsFile, snapshot.AccessKeysFile, snapshot.FindingsFile, snapshot.LastAccessedFile, snapshot.CredentialReportFile} {
		a, _ := os.ReadFile(filepath.Join(out, f))
		b, _ := os.ReadFile(filepath.Join(again, f))
		if f == snapshot.LastAccessedFile {
			a, b = jobDatesOut(a), jobDatesOut(b)
		}
		if string(a) != string(b) {
			t.Errorf("%s differs between two captures of the same account", f)
		}
	}
	if r := runCLI(t, "snapshot", "capture"); r.code != 2 || !strings.Contains(r.stderr, "--out") {
		t.Errorf("capture without --out: exit %d, %s", r.code, r.stderr)
	}
}

// TestSnapshotCaptureOrganisation captures an organisation analyzer's home
// account and, through the assumed role, its member into a sub-folder;
// planning the folder equals the live cross-account plan.
func TestSnapshotCaptureOrganisation(t *testing.T) {
	t.Parallel()
	o := newOrg(t)
	cfg := o.config(t, "iamprune-ext")
	out := filepath.Join(o.dir, "snap")
	r := runCLI(t, "snapshot", "capture", "--out", out, "--config", cfg)
	if r.code != 0 {
		t.Fatalf("capture: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(out, memberAccount, snapshot.MetaFile)); err != nil {
		t.Fatalf("no member folder: %v", err)
	}
	common := []string{"--config", cfg, "--now", demoNow, "-o", "json"}
	live := decodePlan(t, runCLI(t, append([]string{"plan"}, common...)...))
	offline := decodePlan(t, runCLI(t, append([]string{"plan", "--snapshot", out}, common...)...))
	assertSamePlan(t, live, offline)
	member := false
	for _, a := range offline.Actions {
		member = member || a.Account == memberAccount
	}
	if !member {
		t.Error("the snapshot plan has no action in the member account")
	}
}

// jobDatesOut drops the job dates of last-accessed.json: they are when
// each capture ran its jobs.
func jobDatesOut(b []byte) []byte {
	var es []map[string]any
	if err := json.Unmarshal(b, &es); err != nil {
		return b
	}
	for _, e := range es {
		delete(e, "JobCreationDate")
		delete(e, "JobCompletionDate")
	}
	out, _ := json.Marshal(es)
	return out
}
