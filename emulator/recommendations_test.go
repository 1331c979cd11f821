package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
)

// The recommend snapshot's analyzer is the default one of its account.
const recAnalyzerARN = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/iamprune-unused-access"

func recEnv(t *testing.T) *testEnv {
	t.Helper()
	clock := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	return newEnv(t, "recommend", Options{Now: func() time.Time { return clock }})
}

func generateRec(t *testing.T, env *testEnv, id string) {
	t.Helper()
	_, err := env.aa.GenerateFindingRecommendation(context.Background(), &accessanalyzer.GenerateFindingRecommendationInput{
		AnalyzerArn: aws.String(recAnalyzerARN), Id: aws.String(id),
	})
	if err != nil {
		t.Fatalf("GenerateFindingRecommendation(%s): %v", id, err)
	}
}

func getRec(env *testEnv, id string, maxResults int32, token *string) (*accessanalyzer.GetFindingRecommendationOutput, error) {
	in := &accessanalyzer.GetFindingRecommendationInput{AnalyzerArn: aws.String(recAnalyzerARN), Id: aws.String(id), NextToken: token}
	if maxResults > 0 {
		in.MaxResults = aws.Int32(maxResults)
	}
	return env.aa.GetFindingRecommendation(context.Background(), in)
}

// allSteps reads every page of a finished recommendation, limit steps a page.
func allSteps(t *testing.T, env *testEnv, id string, limit int32) (*accessanalyzer.GetFindingRecommendationOutput, []types.RecommendedStep, int) {
	t.Helper()
	p := accessanalyzer.NewGetFindingRecommendationPaginator(env.aa, &accessanalyzer.GetFindingRecommendationInput{
		AnalyzerArn: aws.String(recAnalyzerARN), Id: aws.String(id),
	}, func(o *accessanalyzer.GetFindingRecommendationPaginatorOptions) { o.Limit = limit })
	var (
		first *accessanalyzer.GetFindingRecommendationOutput
		steps []types.RecommendedStep
		pages int
	)
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = out
		}
		pages++
		steps = append(steps, out.RecommendedSteps...)
	}
	return first, steps, pages
}

type wantStep struct {
	action  types.RecommendedRemediationAction
	id      string
	updated *time.Time
	policy  string // compact JSON; "" for none
}

func checkSteps(t *testing.T, got []types.RecommendedStep, want []wantStep) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d steps, want %d: %+v", len(got), len(want), got)
	}
	for i, g := range got {
		m, ok := g.(*types.RecommendedStepMemberUnusedPermissionsRecommendedStep)
		if !ok {
			t.Fatalf("step %d is %T", i, g)
		}
		v, w := m.Value, want[i]
		if v.RecommendedAction != w.action || aws.ToString(v.ExistingPolicyId) != w.id || !timeEq(v.PolicyUpdatedAt, w.updated) {
			t.Errorf("step %d = %s %s %v, want %s %s %v", i, v.RecommendedAction, aws.ToString(v.ExistingPolicyId), v.PolicyUpdatedAt, w.action, w.id, w.updated)
		}
		if got := aws.ToString(v.RecommendedPolicy); got != w.policy {
			t.Errorf("step %d policy\n got %s\nwant %s", i, got, w.policy)
		}
	}
}

