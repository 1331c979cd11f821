package trigger

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func load(t *testing.T, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name, "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClassifyFinding(t *testing.T) {
	tests := []struct {
		name string
		want Finding
	}{
		{"finding-active", Finding{
			EventID: "dc7ce3ee-114b-3243-e249-7f10f9054b21", Account: "111122223333", Region: "us-east-1",
			Time:        time.Date(2026, 11, 27, 18, 5, 40, 0, time.UTC),
			AnalyzerARN: "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/unused-access-analyzer",
			FindingID:   "65aa927d-7ce4-4bb8-bc4f-f87d4c7138be", Version: "62160bda-8e94-46d6-ac97-9670930d8ffb",
			Status: "ACTIVE", FindingType: "UnusedIAMUserAccessKey",
			Resource: "arn:aws:iam::111122223333:user/alice", ResourceAccount: "111122223333",
		}},
		{"finding-deleted", Finding{
			EventID: "7a1d4f0e-5b2c-4e7f-9a3b-2c1d0e9f8a7b", Account: "111122223333", Region: "us-east-1",
			Time:        time.Date(2026, 11, 27, 18, 5, 40, 0, time.UTC),
			AnalyzerARN: "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/unused-access-analyzer",
			FindingID:   "65aa927d-7ce4-4bb8-bc4f-f87d4c7138be", Version: "0b6f7d8e-1a2b-4c3d-9e8f-7a6b5c4d3e2f",
			IsDeleted: true, Status: "RESOLVED", FindingType: "UnusedIAMUserAccessKey",
			Resource: "arn:aws:iam::111122223333:user/alice", ResourceAccount: "111122223333",
		}},
		{"finding-org-error", Finding{
			EventID: "c2e7aa1a-4df7-7652-f33e-64113b8997d4", Account: "111122223333", Region: "us-west-2",
			Time:        time.Date(2023, 10, 31, 20, 26, 12, 0, time.UTC),
			AnalyzerARN: "arn:aws:access-analyzer:us-west-2:111122223333:analyzer/ba811f91-de99-41a4-97c0-7481898b53f2",
			FindingID:   "b01a34f2-e118-46c9-aef8-0d8526b495c7", Version: "7c7a72a2-7963-4c59-ac71-f0be597010f7",
			Status: "ACTIVE", FindingType: "UnusedIAMRole",
			Resource: "arn:aws:iam::444455556666:role/TestRole", ResourceAccount: "444455556666",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Classify(load(t, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if in.Kind != KindFinding || in.Finding == nil || in.Records != nil || in.Sweep != nil {
				t.Fatalf("got %+v, want only a finding", in)
			}
			if *in.Finding != tt.want {
				t.Errorf("got\n%+v\nwant\n%+v", *in.Finding, tt.want)
			}
			if got, want := in.Finding.DedupKey(), DedupKey(tt.want.FindingID, tt.want.Version); got != want {
				t.Errorf("DedupKey = %q, want %q", got, want)
			}
		})
	}
}

func TestClassifySQS(t *testing.T) {
	in, err := Classify(load(t, "sqs-batch"))
	if err != nil {
		t.Fatal(err)
	}
	if in.Kind != KindSQS || len(in.Records) != 3 {
		t.Fatalf("got %+v, want 3 SQS records", in)
	}
	good := in.Records[0]
	if good.MessageID != "059f36b4-87a3-44ab-83d2-661975830a7d" || good.Err != nil || good.Finding == nil ||
		good.Finding.FindingID != "65aa927d-7ce4-4bb8-bc4f-f87d4c7138be" {
		t.Errorf("record 0 = %+v (finding %+v)", good, good.Finding)
	}
	for i, want := range []struct{ id, field string }{
		{"2e1424d4-f796-459a-8184-9c92662be6da", "Records[1].body.detail.findingId: missing"},
		{"4c1e2f3a-0b9d-4e8f-a7c6-5d4b3a2f1e0d", "Records[2].body: not a JSON object"},
	} {
		r := in.Records[i+1]
		if r.MessageID != want.id || r.Finding != nil || r.Err == nil {
			t.Fatalf("record %d = %+v, want a failure of %s", i+1, r, want.id)
		}
		if iamprune.ErrorCode(r.Err) != iamprune.EINVALID || !strings.Contains(r.Err.Error(), want.field) {
			t.Errorf("record %d error = %v, want EINVALID naming %q", i+1, r.Err, want.field)
		}
	}
}

func TestClassifySweep(t *testing.T) {
	tests := []struct {
		name string
		want Sweep
	}{
		{"scheduled-rule", Sweep{Source: "arn:aws:events:us-east-1:111122223333:rule/iamprune-sweep",
			ID: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", Time: time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC), Account: "111122223333"}},
		{"scheduler-payload", Sweep{Source: "arn:aws:scheduler:us-east-1:111122223333:schedule/default/iamprune-sweep",
			ID: "d2d5e4a0-3b1c-4f5e-8a9b-0c1d2e3f4a5b", Time: time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC), Account: "111122223333"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Classify(load(t, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if in.Kind != KindSweep || in.Sweep == nil || in.Finding != nil {
				t.Fatalf("got %+v, want a sweep", in)
			}
			if *in.Sweep != tt.want {
				t.Errorf("got %+v, want %+v", *in.Sweep, tt.want)
			}
		})
	}
}

func TestClassifyInvalid(t *testing.T) {
	tests := []struct {
		name string
		want string // the field named, with what is wrong
	}{
		{"missing-finding-id", "detail.findingId: missing"},
		{"version-not-string", "detail.version: is a JSON number, want string"},
		{"bad-analyzer-arn", "resources[0]: \"arn:aws:iam::111122223333:user/alice\" is not an analyzer ARN"},
		{"external-access-event", "detail-type: \"Access Analyzer Finding\""},
		{"wrong-source", "source: \"my.app\""},
		{"bad-time", "bad time"},
		{"not-json", "event: not valid JSON"},
		{"empty-object", "event: not an EventBridge event"},
		{"array", "event: not a JSON object"},
		{"sqs-no-message-id", "Records[0].messageId: missing"},
		{"sqs-empty", "Records: empty"},
		{"scheduler-wrong-action", "action: \"delete-everything\", want \"sweep\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Classify(load(t, tt.name))
			if err == nil {
				t.Fatalf("no error; got %+v", in)
			}
			if iamprune.ErrorCode(err) != iamprune.EINVALID {
				t.Errorf("code %q, want EINVALID: %v", iamprune.ErrorCode(err), err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if in.Kind != "" {
				t.Errorf("kind %q returned with an error", in.Kind)
			}
		})
	}
}

func TestDedupKey(t *testing.T) {
	a, b := DedupKey("f1", "v1"), DedupKey("f1", "v2")
	if a == b || a != DedupKey("f1", "v1") {
		t.Errorf("keys %q and %q: want equal for the same version only", a, b)
	}
	// The separator cannot be produced by shifting characters across.
	if DedupKey("f@1", "v") == DedupKey("f", "1@v") {
		t.Error("ambiguous keys")
	}
}

// A queue body with the iamprune_sweep key is a fanned-out sweep's
// message, checked field by field; anything else must be a finding event.
func TestSweepMessageBody(t *testing.T) {
	f, m, err := Body([]byte(`{"iamprune_sweep":1,"sweep_id":"s-1","account":"444455556666","page":2,"pages":3,"page_token":"tok","page_size":100}`))
	if err != nil || f != nil || m == nil {
		t.Fatalf("Body = %+v, %+v, %v", f, m, err)
	}
	want := iamprune.SweepMessage{Version: 1, SweepID: "s-1", Account: "444455556666", Page: 2, Pages: 3, PageToken: "tok", PageSize: 100}
	if *m != want || m.Key() != "444455556666/2" {
		t.Errorf("message %+v, want %+v", *m, want)
	}
	for body, msg := range map[string]string{
		`{"iamprune_sweep":2,"sweep_id":"s","account":"444455556666","page":1,"pages":1}`:   "version 2",
		`{"iamprune_sweep":1,"sweep_id":"s","account":"4444","page":1,"pages":1}`:           "account",
		`{"iamprune_sweep":1,"sweep_id":"s","account":"444455556666","page":2,"pages":1}`:   "page: 2 of 1",
		`{"iamprune_sweep":"1","sweep_id":"s","account":"444455556666","page":1,"pages":1}`: "iamprune_sweep",
		`{"hello":1}`: "detail-type",
	} {
		if _, _, err := Body([]byte(body)); iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), msg) {
			t.Errorf("Body(%s) = %v, want EINVALID naming %s", body, err, msg)
		}
	}
}
