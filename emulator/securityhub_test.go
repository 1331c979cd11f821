package emulator

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
)

func hubClient(env *testEnv) *securityhub.Client {
	return securityhub.NewFromConfig(sdkConfig(3), func(o *securityhub.Options) { o.BaseEndpoint = aws.String(env.url) })
}

// hubFinding is a valid ASFF finding of the basic snapshot's account.
func hubFinding(env *testEnv, id string) types.AwsSecurityFinding {
	acct := env.snap.Meta.AccountID
	return types.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"),
		Id:            aws.String(id),
		ProductArn:    aws.String("arn:aws:securityhub:us-east-1:" + acct + ":product/" + acct + "/default"),
		GeneratorId:   aws.String("iamprune/UnusedIAMRole"),
		AwsAccountId:  aws.String(acct),
		Types:         []string{"Software and Configuration Checks/AWS Security Best Practices/Unused Access"},
		CreatedAt:     aws.String("2026-11-28T00:00:00Z"),
		UpdatedAt:     aws.String("2026-11-28T00:00:00Z"),
		Severity:      &types.Severity{Label: types.SeverityLabelMedium},
		Title:         aws.String("Unused IAM role " + id),
		Description:   aws.String("role not assumed"),
		Resources:     []types.Resource{{Type: aws.String("AwsIamRole"), Id: aws.String("arn:aws:iam::" + acct + ":role/" + id)}},
		Workflow:      &types.Workflow{Status: types.WorkflowStatusNew},
	}
}

// BatchImportFindings stores valid findings, upserts by Id, and answers
// each invalid one in FailedFindings with the reason; GetFindings pages.
func TestSecurityHubImportValidatesAndUpserts(t *testing.T) {
	t.Parallel()
	env := newEnv(t, "basic", Options{})
	c := hubClient(env)
	ctx := context.Background()
	var batch []types.AwsSecurityFinding
	for i := range 5 {
		batch = append(batch, hubFinding(env, fmt.Sprintf("f%d", i)))
	}
	noTitle := hubFinding(env, "no-title")
	noTitle.Title = aws.String("")
	long := hubFinding(env, "long")
	long.Description = aws.String(strings.Repeat("x", 1025))
	foreign := hubFinding(env, "foreign")
	foreign.ProductArn = aws.String("arn:aws:securityhub:us-east-1:999999999999:product/999999999999/default")
	out, err := c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: append(batch, noTitle, long, foreign)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.SuccessCount) != 5 || aws.ToInt32(out.FailedCount) != 3 {
		t.Fatalf("success %d failed %d, want 5 and 3: %+v", aws.ToInt32(out.SuccessCount), aws.ToInt32(out.FailedCount), out.FailedFindings)
	}
	want := map[string]string{"no-title": "InvalidInput", "long": "InvalidInput", "foreign": "AccessDeniedException"}
	for _, f := range out.FailedFindings {
		if want[aws.ToString(f.Id)] != aws.ToString(f.ErrorCode) || aws.ToString(f.ErrorMessage) == "" {
			t.Errorf("failed %s: %s %q", aws.ToString(f.Id), aws.ToString(f.ErrorCode), aws.ToString(f.ErrorMessage))
		}
	}
	// An import does not change the workflow of a finding that exists;
	// BatchUpdateFindings does, and a compliance status leaving PASSED
	// resets RESOLVED to NEW. Inject one rejection of f2.
	f1 := hubFinding(env, "f1")
	f1.Workflow = &types.Workflow{Status: types.WorkflowStatusResolved}
	f1.Compliance = &types.Compliance{Status: types.ComplianceStatusPassed}
	env.srv.RejectFinding("f2", "InternalFailure", "try again", 1)
	out, err = c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{f1, hubFinding(env, "f2")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.FailedFindings) != 1 || aws.ToString(out.FailedFindings[0].ErrorCode) != "InternalFailure" {
		t.Errorf("FailedFindings %+v, want f2 InternalFailure once", out.FailedFindings)
	}
	if out, _ = c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{hubFinding(env, "f2")}}); len(out.FailedFindings) != 0 {
		t.Errorf("the injected rejection of f2 was not used up: %+v", out.FailedFindings)
	}
	workflow := func(id string) types.WorkflowStatus {
		got, err := c.GetFindings(ctx, &securityhub.GetFindingsInput{Filters: &types.AwsSecurityFindingFilters{
			Id: []types.StringFilter{{Value: aws.String(id), Comparison: types.StringFilterComparisonEquals}}}})
		if err != nil || len(got.Findings) != 1 {
			t.Fatalf("GetFindings(%s): %v %d", id, err, len(got.Findings))
		}
		return got.Findings[0].Workflow.Status
	}
	if w := workflow("f1"); w != types.WorkflowStatusNew {
		t.Errorf("f1 workflow after an import saying RESOLVED: %s, want NEW kept", w)
	}
	acct := env.snap.Meta.AccountID
	prod := aws.String("arn:aws:securityhub:us-east-1:" + acct + ":product/" + acct + "/default")
	up, err := c.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []types.AwsSecurityFindingIdentifier{{Id: aws.String("f1"), ProductArn: prod}, {Id: aws.String("nope"), ProductArn: prod}},
		Workflow:           &types.WorkflowUpdate{Status: types.WorkflowStatusResolved}})
	if err != nil || len(up.ProcessedFindings) != 1 || len(up.UnprocessedFindings) != 1 || workflow("f1") != types.WorkflowStatusResolved {
		t.Errorf("BatchUpdateFindings: %v %+v, f1 %s", err, up, workflow("f1"))
	}
	f1.Compliance = &types.Compliance{Status: types.ComplianceStatusFailed}
	if _, err := c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{f1}}); err != nil {
		t.Fatal(err)
	}
	if w := workflow("f1"); w != types.WorkflowStatusNew {
		t.Errorf("f1 workflow after compliance PASSED -> FAILED: %s, want reset to NEW", w)
	}
	if n := len(env.srv.HubFindings()); n != 5 {
		t.Errorf("the hub holds %d findings, want 5 (updates in place)", n)
	}
	var ids []string
	var token *string
	for page := 0; ; page++ {
		got, err := c.GetFindings(ctx, &securityhub.GetFindingsInput{MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range got.Findings {
			ids = append(ids, aws.ToString(f.Id))
		}
		if token = got.NextToken; token == nil {
			break
		}
	}
	if strings.Join(ids, ",") != "f0,f1,f2,f3,f4" {
		t.Errorf("GetFindings pages gave %v", ids)
	}
	many := make([]types.AwsSecurityFinding, 101)
	for i := range many {
		many[i] = hubFinding(env, fmt.Sprintf("m%d", i))
	}
	_, err = c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: many})
	wantAPIError(t, err, "InvalidInputException", 400)
}
