package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
)

// allow is a one-statement Allow document on Resource "*".
func allow(actions ...string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"Version":   Version2012,
		"Statement": []any{map[string]any{"Effect": "Allow", "Action": actions, "Resource": "*"}},
	})
	return b
}

func inline(name string, before json.RawMessage, after ...json.RawMessage) iamprune.PolicyChange {
	method := iamprune.MethodPutInline
	if len(after) == 0 {
		method = iamprune.MethodDeleteInline
	}
	return iamprune.PolicyChange{Policy: name, Name: name, Type: iamprune.PolicyInline, Method: method, Before: before, After: after}
}

func managed(arn string, before json.RawMessage, after ...json.RawMessage) iamprune.PolicyChange {
	method := iamprune.MethodNewVersion
	if len(after) == 0 {
		method = iamprune.MethodDetach
	}
	return iamprune.PolicyChange{Policy: arn, Name: arn[strings.LastIndex(arn, "/")+1:], Type: iamprune.PolicyManaged, Method: method, Before: before, After: after}
}

func create(id string, doc json.RawMessage) iamprune.RecommendedStep {
	return iamprune.RecommendedStep{Action: RecommendCreatePolicy, ExistingPolicyID: id, Policy: doc}
}

func detach(id string) iamprune.RecommendedStep {
	return iamprune.RecommendedStep{Action: RecommendDetachPolicy, ExistingPolicyID: id}
}

func succeeded(steps ...iamprune.RecommendedStep) iamprune.Recommendation {
	return iamprune.Recommendation{FindingID: "f1", Status: "SUCCEEDED", Type: "UnusedPermissionRecommendation", Steps: steps}
}

const managedARN = "arn:aws:iam::111122223333:policy/app"

