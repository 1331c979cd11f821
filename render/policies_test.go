package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

func TestPolicyChanges(t *testing.T) {
	p := &iamprune.Plan{Account: "111122223333", Actions: []iamprune.Action{{
		ID: "a1", Account: "111122223333", Principal: "arn:aws:iam::111122223333:role/app", FindingType: iamprune.UnusedPermission,
		Kind: iamprune.KindRewritePolicy, Target: "app", Services: []string{"ec2"}, Reason: "1 service unused",
		Policies: []iamprune.PolicyChange{{
			Policy: "inline-app", Type: iamprune.PolicyInline, Name: "inline-app", Method: iamprune.MethodPutInline,
			Before:   json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}`),
			After:    []json.RawMessage{json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}]}`)},
			Evidence: "- `ec2`, last accessed 2026-05-12",
		}},
		Recommendation: &iamprune.RecommendationCheck{Status: "SUCCEEDED", OnlyAnalyzer: []string{"s3:deletebucket"}},
	}}}
	var md bytes.Buffer
	if err := (Markdown{}).Render(&md, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"```diff", `-        "ec2:DescribeInstances"`, "- `ec2`, last accessed 2026-05-12", "only Access Analyzer removes s3:deletebucket", "`inline-app` (inline, put-inline)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	var tb bytes.Buffer
	if err := (Table{}).Render(&tb, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tb.String(), "Policy changes: 1 policy") || !strings.Contains(tb.String(), "Access Analyzer's recommendation differs") {
		t.Errorf("table:\n%s", tb.String())
	}
}
