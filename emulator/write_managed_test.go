package emulator

import (
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

const denyAllARN = "arn:aws:iam::aws:policy/AWSDenyAll"

func createPolicy(t *testing.T, env *testEnv, name, doc string) *types.Policy {
	t.Helper()
	out, err := env.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
	if err != nil {
		t.Fatalf("CreatePolicy %s: %v", name, err)
	}
	return out.Policy
}

func TestCreateAndGetPolicy(t *testing.T) {
	env := newWriteEnv(t)
	out, err := env.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{
		PolicyName: aws.String("iamprune-deny-1"), Path: aws.String("/iamprune/"), PolicyDocument: aws.String(denyS3),
		Description: aws.String("denies unused services"), Tags: []types.Tag{{Key: aws.String("managed-by"), Value: aws.String("iamprune")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Policy
	wantARN := "arn:aws:iam::111122223333:policy/iamprune/iamprune-deny-1"
	if aws.ToString(p.Arn) != wantARN || aws.ToString(p.DefaultVersionId) != "v1" || !p.IsAttachable ||
		aws.ToInt32(p.AttachmentCount) != 0 || !p.CreateDate.Equal(fixedNow) || len(aws.ToString(p.PolicyId)) != 21 {
		t.Errorf("CreatePolicy returned %+v", p)
	}
	got, err := env.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(wantARN)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Policy.Description) != "denies unused services" || len(got.Policy.Tags) != 1 || aws.ToString(got.Policy.Path) != "/iamprune/" {
		t.Errorf("GetPolicy returned %+v", got.Policy)
	}
	v, err := env.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(wantARN), VersionId: aws.String("v1")})
	if err != nil {
		t.Fatal(err)
	}
	if d := decodeDoc(t, v.PolicyVersion.Document); d != denyS3 || !v.PolicyVersion.IsDefaultVersion {
		t.Errorf("GetPolicyVersion = %s default=%v", d, v.PolicyVersion.IsDefaultVersion)
	}
	// The created policy shows in GetAccountAuthorizationDetails.
	gaad, err := env.iam.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeLocalManagedPolicy}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(gaad.Policies, func(p types.ManagedPolicyDetail) bool { return aws.ToString(p.Arn) == wantARN }) {
		t.Errorf("created policy not in GetAccountAuthorizationDetails")
	}
}

func TestCreatePolicyErrors(t *testing.T) {
	tests := []struct {
		name, policy, doc, code string
	}{
		{"same name", "app-policy", denyS3, "EntityAlreadyExists"},
		{"same name other case", "APP-POLICY", denyS3, "EntityAlreadyExists"},
		{"malformed", "new", `{"Version":"2012-10-17"}`, "MalformedPolicyDocument"},
		{"bad name", "a/b", denyS3, "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newWriteEnv(t)
			_, err := env.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(tt.policy), PolicyDocument: aws.String(tt.doc)})
			wantErr(t, err, tt.code)
		})
	}
}

func TestManagedPolicySizeQuota(t *testing.T) {
	env := newWriteEnv(t)
	_, err := env.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("big"), PolicyDocument: aws.String(docOfSize(t, 6145))})
	wantErr(t, err, "LimitExceeded")
	p := createPolicy(t, env, "big", docOfSize(t, 6144))
	_, err = env.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Arn, PolicyDocument: aws.String(docOfSize(t, 6145))})
	wantErr(t, err, "LimitExceeded")
	if _, err := env.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Arn, PolicyDocument: aws.String(docOfSize(t, 6144))}); err != nil {
		t.Fatal(err)
	}
}

func listVersions(t *testing.T, env *testEnv, arn *string) []string {
	t.Helper()
	var ids []string
	p := iam.NewListPolicyVersionsPaginator(env.iam, &iam.ListPolicyVersionsInput{PolicyArn: arn})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Versions {
			id := aws.ToString(v.VersionId)
			if v.IsDefaultVersion {
				id += "*"
			}
			if v.Document != nil {
				t.Errorf("ListPolicyVersions returned a document")
			}
			ids = append(ids, id)
		}
	}
	return ids
}

