package emulator

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// inlineAPI runs the inline policy operations of one principal kind.
type inlineAPI struct {
	kind  string
	name  string
	quota int
	put   func(env *testEnv, policy, doc string) error
	get   func(env *testEnv, policy string) (string, error)
	del   func(env *testEnv, policy string) error
	list  func(env *testEnv) ([]string, error)
}

var inlineAPIs = []inlineAPI{
	{
		kind: "role", name: "ci-role", quota: 10240,
		put: func(env *testEnv, policy, doc string) error {
			_, err := env.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("ci-role"), PolicyName: aws.String(policy), PolicyDocument: aws.String(doc)})
			return err
		},
		get: func(env *testEnv, policy string) (string, error) {
			out, err := env.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("ci-role"), PolicyName: aws.String(policy)})
			if err != nil {
				return "", err
			}
			if aws.ToString(out.RoleName) != "ci-role" || aws.ToString(out.PolicyName) != policy {
				return "", fmt.Errorf("GetRolePolicy returned %s/%s", aws.ToString(out.RoleName), aws.ToString(out.PolicyName))
			}
			return aws.ToString(out.PolicyDocument), nil
		},
		del: func(env *testEnv, policy string) error {
			_, err := env.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("ci-role"), PolicyName: aws.String(policy)})
			return err
		},
		list: func(env *testEnv) ([]string, error) {
			var names []string
			p := iam.NewListRolePoliciesPaginator(env.iam, &iam.ListRolePoliciesInput{RoleName: aws.String("ci-role")})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				names = append(names, out.PolicyNames...)
			}
			return names, nil
		},
	},
	{
		kind: "user", name: "bob", quota: 2048,
		put: func(env *testEnv, policy, doc string) error {
			_, err := env.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String(policy), PolicyDocument: aws.String(doc)})
			return err
		},
		get: func(env *testEnv, policy string) (string, error) {
			out, err := env.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String(policy)})
			if err != nil {
				return "", err
			}
			if aws.ToString(out.UserName) != "bob" || aws.ToString(out.PolicyName) != policy {
				return "", fmt.Errorf("GetUserPolicy returned %s/%s", aws.ToString(out.UserName), aws.ToString(out.PolicyName))
			}
			return aws.ToString(out.PolicyDocument), nil
		},
		del: func(env *testEnv, policy string) error {
			_, err := env.iam.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String(policy)})
			return err
		},
		list: func(env *testEnv) ([]string, error) {
			var names []string
			p := iam.NewListUserPoliciesPaginator(env.iam, &iam.ListUserPoliciesInput{UserName: aws.String("bob")})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				names = append(names, out.PolicyNames...)
			}
			return names, nil
		},
	},
}

