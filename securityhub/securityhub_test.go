package securityhub

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

// fakeAPI records the batches and rejects findings as told: fail[id] is
// the code, for the first times[id] attempts (0: always).
type fakeAPI struct {
	batches [][]string
	fail    map[string]string
	times   map[string]int
	seen    map[string]int
}

func (f *fakeAPI) BatchImportFindings(_ context.Context, in *securityhub.BatchImportFindingsInput, _ ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error) {
	var ids []string
	out := &securityhub.BatchImportFindingsOutput{}
	for _, fd := range in.Findings {
		id := aws.ToString(fd.Id)
		ids = append(ids, id)
		f.seen[id]++
		if code, ok := f.fail[id]; ok && (f.times[id] == 0 || f.seen[id] <= f.times[id]) {
			out.FailedFindings = append(out.FailedFindings, types.ImportFindingsError{Id: aws.String(id), ErrorCode: aws.String(code), ErrorMessage: aws.String("no " + id)})
		}
	}
	f.batches = append(f.batches, ids)
	return out, nil
}

func (f *fakeAPI) BatchUpdateFindings(context.Context, *securityhub.BatchUpdateFindingsInput, ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error) {
	return &securityhub.BatchUpdateFindingsOutput{}, nil
}

func (f *fakeAPI) GetFindings(context.Context, *securityhub.GetFindingsInput, ...func(*securityhub.Options)) (*securityhub.GetFindingsOutput, error) {
	return &securityhub.GetFindingsOutput{}, nil
}

func findings(n int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		out[i] = json.RawMessage(fmt.Sprintf(`{"SchemaVersion":"2018-10-08","Id":"f%d","Severity":{"Label":"LOW"},"Workflow":{"Status":"NEW"}}`, i))
	}
	return out
}

