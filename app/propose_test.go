package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// Proposals are re-checked like apply's changes: protected principals,
// exceptions added since the plan, and documents that are not a narrowing
// are not proposed, and say why.
func TestProposableGuards(t *testing.T) {
	before := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}`)
	narrowed := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}]}`)
	admin := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	entry := func(principal string, after json.RawMessage) iamprune.Action {
		return iamprune.Action{Kind: iamprune.KindProposePolicy, Principal: principal, FindingType: iamprune.UnusedPermission, Account: "111122223333",
			Services: []string{"ec2"}, Policies: []iamprune.PolicyChange{{Policy: "p", Name: "p", Type: iamprune.PolicyInline, Before: before, After: []json.RawMessage{after}}}}
	}
	cfg := iamprune.DefaultConfig()
	cfg.Protected = []string{"arn:aws:iam::*:role/BreakGlass*"}
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	p := &Planned{Inputs: Inputs{Config: cfg, Now: now, Exceptions: []iamprune.Exception{
		{Principal: "arn:aws:iam::111122223333:role/exempt", Services: []string{"ec2"}, Expires: now.AddDate(0, 1, 0)},
	}}}
	keep, dropped := proposable(p, []iamprune.Action{
		entry("arn:aws:iam::111122223333:role/app", narrowed),
		entry("arn:aws:iam::111122223333:role/BreakGlassAdmin", narrowed),
		entry("arn:aws:iam::111122223333:role/exempt", narrowed),
		entry("arn:aws:iam::111122223333:role/tampered", admin),
	})
	if len(keep) != 1 || keep[0].Principal != "arn:aws:iam::111122223333:role/app" {
		t.Errorf("kept %v", keep)
	}
	got := strings.Join(dropped, "\n")
	for _, want := range []string{"BreakGlassAdmin: protected", "exempt: exempt by exception", "tampered p: refused"} {
		if !strings.Contains(got, want) {
			t.Errorf("dropped lacks %q:\n%s", want, got)
		}
	}
}
