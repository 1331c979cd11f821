package awsapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// Change is what a done action left in the account, as IAM reports it.
type Change struct {
	// Name is the principal's name; State says what IAM shows.
	Name, State string
}

// DescribeChanges reads back, through the IAM API, what each done action
// of a run changed: the demo shows the account rather than iamprune's
// word for it.
func DescribeChanges(ctx context.Context, cfg aws.Config, res *iamprune.RunResult) []Change {
	c := iam.NewFromConfig(cfg)
	var out []Change
	for _, r := range res.Results {
		if r.Status != iamprune.ResultDone {
			continue
		}
		a, _ := iamprune.ParseARN(r.Principal)
		var line string
		switch r.Kind {
		case iamprune.KindDeactivateAccessKey:
			out, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(a.Name)})
			line = "?"
			if err == nil {
				for _, k := range out.AccessKeyMetadata {
					if aws.ToString(k.AccessKeyId) == r.Target {
						line = fmt.Sprintf("access key %s is %s", r.Target, k.Status)
					}
				}
			}
		case iamprune.KindDeleteLoginProfile:
			_, err := c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(a.Name)})
			var nse *iamtypes.NoSuchEntityException
			line = "still has a console password"
			if errors.As(err, &nse) {
				line = "has no console password (GetLoginProfile: NoSuchEntity)"
			}
		case iamprune.KindQuarantineRole, iamprune.KindDenyUnusedServices:
			line = inlineSummary(ctx, c, a)
		}
		out = append(out, Change{Name: a.Name, State: line})
	}
	return out
}

// inlineSummary lists a principal's iamprune policies and what they deny.
func inlineSummary(ctx context.Context, c *iam.Client, a iamprune.ParsedARN) string {
	var names []string
	var get func(n string) string
	if a.Kind == "role" {
		out, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(a.Name)})
		if err != nil {
			return err.Error()
		}
		names = out.PolicyNames
		get = func(n string) string {
			p, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(a.Name), PolicyName: aws.String(n)})
			if err != nil {
				return ""
			}
			return aws.ToString(p.PolicyDocument)
		}
	} else {
		out, err := c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String(a.Name)})
		if err != nil {
			return err.Error()
		}
		names = out.PolicyNames
		get = func(n string) string {
			p, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(a.Name), PolicyName: aws.String(n)})
			if err != nil {
				return ""
			}
			return aws.ToString(p.PolicyDocument)
		}
	}
	var parts []string
	for _, n := range names {
		if !strings.HasPrefix(n, "iamprune-") {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s policy %s denies %s", a.Kind, "inline", n, strings.Join(deniedActions(get(n)), ", ")))
	}
	if len(parts) == 0 {
		return "no iamprune policy"
	}
	return strings.Join(parts, "; ")
}

// deniedActions extracts the Deny actions of a URL-encoded policy document.
func deniedActions(encoded string) []string {
	doc, err := url.QueryUnescape(encoded)
	if err != nil {
		return nil
	}
	d, err := policy.Parse([]byte(doc))
	if err != nil {
		return nil
	}
	var out []string
	for _, st := range d.Statement {
		if st.Effect == policy.Deny {
			out = append(out, st.Action.Values...)
		}
	}
	return out
}
