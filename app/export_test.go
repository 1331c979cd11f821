package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/render"
)

// fakeHub rejects the ids in reject and records the workflow updates.
type fakeHub struct {
	reject   map[string]bool
	imported int
	workflow map[string][]string
	archived []string
}

func (h *fakeHub) Import(_ context.Context, fs []json.RawMessage) ([]iamprune.RejectedFinding, error) {
	var out []iamprune.RejectedFinding
	for _, raw := range fs {
		var f struct{ Id string }
		_ = json.Unmarshal(raw, &f)
		if h.reject[f.Id] {
			out = append(out, iamprune.RejectedFinding{ID: f.Id, Code: "InvalidInput", Message: "bad"})
			continue
		}
		h.imported++
	}
	return out, nil
}

func (h *fakeHub) SetWorkflow(_ context.Context, status string, fs []iamprune.FindingRef) ([]iamprune.RejectedFinding, error) {
	for _, f := range fs {
		h.workflow[status] = append(h.workflow[status], f.ID)
	}
	return nil, nil
}

func (h *fakeHub) Archive(_ context.Context, fs []iamprune.FindingRef, _ time.Time) (int, []iamprune.RejectedFinding, error) {
	for _, f := range fs {
		h.archived = append(h.archived, f.ID)
	}
	return len(fs), nil, nil
}

// Rejected findings are listed and fail the export; the workflow is set
// only for remediated and held items that were imported.
func TestExportSecurityHubReportsRejections(t *testing.T) {
	t.Parallel()
	acct := "111122223333"
	a := iamprune.Action{ID: "a", Account: acct, Principal: "arn:aws:iam::" + acct + ":role/R", FindingType: iamprune.UnusedIAMRole,
		Kind: iamprune.KindQuarantineRole, Target: "R", FindingID: "f1", Done: &iamprune.DoneRef{RunID: "run"}}
	b := a
	b.Target, b.FindingID, b.Done = "S", "f2", nil
	c := a
	c.Target, c.FindingID, c.Kind, c.Done, c.Hold = "T", "f3", iamprune.KindExempt, nil, "hold-1"
	plan := &iamprune.Plan{GeneratedAt: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), Actions: []iamprune.Action{a, b, c}}
	fs := render.ASFFFindings(plan, "eu-west-1")
	hub := &fakeHub{reject: map[string]bool{fs[2].ID: true}, workflow: map[string][]string{}}
	var out bytes.Buffer
	err := ExportSecurityHub(context.Background(), ExportRequest{Plan: plan, Options: render.Options{Region: "eu-west-1"}, Hub: hub, Out: &out})
	if err == nil || !strings.Contains(err.Error(), "1 of 3 finding(s) rejected") {
		t.Errorf("err = %v, want 1 of 3 rejected", err)
	}
	if !strings.Contains(out.String(), "rejected "+fs[2].ID+": InvalidInput: bad") || hub.imported != 2 {
		t.Errorf("report:\n%s\nimported %d", out.String(), hub.imported)
	}
	if len(hub.workflow["RESOLVED"]) != 1 || hub.workflow["RESOLVED"][0] != fs[0].ID || len(hub.workflow["NOTIFIED"]) != 0 {
		t.Errorf("workflow updates %v, want only %s RESOLVED (the held one was rejected)", hub.workflow, fs[0].ID)
	}
	if err := ExportSecurityHub(context.Background(), ExportRequest{Plan: plan, Hub: hub, Out: &out, Output: "yaml"}); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("-o yaml: %v, want invalid", err)
	}
}