// 250 findings go in batches of 100, 100 and 50; a finding rejected for a
// transient reason is sent again, alone, after the backoff, and one
// rejected as invalid is reported without being sent again.
func TestImportBatchesAndRetries(t *testing.T) {
	t.Parallel()
	api := &fakeAPI{fail: map[string]string{"f7": "InternalFailure", "f120": "InvalidInput"}, times: map[string]int{"f7": 2}, seen: map[string]int{}}
	var waits []time.Duration
	h := &Hub{API: api, Retries: 3, Backoff: time.Second, Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	rejected, err := h.Import(context.Background(), findings(250))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, b := range api.batches {
		sizes = append(sizes, len(b))
	}
	if !slices.Equal(sizes, []int{100, 100, 50, 1, 1}) {
		t.Errorf("batch sizes %v, want [100 100 50 1 1] (f7 retried twice)", sizes)
	}
	if !slices.Equal(waits, []time.Duration{time.Second, 2 * time.Second}) {
		t.Errorf("waits %v, want 1s then 2s", waits)
	}
	if len(rejected) != 1 || rejected[0].ID != "f120" || rejected[0].Code != "InvalidInput" || rejected[0].Message != "no f120" {
		t.Errorf("rejected %+v, want only f120 InvalidInput", rejected)
	}
	if api.seen["f120"] != 1 {
		t.Errorf("f120 sent %d times, want once: InvalidInput is final", api.seen["f120"])
	}
}

// Retries are bounded: a finding that keeps failing is sent 1+Retries
// times and reported.
func TestImportRetriesAreBounded(t *testing.T) {
	t.Parallel()
	api := &fakeAPI{fail: map[string]string{"f0": "InternalFailure"}, times: map[string]int{}, seen: map[string]int{}}
	h := &Hub{API: api, Retries: 2, Backoff: time.Millisecond, Sleep: func(context.Context, time.Duration) error { return nil }}
	rejected, err := h.Import(context.Background(), findings(3))
	if err != nil {
		t.Fatal(err)
	}
	if api.seen["f0"] != 3 || len(rejected) != 1 || rejected[0].ID != "f0" {
		t.Errorf("f0 sent %d times, rejected %+v; want 3 sends and f0 reported", api.seen["f0"], rejected)
	}
}

// Through the emulator with the real SDK client: findings are stored by
// Id, a second import updates them in place, and the emulator's
// validation rejects a finding of another account's product.
func TestImportThroughTheEmulator(t *testing.T) {
	t.Parallel()
	snap, err := snapshot.LoadDir(filepath.Join("..", "emulator", "testdata", "basic"))
	if err != nil {
		t.Fatal(err)
	}
	srv, cfg := emulatortest.Start(t, snap, emulator.Options{})
	acct, region := snap.Meta.AccountID, cfg.Region
	mk := func(id, status, acctID string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"SchemaVersion":"2018-10-08","Id":%q,"ProductArn":"arn:aws:securityhub:%s:%s:product/%s/default",
"GeneratorId":"iamprune/UnusedIAMRole","AwsAccountId":%q,"Types":["Software and Configuration Checks/AWS Security Best Practices/Unused Access"],
"CreatedAt":"2026-11-28T00:00:00Z","UpdatedAt":"2026-11-28T00:00:00Z","Severity":{"Label":"MEDIUM","Original":"quarantine-role"},
"Title":"t","Description":"d","Resources":[{"Type":"AwsIamRole","Id":"arn:aws:iam::%s:role/R","Partition":"aws","Region":%q}],
"Workflow":{"Status":%q},"Compliance":{"Status":"FAILED"},"RecordState":"ACTIVE","ProductFields":{"iamprune/kind":"quarantine-role"}}`,
			id, region, acctID, acctID, acctID, acct, region, status))
	}
	h := New(cfg)
	h.Sleep = func(context.Context, time.Duration) error { return nil }
	if rej, err := h.Import(context.Background(), []json.RawMessage{mk("a", "NEW", acct), mk("b", "NEW", acct)}); err != nil || len(rej) != 0 {
		t.Fatalf("first import: %v %+v", err, rej)
	}
	rej, err := h.Import(context.Background(), []json.RawMessage{mk("a", "RESOLVED", acct), mk("c", "NEW", "999999999999")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 || rej[0].ID != "c" || rej[0].Code != "AccessDeniedException" {
		t.Errorf("second import rejected %+v, want c (another account's product)", rej)
	}
	got := srv.HubFindings()
	if len(got) != 2 {
		t.Fatalf("the hub holds %d findings, want 2 (a updated, b): %s", len(got), got)
	}
	var a types.AwsSecurityFinding
	if err := json.Unmarshal(got[0], &a); err != nil || aws.ToString(a.Id) != "a" || a.Workflow == nil || a.Workflow.Status != types.WorkflowStatusNew {
		t.Errorf("finding a = %s, want its workflow kept NEW: an import does not change it (err %v)", got[0], err)
	}
	// The workflow is set with BatchUpdateFindings; an unknown finding is
	// reported.
	arn := "arn:aws:securityhub:" + region + ":" + acct + ":product/" + acct + "/default"
	rej, err = h.SetWorkflow(context.Background(), "RESOLVED", []iamprune.FindingRef{{ID: "a", ProductArn: arn}, {ID: "zz", ProductArn: arn}})
	if err != nil || len(rej) != 1 || rej[0].ID != "zz" || rej[0].Code != "FindingNotFound" {
		t.Errorf("SetWorkflow: %v, rejected %+v; want zz not found", err, rej)
	}
	// GetFindings, through the SDK, sees the same.
	out, err := securityhub.NewFromConfig(cfg).GetFindings(context.Background(), &securityhub.GetFindingsInput{
		Filters: &types.AwsSecurityFindingFilters{Id: []types.StringFilter{{Value: aws.String("a"), Comparison: types.StringFilterComparisonEquals}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Findings) != 1 || out.Findings[0].Workflow.Status != types.WorkflowStatusResolved || out.Findings[0].Severity.Label != types.SeverityLabelMedium {
		t.Errorf("GetFindings(a) = %+v", out.Findings)
	}
}