// The role's URL-encoded inline policy loses its unused actions, the
// managed one the unused action of a used service, the policy granting
// only an unused service is detached, and the policy granting nothing
// unused gets no step. ec2:Describe* stays: the emulator does not expand
// wildcards other than svc:*.
var appSteps = []wantStep{
	{types.RecommendedRemediationActionCreatePolicy, "app-inline", nil,
		`{"Version":"2012-10-17","Statement":[{"Sid":"Data","Effect":"Allow","Action":["s3:GetObject","ec2:Describe*"],"Resource":"*"}]}`},
	{types.RecommendedRemediationActionCreatePolicy, "arn:aws:iam::111122223333:policy/app-managed", ptrTime("2025-03-04T05:06:07Z"),
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:GetItem"],"Resource":"*"},{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}]}`},
	{types.RecommendedRemediationActionDetachPolicy, "arn:aws:iam::111122223333:policy/queues-only", ptrTime("2025-04-05T06:07:08Z"), ""},
}

func TestFindingRecommendationLifecycle(t *testing.T) {
	env := recEnv(t)
	generateRec(t, env, "f-perm-app")

	// The first poll finds the job running.
	out, err := getRec(env, "f-perm-app", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != types.StatusInProgress || len(out.RecommendedSteps) != 0 || out.CompletedAt != nil || out.NextToken != nil {
		t.Errorf("first poll = %+v, want IN_PROGRESS without steps", out)
	}
	if aws.ToString(out.ResourceArn) != "arn:aws:iam::111122223333:role/app" || out.RecommendationType != types.RecommendationTypeUnusedPermissionRecommendation ||
		!timeEq(out.StartedAt, ptrTime("2026-11-28T12:00:00Z")) {
		t.Errorf("first poll = %s %s %v", aws.ToString(out.ResourceArn), out.RecommendationType, out.StartedAt)
	}

	// Then it is done, one step a page.
	first, steps, pages := allSteps(t, env, "f-perm-app", 1)
	if first.Status != types.StatusSucceeded || first.Error != nil || !timeEq(first.CompletedAt, ptrTime("2026-11-28T12:00:00Z")) {
		t.Errorf("finished = %+v", first)
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	checkSteps(t, steps, appSteps)

	// All at once, too.
	_, steps, pages = allSteps(t, env, "f-perm-app", 0)
	if pages != 1 {
		t.Errorf("%d pages without maxResults, want 1", pages)
	}
	checkSteps(t, steps, appSteps)

	var ops []string
	for _, c := range env.srv.Calls() {
		ops = append(ops, c.Operation)
	}
	want := []string{"GenerateFindingRecommendation", "GetFindingRecommendation", "GetFindingRecommendation",
		"GetFindingRecommendation", "GetFindingRecommendation", "GetFindingRecommendation"}
	if !slices.Equal(ops, want) {
		t.Errorf("calls = %v, want %v", ops, want)
	}
	if w := env.srv.Writes(); len(w) != 0 {
		t.Errorf("recommendations change nothing, but Writes = %v", w)
	}
}

func TestFindingRecommendationUserInlineDetach(t *testing.T) {
	env := recEnv(t)
	env.srv.SetRecommendationPolls(0)
	generateRec(t, env, "f-perm-bob")
	out, steps, _ := allSteps(t, env, "f-perm-bob", 0)
	if out.Status != types.StatusSucceeded || aws.ToString(out.ResourceArn) != "arn:aws:iam::111122223333:user/dev/bob" {
		t.Errorf("got %+v", out)
	}
	checkSteps(t, steps, []wantStep{{types.RecommendedRemediationActionDetachPolicy, "bob-queues", nil, ""}})
}

func TestFindingRecommendationPolls(t *testing.T) {
	env := recEnv(t)
	env.srv.SetRecommendationPolls(3)
	generateRec(t, env, "f-perm-app")
	var statuses []types.Status
	for range 5 {
		out, err := getRec(env, "f-perm-app", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, out.Status)
	}
	want := []types.Status{"IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED", "SUCCEEDED"}
	if !slices.Equal(statuses, want) {
		t.Errorf("statuses = %v, want %v", statuses, want)
	}
}

// Generating again while a job runs is a conflict; once it is done, a new
// job starts, and the old job's page tokens no longer work.
func TestFindingRecommendationRegenerate(t *testing.T) {
	env := recEnv(t)
	ctx := context.Background()
	generateRec(t, env, "f-perm-app")
	_, err := env.aa.GenerateFindingRecommendation(ctx, &accessanalyzer.GenerateFindingRecommendationInput{
		AnalyzerArn: aws.String(recAnalyzerARN), Id: aws.String("f-perm-app"),
	})
	wantAPIError(t, err, "ConflictException", 409)

	if _, err := getRec(env, "f-perm-app", 0, nil); err != nil { // IN_PROGRESS
		t.Fatal(err)
	}
	out, err := getRec(env, "f-perm-app", 1, nil)
	if err != nil || out.Status != types.StatusSucceeded || out.NextToken == nil {
		t.Fatalf("got %+v, %v; want SUCCEEDED with a next page", out, err)
	}
	generateRec(t, env, "f-perm-app")
	if out, err := getRec(env, "f-perm-app", 0, nil); err != nil || out.Status != types.StatusInProgress {
		t.Fatalf("new job: %+v, %v; want IN_PROGRESS", out, err)
	}
	_, err = getRec(env, "f-perm-app", 1, out.NextToken)
	wantAPIError(t, err, "ValidationException", 400)
}

func TestFindingRecommendationFailed(t *testing.T) {
	env := recEnv(t)
	env.srv.SetRecommendationPolls(0)
	if err := env.srv.FailRecommendation("f-perm-app", "InternalFailure", "could not read the policies"); err != nil {
		t.Fatal(err)
	}
	generateRec(t, env, "f-perm-app")
	out, err := getRec(env, "f-perm-app", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != types.StatusFailed || out.Error == nil || aws.ToString(out.Error.Code) != "InternalFailure" ||
		aws.ToString(out.Error.Message) != "could not read the policies" || len(out.RecommendedSteps) != 0 || out.CompletedAt == nil {
		t.Errorf("got %+v (error %+v)", out, out.Error)
	}

	// A principal the account does not hold fails on its own.
	generateRec(t, env, "f-perm-gone")
	out, err = getRec(env, "f-perm-gone", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != types.StatusFailed || out.Error == nil || aws.ToString(out.Error.Code) == "" {
		t.Errorf("missing principal: got %+v", out)
	}
}

// Overrides replace the computed steps of jobs that finish afterwards,
// including union members the SDK does not know.
func TestFindingRecommendationOverride(t *testing.T) {
	env := recEnv(t)
	generateRec(t, env, "f-perm-app") // the override applies to a job already running
	updated := ptrTime("2026-01-02T03:04:05Z")
	err := env.srv.SetRecommendation("f-perm-app",
		iamprune.RecommendedStep{Action: "CREATE_POLICY", ExistingPolicyID: "app-inline", Policy: json.RawMessage(`{ "Version": "2012-10-17", "Statement": [] }`)},
		iamprune.RecommendedStep{Action: "DETACH_POLICY", ExistingPolicyID: "arn:aws:iam::111122223333:policy/keys", PolicyUpdatedAt: updated})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := getRec(env, "f-perm-app", 0, nil); err != nil || out.Status != types.StatusInProgress {
		t.Fatalf("first poll: %+v, %v", out, err)
	}
	_, steps, _ := allSteps(t, env, "f-perm-app", 0)
	checkSteps(t, steps, []wantStep{
		{"CREATE_POLICY", "app-inline", nil, `{"Version":"2012-10-17","Statement":[]}`},
		{"DETACH_POLICY", "arn:aws:iam::111122223333:policy/keys", updated, ""},
	})

	if err := env.srv.SetRecommendationSteps("f-perm-app",
		json.RawMessage(`{"splitPolicyStep":{"into":2}}`),
		json.RawMessage(`{"unusedPermissionsRecommendedStep":{"recommendedAction":"DETACH_POLICY","existingPolicyId":"x"}}`)); err != nil {
		t.Fatal(err)
	}
	env.srv.SetRecommendationPolls(0)
	generateRec(t, env, "f-perm-app")
	_, steps, _ = allSteps(t, env, "f-perm-app", 0)
	if len(steps) != 2 {
		t.Fatalf("steps = %+v", steps)
	}
	if u, ok := steps[0].(*types.UnknownUnionMember); !ok || u.Tag != "splitPolicyStep" {
		t.Errorf("step 0 = %#v, want an unknown union member", steps[0])
	}

	if err := env.srv.SetRecommendation("f-nope"); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("override of an unknown finding: %v", err)
	}
}

func TestFindingRecommendationErrors(t *testing.T) {
	env := recEnv(t)
	ctx := context.Background()
	gen := func(analyzer, id string) error {
		_, err := env.aa.GenerateFindingRecommendation(ctx, &accessanalyzer.GenerateFindingRecommendationInput{
			AnalyzerArn: aws.String(analyzer), Id: aws.String(id),
		})
		return err
	}
	get := func(analyzer, id string, maxResults *int32) error {
		_, err := env.aa.GetFindingRecommendation(ctx, &accessanalyzer.GetFindingRecommendationInput{
			AnalyzerArn: aws.String(analyzer), Id: aws.String(id), MaxResults: maxResults,
		})
		return err
	}

	// Only UnusedPermission findings have recommendations.
	err := gen(recAnalyzerARN, "f-role-app")
	var ve *types.ValidationException
	if !errors.As(err, &ve) {
		t.Errorf("wrong finding type: want *types.ValidationException, got %v", err)
	}
	wantAPIError(t, err, "ValidationException", 400)
	wantAPIError(t, get(recAnalyzerARN, "f-role-app", nil), "ValidationException", 400)

	// Unknown findings and analyzers. The SDK models ResourceNotFound for
	// Get only; Generate's is a generic API error with the same code.
	wantAPIError(t, gen(recAnalyzerARN, "f-nope"), "ResourceNotFoundException", 404)
	err = get(recAnalyzerARN, "f-nope", nil)
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.ResourceId) != "f-nope" {
		t.Errorf("unknown finding: want *types.ResourceNotFoundException for f-nope, got %v", err)
	}
	other := "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/other"
	wantAPIError(t, gen(other, "f-perm-app"), "ResourceNotFoundException", 404)
	wantAPIError(t, get(other, "f-perm-app", nil), "ResourceNotFoundException", 404)

	// Get before any Generate.
	wantAPIError(t, get(recAnalyzerARN, "f-perm-app", nil), "ResourceNotFoundException", 404)

	// maxResults is 1..1000.
	env.srv.SetRecommendationPolls(0)
	generateRec(t, env, "f-perm-app")
	wantAPIError(t, get(recAnalyzerARN, "f-perm-app", aws.Int32(1001)), "ValidationException", 400)
	if err := get(recAnalyzerARN, "f-perm-app", aws.Int32(1000)); err != nil {
		t.Error(err)
	}
}

// The computation reads the live state: a policy changed over IAM changes
// the next recommendation.
func TestFindingRecommendationFollowsState(t *testing.T) {
	env := recEnv(t)
	env.srv.SetRecommendationPolls(0)
	ctx := context.Background()
	_, err := env.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String("app"), PolicyName: aws.String("app-inline"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	generateRec(t, env, "f-perm-app")
	_, steps, _ := allSteps(t, env, "f-perm-app", 0)
	checkSteps(t, steps, appSteps[1:])
}
