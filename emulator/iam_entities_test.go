package emulator

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune/snapshot"
)

const ciDeployARN = "arn:aws:iam::444455556666:policy/ci-deploy"

// memberEnv serves the org member snapshot as a plain account, with dana's
// permissions boundary set to ci-deploy.
func memberEnv(t *testing.T) *testEnv {
	t.Helper()
	snap := loadSnapshot(t, "org/member-444455556666")
	for i := range snap.Auth.UserDetailList {
		if u := &snap.Auth.UserDetailList[i]; u.UserName == "dana" {
			u.PermissionsBoundary = &snapshot.PermissionsBoundary{PermissionsBoundaryType: "Policy", PermissionsBoundaryArn: ciDeployARN}
		}
	}
	srv := New(snap, Options{PageSize: 2})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testEnv{srv: srv, snap: snap, url: ts.URL,
		iam: iam.NewFromConfig(sdkConfig(3), func(o *iam.Options) { o.BaseEndpoint = aws.String(ts.URL) })}
}

// entities lists every page of ListEntitiesForPolicy as kind:name.
func entities(t *testing.T, c *iam.Client, in iam.ListEntitiesForPolicyInput) []string {
	t.Helper()
	var out []string
	pages := iam.NewListEntitiesForPolicyPaginator(c, &in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.PolicyGroups {
			out = append(out, "group:"+*g.GroupName+":"+*g.GroupId)
		}
		for _, u := range page.PolicyUsers {
			out = append(out, "user:"+*u.UserName+":"+*u.UserId)
		}
		for _, r := range page.PolicyRoles {
			out = append(out, "role:"+*r.RoleName+":"+*r.RoleId)
		}
	}
	return out
}

func attachmentCounts(t *testing.T, c *iam.Client, arn string) (int32, int32) {
	t.Helper()
	out, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	return *out.Policy.AttachmentCount, *out.Policy.PermissionsBoundaryUsageCount
}

func TestListEntitiesForPolicy(t *testing.T) {
	env := memberEnv(t)
	c := env.iam
	policy := func(filter types.EntityType, usage types.PolicyUsageType, prefix string) iam.ListEntitiesForPolicyInput {
		in := iam.ListEntitiesForPolicyInput{PolicyArn: aws.String(ciDeployARN), EntityFilter: filter, PolicyUsageFilter: usage}
		if prefix != "" {
			in.PathPrefix = aws.String(prefix)
		}
		return in
	}
	check := func(step string, in iam.ListEntitiesForPolicyInput, want ...string) {
		t.Helper()
		if got := entities(t, c, in); !slices.Equal(got, want) {
			t.Errorf("%s: entities = %v, want %v", step, got, want)
		}
	}
	group, legacy := "group:ci:AGPACI00000000000001", "role:legacy-etl:AROALEGACYETL0000001"
	ciBot, dana := "user:ci-bot:AIDACIBOT00000000001", "user:dana:AIDADANA000000000001"
	deployer := "role:app-deployer:AROAAPPDEPLOYER00001"

	check("snapshot", policy("", "", ""), group, dana, legacy)
	check("attachments only", policy("", types.PolicyUsageTypePermissionsPolicy, ""), group, legacy)
	check("boundaries only", policy("", types.PolicyUsageTypePermissionsBoundary, ""), dana)
	if a, b := attachmentCounts(t, c, ciDeployARN); a != 2 || b != 1 {
		t.Errorf("snapshot counts = %d attachments, %d boundaries", a, b)
	}

	for _, in := range []any{
		&iam.AttachUserPolicyInput{UserName: aws.String("ci-bot"), PolicyArn: aws.String(ciDeployARN)},
		&iam.AttachRolePolicyInput{RoleName: aws.String("app-deployer"), PolicyArn: aws.String(ciDeployARN)},
		&iam.AttachRolePolicyInput{RoleName: aws.String("app-deployer"), PolicyArn: aws.String(ciDeployARN)}, // no-op again
		&iam.DetachRolePolicyInput{RoleName: aws.String("legacy-etl"), PolicyArn: aws.String(ciDeployARN)},
	} {
		var err error
		switch in := in.(type) {
		case *iam.AttachUserPolicyInput:
			_, err = c.AttachUserPolicy(ctx, in)
		case *iam.AttachRolePolicyInput:
			_, err = c.AttachRolePolicy(ctx, in)
		case *iam.DetachRolePolicyInput:
			_, err = c.DetachRolePolicy(ctx, in)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Three entities over pages of two (the emulator's page size here).
	check("after attach and detach", policy("", types.PolicyUsageTypePermissionsPolicy, ""), group, ciBot, deployer)
	if a, _ := attachmentCounts(t, c, ciDeployARN); a != 3 {
		t.Errorf("AttachmentCount = %d, want 3", a)
	}
	check("roles", policy(types.EntityTypeRole, "", ""), deployer)
	check("users", policy(types.EntityTypeUser, "", ""), ciBot, dana)
	check("policy type filters nothing", policy(types.EntityTypeLocalManagedPolicy, types.PolicyUsageTypePermissionsPolicy, ""), group, ciBot, deployer)
	check("path prefix", policy("", "", "/deploy/"), deployer)

	// Explicit MaxItems pages one entity at a time.
	out, err := c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: aws.String(ciDeployARN), MaxItems: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if !out.IsTruncated || len(out.PolicyGroups) != 1 || len(out.PolicyUsers)+len(out.PolicyRoles) != 0 {
		t.Errorf("first page of one = %+v", out)
	}
	// A marker from other filters is refused.
	_, err = c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: aws.String(ciDeployARN), EntityFilter: types.EntityTypeRole, Marker: out.Marker})
	wantAPIError(t, err, "ValidationError", 400)

	_, err = c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: aws.String("arn:aws:iam::444455556666:policy/gone")})
	wantAPIError(t, err, "NoSuchEntity", 404)
	if err == nil || !strings.Contains(err.Error(), "Policy arn:aws:iam::444455556666:policy/gone does not exist or is not attachable.") {
		t.Errorf("error = %v", err)
	}
	_, err = c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: aws.String(ciDeployARN), EntityFilter: "Robot"})
	wantAPIError(t, err, "ValidationError", 400)
}

// A hand-written snapshot whose AttachmentCount disagrees with its
// attachments is served with the counts IAM would have.
func TestAttachmentCountFollowsAttachments(t *testing.T) {
	snap := loadSnapshot(t, "org/member-444455556666")
	for i := range snap.Auth.Policies {
		snap.Auth.Policies[i].AttachmentCount = 7
	}
	// The seeded AWSDenyAll, absent from the snapshot, already attached.
	deny := "arn:aws:iam::aws:policy/AWSDenyAll"
	snap.Auth.RoleDetailList[1].AttachedManagedPolicies = append(snap.Auth.RoleDetailList[1].AttachedManagedPolicies,
		snapshot.AttachedPolicy{PolicyName: "AWSDenyAll", PolicyArn: deny})
	srv := New(snap, Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	c := iam.NewFromConfig(sdkConfig(1), func(o *iam.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	for arn, want := range map[string]int32{ciDeployARN: 2, remediationPolicyARN: 1, deny: 1} {
		if got, _ := attachmentCounts(t, c, arn); got != want {
			t.Errorf("%s AttachmentCount = %d, want %d", arn, got, want)
		}
	}
	if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("legacy-etl"), PolicyArn: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := attachmentCounts(t, c, deny); got != 0 {
		t.Errorf("AWSDenyAll AttachmentCount after detach = %d", got)
	}
}

const remediationPolicyARN = "arn:aws:iam::444455556666:policy/iamprune-remediation"