func TestInlinePolicyLifecycle(t *testing.T) {
	for _, api := range inlineAPIs {
		t.Run(api.kind, func(t *testing.T) {
			env := newWriteEnv(t)
			pretty := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Deny\", \"Action\": \"s3:*\", \"Resource\": \"*\"}]\n}"
			for _, name := range []string{"zeta", "alpha", "mid"} {
				if err := api.put(env, name, pretty); err != nil {
					t.Fatalf("put %s: %v", name, err)
				}
			}
			// Paginated (page size 2) and sorted.
			names, err := api.list(env)
			if err != nil || !slices.Equal(names, []string{"alpha", "mid", "zeta"}) {
				t.Fatalf("list = %v, %v", names, err)
			}
			raw, err := api.get(env, "alpha")
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeDoc(t, &raw); got != denyS3 {
				t.Errorf("document = %s, want the compact %s", got, denyS3)
			}
			// Replacing keeps one policy of the name.
			allow := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}}`
			if err := api.put(env, "alpha", allow); err != nil {
				t.Fatal(err)
			}
			raw, _ = api.get(env, "alpha")
			if got := decodeDoc(t, &raw); got != allow {
				t.Errorf("replaced document = %s", got)
			}
			if names, _ := api.list(env); len(names) != 3 {
				t.Errorf("after replace list = %v", names)
			}
			if err := api.del(env, "alpha"); err != nil {
				t.Fatal(err)
			}
			_, err = api.get(env, "alpha")
			wantErr(t, err, "NoSuchEntity")
			wantErr(t, api.del(env, "alpha"), "NoSuchEntity")
			if names, _ := api.list(env); !slices.Equal(names, []string{"mid", "zeta"}) {
				t.Errorf("after delete list = %v", names)
			}
		})
	}
}

func TestInlinePolicyMalformed(t *testing.T) {
	docs := []struct{ name, doc, code string }{
		{"not JSON", `{"Version":"2012-10-17",`, "MalformedPolicyDocument"},
		{"not an object", `["Statement"]`, "MalformedPolicyDocument"},
		{"no Statement", `{"Version":"2012-10-17"}`, "MalformedPolicyDocument"},
		{"empty Statement", `{"Version":"2012-10-17","Statement":[]}`, "MalformedPolicyDocument"},
		{"bad effect", `{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`, "MalformedPolicyDocument"},
		{"no action", `{"Statement":[{"Effect":"Deny","Resource":"*"}]}`, "MalformedPolicyDocument"},
		{"no resource", `{"Statement":[{"Effect":"Deny","Action":"*"}]}`, "MalformedPolicyDocument"},
		{"principal in identity policy", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}`, "MalformedPolicyDocument"},
		{"bad version", `{"Version":"2020-01-01","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, "MalformedPolicyDocument"},
		{"action without a service", `{"Statement":[{"Effect":"Deny","Action":"s3","Resource":"*"}]}`, "MalformedPolicyDocument"},
		{"resource not an ARN", `{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"bucket"}]}`, "MalformedPolicyDocument"},
		{"trailing data", denyS3 + `{}`, "MalformedPolicyDocument"},
		{"character outside IAM's set", `{"Statement":[{"Sid":"☃","Effect":"Deny","Action":"*","Resource":"*"}]}`, "ValidationError"},
	}
	for _, api := range inlineAPIs {
		for _, d := range docs {
			t.Run(api.kind+"/"+d.name, func(t *testing.T) {
				env := newWriteEnv(t)
				wantErr(t, api.put(env, "p", d.doc), d.code)
				if names, _ := api.list(env); len(names) != 0 {
					t.Errorf("a refused put left policies %v", names)
				}
			})
		}
	}
	t.Run("unknown principal", func(t *testing.T) {
		env := newWriteEnv(t)
		_, err := env.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("nope"), PolicyName: aws.String("p"), PolicyDocument: aws.String(denyS3)})
		wantErr(t, err, "NoSuchEntity")
		_, err = env.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("nope"), PolicyName: aws.String("p"), PolicyDocument: aws.String(denyS3)})
		wantErr(t, err, "NoSuchEntity")
		_, err = env.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("ci-role"), PolicyName: aws.String("bad name"), PolicyDocument: aws.String(denyS3)})
		wantErr(t, err, "ValidationError")
	})
}

// TestInlinePolicyAggregateQuota checks the aggregate size quota at its
// exact boundary: counted without white space, over all the principal's
// inline policies, with a replaced policy counting at its new size.
func TestInlinePolicyAggregateQuota(t *testing.T) {
	for _, api := range inlineAPIs {
		t.Run(api.kind, func(t *testing.T) {
			env := newWriteEnv(t)
			wantErr(t, api.put(env, "one", docOfSize(t, api.quota+1)), "LimitExceeded")
			if err := api.put(env, "one", docOfSize(t, api.quota)); err != nil {
				t.Fatalf("a single policy of exactly the quota must pass: %v", err)
			}
			// Replacing with a smaller one frees the space.
			first := api.quota / 2
			if err := api.put(env, "one", docOfSize(t, first)); err != nil {
				t.Fatal(err)
			}
			rest := api.quota - first
			wantErr(t, api.put(env, "two", docOfSize(t, rest+1)), "LimitExceeded")
			if err := api.put(env, "two", docOfSize(t, rest)); err != nil {
				t.Fatalf("filling the quota exactly must pass: %v", err)
			}
			// Full: replacing "two" one character bigger fails, and leaves it.
			wantErr(t, api.put(env, "two", docOfSize(t, rest+1)), "LimitExceeded")
			raw, _ := api.get(env, "two")
			if got := nonSpace(decodeDoc(t, &raw)); got != rest {
				t.Errorf("a refused replace changed the policy to %d characters", got)
			}
			wantErr(t, api.put(env, "three", docOfSize(t, 100)), "LimitExceeded")
			if err := api.del(env, "two"); err != nil {
				t.Fatal(err)
			}
			if err := api.put(env, "three", docOfSize(t, rest)); err != nil {
				t.Fatalf("deleting a policy frees its space: %v", err)
			}
		})
	}
}

// TestInlineQuotaCountsExistingPolicies: carol's snapshot policy counts.
func TestInlineQuotaCountsExistingPolicies(t *testing.T) {
	env := newWriteEnv(t)
	out, err := env.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("carol"), PolicyName: aws.String("s3-reports")})
	if err != nil {
		t.Fatal(err)
	}
	free := 2048 - nonSpace(decodeDoc(t, out.PolicyDocument))
	put := func(n int) error {
		_, err := env.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("carol"), PolicyName: aws.String("deny"), PolicyDocument: aws.String(docOfSize(t, n))})
		return err
	}
	wantErr(t, put(free+1), "LimitExceeded")
	if err := put(free); err != nil {
		t.Fatal(err)
	}
}

// TestUnknownPrincipalReads: every read of a principal's policies, tags or
// attachments answers NoSuchEntity for a principal that does not exist.
func TestUnknownPrincipalReads(t *testing.T) {
	env := newWriteEnv(t)
	nope := aws.String("nope")
	calls := map[string]func() error{
		"GetRolePolicy": func() error {
			_, err := env.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: nope, PolicyName: aws.String("p")})
			return err
		},
		"GetUserPolicy": func() error {
			_, err := env.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: nope, PolicyName: aws.String("p")})
			return err
		},
		"ListRolePolicies": func() error {
			_, err := env.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: nope})
			return err
		},
		"ListUserPolicies": func() error {
			_, err := env.iam.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: nope})
			return err
		},
		"ListAttachedRolePolicies": func() error {
			_, err := env.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: nope})
			return err
		},
		"ListAttachedUserPolicies": func() error {
			_, err := env.iam.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: nope})
			return err
		},
		"ListRoleTags": func() error {
			_, err := env.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: nope})
			return err
		},
		"UntagRole": func() error {
			_, err := env.iam.UntagRole(ctx, &iam.UntagRoleInput{RoleName: nope, TagKeys: []string{"k"}})
			return err
		},
		"GetPolicy": func() error {
			_, err := env.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::111122223333:policy/nope")})
			return err
		},
		"GetPolicyVersion": func() error {
			_, err := env.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String("arn:aws:iam::111122223333:policy/app-policy"), VersionId: aws.String("v9")})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) { wantErr(t, call(), "NoSuchEntity") })
	}
}