func TestCompareRecommendation(t *testing.T) {
	sqs3 := allow("sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage")
	// A Deny in the current document: neither side "removes" what it denies.
	withDeny := json.RawMessage(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"sqs:*","Resource":"*"},
		{"Effect":"Deny","NotAction":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"*"}]}`)
	tests := []struct {
		name         string
		changes      []iamprune.PolicyChange
		rec          iamprune.Recommendation
		agrees       bool
		onlyIAMPrune []string
		onlyAnalyzer []string
		detail       string // a substring of Detail; "" wants none
	}{
		{
			name:    "agreeing inline rewrite, spelled differently",
			changes: []iamprune.PolicyChange{inline("queues", sqs3, allow("sqs:SendMessage"))},
			rec:     succeeded(create("QUEUES", allow("SQS:sendmessage"))),
			agrees:  true,
		},
		{
			name:         "iamprune removes more",
			changes:      []iamprune.PolicyChange{inline("queues", sqs3, allow("sqs:SendMessage"))},
			rec:          succeeded(create("queues", allow("sqs:SendMessage", "sqs:DeleteMessage"))),
			onlyIAMPrune: []string{"sqs:deletemessage"},
		},
		{
			name:         "analyzer removes more",
			changes:      []iamprune.PolicyChange{inline("queues", sqs3, allow("sqs:SendMessage", "sqs:ReceiveMessage"))},
			rec:          succeeded(create("queues", allow("sqs:SendMessage"))),
			onlyAnalyzer: []string{"sqs:receivemessage"},
		},
		{
			name:    "both detach",
			changes: []iamprune.PolicyChange{managed(managedARN, sqs3)},
			rec:     succeeded(detach(managedARN)),
			agrees:  true,
		},
		{
			name:         "analyzer detaches what iamprune rewrites",
			changes:      []iamprune.PolicyChange{managed(managedARN, sqs3, allow("sqs:SendMessage"))},
			rec:          succeeded(detach(managedARN)),
			onlyAnalyzer: []string{"sqs:sendmessage"},
		},
		{
			name:    "create and detach of a managed policy is a replacement",
			changes: []iamprune.PolicyChange{managed(managedARN, sqs3, allow("sqs:SendMessage"))},
			rec:     succeeded(create(managedARN, allow("sqs:SendMessage")), detach(managedARN)),
			agrees:  true,
		},
		{
			name: "iamprune splits its refined grant",
			changes: []iamprune.PolicyChange{managed(managedARN, sqs3,
				allow("sqs:SendMessage"), allow("sqs:ReceiveMessage"))},
			rec:    succeeded(create(managedARN, allow("sqs:ReceiveMessage", "sqs:SendMessage"))),
			agrees: true,
		},
		{
			name:    "wildcards are compared as the actions they grant",
			changes: []iamprune.PolicyChange{inline("queues", allow("sqs:*"), allow("sqs:Send*", "sqs:ReceiveMessage"))},
			rec:     succeeded(create("queues", allow("sqs:SendMessage", "sqs:SendMessageBatch", "sqs:ReceiveMessage"))),
			agrees:  true,
		},
		{
			name:    "denied actions count on neither side",
			changes: []iamprune.PolicyChange{inline("queues", withDeny, allow("sqs:SendMessage"))},
			rec:     succeeded(create("queues", allow("sqs:SendMessage"))),
			agrees:  true,
		},
		{
			name:         "no step for a policy iamprune changes",
			changes:      []iamprune.PolicyChange{inline("queues", sqs3, allow("sqs:SendMessage")), inline("other", allow("sns:Publish"))},
			rec:          succeeded(create("queues", allow("sqs:SendMessage"))),
			onlyIAMPrune: []string{"sns:publish"},
		},
		{
			name:    "step for a policy iamprune leaves unchanged",
			changes: []iamprune.PolicyChange{inline("queues", sqs3, allow("sqs:SendMessage"))},
			rec:     succeeded(create("queues", allow("sqs:SendMessage")), detach("arn:aws:iam::aws:policy/ReadOnlyAccess")),
			detail:  "arn:aws:iam::aws:policy/ReadOnlyAccess): iamprune leaves this policy unchanged",
		},
		{
			name:    "inline names do not match managed ARNs",
			changes: []iamprune.PolicyChange{managed(managedARN, sqs3)},
			rec:     succeeded(detach("app")),
			// iamprune detaches; the recommendation's step names something else.
			onlyIAMPrune: []string{"sqs:deletemessage", "sqs:receivemessage", "sqs:sendmessage"},
			detail:       "step 1 (DETACH_POLICY app): iamprune leaves this policy unchanged",
		},
		{
			name:         "unreadable recommended policy",
			changes:      []iamprune.PolicyChange{inline("queues", sqs3, allow("sqs:SendMessage"))},
			rec:          succeeded(create("queues", json.RawMessage(`{"Statement":`))),
			onlyIAMPrune: []string{"sqs:deletemessage", "sqs:receivemessage"},
			detail:       "unreadable recommended policy",
		},
		{
			name:    "step without a policy",
			changes: []iamprune.PolicyChange{inline("queues", sqs3, allow("sqs:SendMessage"))},
			rec:     succeeded(create("queues", allow("sqs:SendMessage")), create("", allow("sqs:SendMessage"))),
			detail:  "step 2 (CREATE_POLICY): names no existing policy",
		},
		{
			name:    "unknown recommended action",
			changes: []iamprune.PolicyChange{inline("queues", sqs3, allow("sqs:SendMessage"))},
			rec: succeeded(create("queues", allow("sqs:SendMessage")),
				iamprune.RecommendedStep{Action: "SPLIT_POLICY", ExistingPolicyID: "queues"}),
			detail: "unknown recommended action",
		},
		{
			name:    "no changes, no steps",
			changes: nil,
			rec:     succeeded(),
			agrees:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CompareRecommendation(tt.changes, tt.rec)
			if got.Status != "SUCCEEDED" || got.Type != "UnusedPermissionRecommendation" {
				t.Errorf("status %q type %q", got.Status, got.Type)
			}
			if got.Agrees != tt.agrees {
				t.Errorf("agrees = %v, want %v (%+v)", got.Agrees, tt.agrees, got)
			}
			if !slices.Equal(got.OnlyIAMPrune, tt.onlyIAMPrune) {
				t.Errorf("only iamprune = %q, want %q", got.OnlyIAMPrune, tt.onlyIAMPrune)
			}
			if !slices.Equal(got.OnlyAnalyzer, tt.onlyAnalyzer) {
				t.Errorf("only analyzer = %q, want %q", got.OnlyAnalyzer, tt.onlyAnalyzer)
			}
			switch {
			case tt.detail == "" && got.Detail != "":
				t.Errorf("detail = %q, want none", got.Detail)
			case !strings.Contains(got.Detail, tt.detail):
				t.Errorf("detail = %q, want it to contain %q", got.Detail, tt.detail)
			}
		})
	}
}

func TestCompareRecommendationNotSucceeded(t *testing.T) {
	changes := []iamprune.PolicyChange{inline("queues", allow("sqs:SendMessage"))}
	tests := []struct {
		rec    iamprune.Recommendation
		status string
		detail string
	}{
		{iamprune.Recommendation{Status: "FAILED", Error: "InternalError: try later"}, "FAILED", "could not make a recommendation: InternalError: try later"},
		{iamprune.Recommendation{Status: "IN_PROGRESS"}, "IN_PROGRESS", "had not finished"},
		{iamprune.Recommendation{Status: "IN_PROGRESS", Error: "gave up after 1m0s"}, "IN_PROGRESS", "gave up after 1m0s"},
		{iamprune.Recommendation{}, "unavailable", "could not be read"},
		{iamprune.Recommendation{Status: "unavailable", Error: "AccessDeniedException"}, "unavailable", "AccessDeniedException"},
		{iamprune.Recommendation{Status: "PAUSED"}, "PAUSED", `unknown recommendation status "PAUSED"`},
	}
	for _, tt := range tests {
		got := CompareRecommendation(changes, tt.rec)
		if got.Agrees || got.Status != tt.status || !strings.Contains(got.Detail, tt.detail) || got.OnlyIAMPrune != nil {
			t.Errorf("%+v: got %+v, want status %q and detail containing %q", tt.rec, got, tt.status, tt.detail)
		}
	}
}

// A whole-service difference is listed capped, with the count of the rest.
func TestCompareRecommendationCapped(t *testing.T) {
	all := catalog.Actions("s3")
	if len(all) <= maxCheckListed {
		t.Fatalf("s3 has %d actions; the test needs more than %d", len(all), maxCheckListed)
	}
	got := CompareRecommendation(
		[]iamprune.PolicyChange{inline("storage", allow("s3:*"))},
		succeeded())
	if got.Agrees || len(got.OnlyIAMPrune) != maxCheckListed+1 {
		t.Fatalf("got %d entries, want %d: %+v", len(got.OnlyIAMPrune), maxCheckListed+1, got)
	}
	if last, want := got.OnlyIAMPrune[maxCheckListed], fmt.Sprintf("… and %d more", len(all)-maxCheckListed); last != want {
		t.Errorf("last entry = %q, want %q", last, want)
	}
	listed := got.OnlyIAMPrune[:maxCheckListed]
	if !slices.IsSorted(listed) || listed[0] != strings.ToLower(all[0].String()) {
		t.Errorf("entries not the sorted lower-case actions: %q", listed[:3])
	}
}