func TestPolicyVersions(t *testing.T) {
	env := newWriteEnv(t)
	p := createPolicy(t, env, "versioned", denyS3)
	for i := 2; i <= 5; i++ {
		out, err := env.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Arn, PolicyDocument: aws.String(denyS3), SetAsDefault: i == 3})
		if err != nil {
			t.Fatalf("version %d: %v", i, err)
		}
		if got := aws.ToString(out.PolicyVersion.VersionId); got != "v"+strconv.Itoa(i) || out.PolicyVersion.IsDefaultVersion != (i == 3) {
			t.Errorf("CreatePolicyVersion = %s default=%v", got, out.PolicyVersion.IsDefaultVersion)
		}
	}
	if got := listVersions(t, env, p.Arn); !slices.Equal(got, []string{"v5", "v4", "v3*", "v2", "v1"}) {
		t.Errorf("versions = %v", got)
	}
	_, err := env.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Arn, PolicyDocument: aws.String(denyS3)})
	wantErr(t, err, "LimitExceeded")

	_, err = env.iam.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: p.Arn, VersionId: aws.String("v3")})
	wantErr(t, err, "DeleteConflict")
	_, err = env.iam.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: p.Arn, VersionId: aws.String("v9")})
	wantErr(t, err, "NoSuchEntity")
	_, err = env.iam.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: p.Arn, VersionId: aws.String("v9")})
	wantErr(t, err, "NoSuchEntity")
	if _, err := env.iam.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: p.Arn, VersionId: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	got, _ := env.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: p.Arn})
	if aws.ToString(got.Policy.DefaultVersionId) != "v1" {
		t.Errorf("DefaultVersionId = %s", aws.ToString(got.Policy.DefaultVersionId))
	}
	// A policy with non-default versions cannot be deleted.
	_, err = env.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: p.Arn})
	wantErr(t, err, "DeleteConflict")
	for _, v := range []string{"v5", "v4", "v3", "v2"} {
		if _, err := env.iam.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: p.Arn, VersionId: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	// Version numbers are never reused.
	out, err := env.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Arn, PolicyDocument: aws.String(denyS3)})
	if err != nil || aws.ToString(out.PolicyVersion.VersionId) != "v6" {
		t.Errorf("next version = %v, %v; want v6", out, err)
	}
	if _, err := env.iam.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: p.Arn, VersionId: aws.String("v6")}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: p.Arn}); err != nil {
		t.Fatal(err)
	}
	_, err = env.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: p.Arn})
	wantErr(t, err, "NoSuchEntity")
}

func TestAWSManagedPoliciesAreReadOnly(t *testing.T) {
	env := newWriteEnv(t)
	arn := aws.String(denyAllARN)
	_, err := env.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: aws.String(denyS3)})
	wantErr(t, err, "AccessDenied")
	_, err = env.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: arn})
	wantErr(t, err, "AccessDenied")
}

