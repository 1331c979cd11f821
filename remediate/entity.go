package remediate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune/policy"
)

// entity is a role or a user seen through the IAM calls that manage its
// inline and attached policies. Each kind has its own API (PutRolePolicy
// versus PutUserPolicy); this is the one place that chooses.
type entity struct {
	kind, name string

	exists       func(ctx context.Context) (bool, error)
	listInline   func(ctx context.Context) ([]string, error)
	getInline    func(ctx context.Context, policy string) (string, error)
	putInline    func(ctx context.Context, policy, doc string) error
	deleteInline func(ctx context.Context, policy string) error
	listAttached func(ctx context.Context) ([]string, error)
	attach       func(ctx context.Context, arn string) error
	detach       func(ctx context.Context, arn string) error
}

func entityOf(c IAMAPI, p principal) entity {
	if p.Kind == "user" {
		return userEntity(c, p.Name)
	}
	return roleEntity(c, p.Name)
}

func roleEntity(c IAMAPI, name string) entity {
	n := aws.String(name)
	return entity{
		kind: "role", name: name,
		exists: func(ctx context.Context) (bool, error) {
			_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: n})
			return gone(err, "read role", name)
		},
		listInline: func(ctx context.Context) ([]string, error) {
			var names []string
			pages := iam.NewListRolePoliciesPaginator(c, &iam.ListRolePoliciesInput{RoleName: n})
			for pages.HasMorePages() {
				out, err := pages.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("cannot list inline policies of role %s: %w", name, err)
				}
				names = append(names, out.PolicyNames...)
			}
			return names, nil
		},
		getInline: func(ctx context.Context, policy string) (string, error) {
			out, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: n, PolicyName: aws.String(policy)})
			if err != nil {
				return "", fmt.Errorf("cannot read inline policy %s of role %s: %w", policy, name, err)
			}
			return decodeDoc(aws.ToString(out.PolicyDocument), policy, name)
		},
		putInline: func(ctx context.Context, policy, doc string) error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: n, PolicyName: aws.String(policy), PolicyDocument: aws.String(doc)})
			return wrap(err, "put inline policy %s on role %s", policy, name)
		},
		deleteInline: func(ctx context.Context, policy string) error {
			_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: n, PolicyName: aws.String(policy)})
			return wrap(err, "delete inline policy %s of role %s", policy, name)
		},
		listAttached: func(ctx context.Context) ([]string, error) {
			var arns []string
			pages := iam.NewListAttachedRolePoliciesPaginator(c, &iam.ListAttachedRolePoliciesInput{RoleName: n})
			for pages.HasMorePages() {
				out, err := pages.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("cannot list managed policies attached to role %s: %w", name, err)
				}
				arns = appendARNs(arns, out.AttachedPolicies)
			}
			return arns, nil
		},
		attach: func(ctx context.Context, arn string) error {
			_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: n, PolicyArn: aws.String(arn)})
			return wrap(err, "attach %s to role %s", arn, name)
		},
		detach: func(ctx context.Context, arn string) error {
			_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: n, PolicyArn: aws.String(arn)})
			return wrap(err, "detach %s from role %s", arn, name)
		},
	}
}

func userEntity(c IAMAPI, name string) entity {
	n := aws.String(name)
	return entity{
		kind: "user", name: name,
		exists: func(ctx context.Context) (bool, error) {
			_, err := c.GetUser(ctx, &iam.GetUserInput{UserName: n})
			return gone(err, "read user", name)
		},
		listInline: func(ctx context.Context) ([]string, error) {
			var names []string
			pages := iam.NewListUserPoliciesPaginator(c, &iam.ListUserPoliciesInput{UserName: n})
			for pages.HasMorePages() {
				out, err := pages.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("cannot list inline policies of user %s: %w", name, err)
				}
				names = append(names, out.PolicyNames...)
			}
			return names, nil
		},
		getInline: func(ctx context.Context, policy string) (string, error) {
			out, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: n, PolicyName: aws.String(policy)})
			if err != nil {
				return "", fmt.Errorf("cannot read inline policy %s of user %s: %w", policy, name, err)
			}
			return decodeDoc(aws.ToString(out.PolicyDocument), policy, name)
		},
		putInline: func(ctx context.Context, policy, doc string) error {
			_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: n, PolicyName: aws.String(policy), PolicyDocument: aws.String(doc)})
			return wrap(err, "put inline policy %s on user %s", policy, name)
		},
		deleteInline: func(ctx context.Context, policy string) error {
			_, err := c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: n, PolicyName: aws.String(policy)})
			return wrap(err, "delete inline policy %s of user %s", policy, name)
		},
		listAttached: func(ctx context.Context) ([]string, error) {
			var arns []string
			pages := iam.NewListAttachedUserPoliciesPaginator(c, &iam.ListAttachedUserPoliciesInput{UserName: n})
			for pages.HasMorePages() {
				out, err := pages.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("cannot list managed policies attached to user %s: %w", name, err)
				}
				arns = appendARNs(arns, out.AttachedPolicies)
			}
			return arns, nil
		},
		attach: func(ctx context.Context, arn string) error {
			_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: n, PolicyArn: aws.String(arn)})
			return wrap(err, "attach %s to user %s", arn, name)
		},
		detach: func(ctx context.Context, arn string) error {
			_, err := c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: n, PolicyArn: aws.String(arn)})
			return wrap(err, "detach %s from user %s", arn, name)
		},
	}
}

func appendARNs(arns []string, ps []types.AttachedPolicy) []string {
	for _, p := range ps {
		arns = append(arns, aws.ToString(p.PolicyArn))
	}
	return arns
}

// gone maps a read of the entity to whether it exists.
func gone(err error, what, name string) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case isNoSuchEntity(err):
		return false, nil
	}
	return false, fmt.Errorf("cannot %s %s: %w", what, name, err)
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("cannot "+format+": %w", append(args, err)...)
}

// decodeDoc turns a document as IAM returns it (URL-encoded) into JSON.
func decodeDoc(raw, name, owner string) (string, error) {
	doc, err := policy.DecodePolicyString(raw)
	if err != nil {
		return "", fmt.Errorf("policy %s of %s: %w", name, owner, err)
	}
	return doc, nil
}