func TestAWSDenyAllIsSeeded(t *testing.T) {
	env := newWriteEnv(t)
	got, err := env.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(denyAllARN)})
	if err != nil {
		t.Fatal(err)
	}
	v, err := env.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: got.Policy.Arn, VersionId: got.Policy.DefaultVersionId})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"DenyAll","Effect":"Deny","Action":["*"],"Resource":"*"}]}`
	if d := decodeDoc(t, v.PolicyVersion.Document); d != want {
		t.Errorf("AWSDenyAll document = %s", d)
	}
	// Not in use, so not in GetAccountAuthorizationDetails, until attached.
	inGAAD := func() bool {
		out, err := env.iam.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeAWSManagedPolicy}})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(out.Policies, func(p types.ManagedPolicyDetail) bool { return aws.ToString(p.Arn) == denyAllARN })
	}
	if inGAAD() {
		t.Error("unattached AWSDenyAll listed by GetAccountAuthorizationDetails")
	}
	if _, err := env.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("ci-role"), PolicyArn: aws.String(denyAllARN)}); err != nil {
		t.Fatal(err)
	}
	if !inGAAD() {
		t.Error("attached AWSDenyAll missing from GetAccountAuthorizationDetails")
	}
}

func TestListPolicies(t *testing.T) {
	env := newWriteEnv(t)
	createPolicy(t, env, "new-local", denyS3)
	tests := []struct {
		name string
		in   iam.ListPoliciesInput
		want []string
	}{
		{"all", iam.ListPoliciesInput{}, []string{"app-policy", "ReadOnlyAccess", "AWSDenyAll", "new-local"}},
		{"local", iam.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal}, []string{"app-policy", "new-local"}},
		{"aws", iam.ListPoliciesInput{Scope: types.PolicyScopeTypeAws}, []string{"ReadOnlyAccess", "AWSDenyAll"}},
		{"only attached", iam.ListPoliciesInput{OnlyAttached: true}, []string{"app-policy", "ReadOnlyAccess"}},
		{"local attached", iam.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal, OnlyAttached: true}, []string{"app-policy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var names []string
			p := iam.NewListPoliciesPaginator(env.iam, &tt.in)
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, pol := range out.Policies {
					names = append(names, aws.ToString(pol.PolicyName))
				}
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("ListPolicies = %v, want %v", names, tt.want)
			}
		})
	}
}

// attachAPI runs the attachment operations of one principal kind.
type attachAPI struct {
	kind, name string
	attach     func(env *testEnv, arn string) error
	detach     func(env *testEnv, arn string) error
	list       func(env *testEnv) []string
}

var attachAPIs = []attachAPI{
	{
		kind: "role", name: "ci-role",
		attach: func(env *testEnv, arn string) error {
			_, err := env.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("ci-role"), PolicyArn: aws.String(arn)})
			return err
		},
		detach: func(env *testEnv, arn string) error {
			_, err := env.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("ci-role"), PolicyArn: aws.String(arn)})
			return err
		},
		list: func(env *testEnv) []string {
			var arns []string
			p := iam.NewListAttachedRolePoliciesPaginator(env.iam, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("ci-role")})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					panic(err)
				}
				for _, a := range out.AttachedPolicies {
					arns = append(arns, aws.ToString(a.PolicyArn))
				}
			}
			return arns
		},
	},
	{
		kind: "user", name: "bob",
		attach: func(env *testEnv, arn string) error {
			_, err := env.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(arn)})
			return err
		},
		detach: func(env *testEnv, arn string) error {
			_, err := env.iam.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(arn)})
			return err
		},
		list: func(env *testEnv) []string {
			var arns []string
			p := iam.NewListAttachedUserPoliciesPaginator(env.iam, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("bob")})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					panic(err)
				}
				for _, a := range out.AttachedPolicies {
					arns = append(arns, aws.ToString(a.PolicyArn))
				}
			}
			return arns
		},
	},
}

func attachmentCount(t *testing.T, env *testEnv, arn string) int32 {
	t.Helper()
	out, err := env.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToInt32(out.Policy.AttachmentCount)
}

func TestAttachDetach(t *testing.T) {
	for _, api := range attachAPIs {
		t.Run(api.kind, func(t *testing.T) {
			env := newWriteEnv(t)
			if err := api.attach(env, denyAllARN); err != nil {
				t.Fatal(err)
			}
			// Attaching again is a no-op success.
			if err := api.attach(env, denyAllARN); err != nil {
				t.Fatalf("second attach: %v", err)
			}
			if got := api.list(env); !slices.Equal(got, []string{denyAllARN}) {
				t.Errorf("attached = %v", got)
			}
			if n := attachmentCount(t, env, denyAllARN); n != 1 {
				t.Errorf("AttachmentCount = %d, want 1", n)
			}
			wantErr(t, api.attach(env, "arn:aws:iam::aws:policy/NoSuchPolicy"), "NoSuchEntity")
			wantErr(t, api.attach(env, "not-an-arn"), "InvalidInput")
			wantErr(t, api.detach(env, "arn:aws:iam::111122223333:policy/app-policy"), "NoSuchEntity")
			if err := api.detach(env, denyAllARN); err != nil {
				t.Fatal(err)
			}
			wantErr(t, api.detach(env, denyAllARN), "NoSuchEntity")
			if got := api.list(env); len(got) != 0 {
				t.Errorf("after detach attached = %v", got)
			}
			if n := attachmentCount(t, env, denyAllARN); n != 0 {
				t.Errorf("AttachmentCount after detach = %d", n)
			}
		})
	}
}

func TestAttachQuotaAndDeleteConflict(t *testing.T) {
	for _, api := range attachAPIs {
		t.Run(api.kind, func(t *testing.T) {
			env := newWriteEnv(t)
			var arns []string
			for i := 1; i <= 11; i++ {
				arns = append(arns, aws.ToString(createPolicy(t, env, "p"+strconv.Itoa(i), denyS3).Arn))
			}
			for _, arn := range arns[:10] {
				if err := api.attach(env, arn); err != nil {
					t.Fatalf("attaching up to 10 must pass: %v", err)
				}
			}
			wantErr(t, api.attach(env, arns[10]), "LimitExceeded")
			if err := api.attach(env, arns[0]); err != nil {
				t.Errorf("re-attaching at the quota is still a no-op success: %v", err)
			}
			if n := len(api.list(env)); n != 10 {
				t.Errorf("attached %d, want 10", n)
			}
			_, err := env.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arns[0])})
			wantErr(t, err, "DeleteConflict")
			if err := api.detach(env, arns[0]); err != nil {
				t.Fatal(err)
			}
			if err := api.attach(env, arns[10]); err != nil {
				t.Errorf("after a detach there is room: %v", err)
			}
			if _, err := env.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arns[0])}); err != nil {
				t.Errorf("deleting a detached policy: %v", err)
			}
		})
	}
}
