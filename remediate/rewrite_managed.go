package remediate

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// managedState is a managed policy as IAM shows it now.
type managedState struct {
	exists          bool
	defaultVersion  string
	attachmentCount int
	boundaryCount   int
	document        string // the default version's, decoded
}

// readManaged reads a managed policy and its default document; exists is
// false when it is gone.
func (e *rewritePolicy) readManaged(ctx context.Context, arn string) (managedState, error) {
	pol, err := e.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if isNoSuchEntity(err) {
		return managedState{}, nil
	}
	if err != nil {
		return managedState{}, fmt.Errorf("cannot read policy %s: %w", arn, err)
	}
	m := managedState{
		exists:          true,
		defaultVersion:  aws.ToString(pol.Policy.DefaultVersionId),
		attachmentCount: int(aws.ToInt32(pol.Policy.AttachmentCount)),
		boundaryCount:   int(aws.ToInt32(pol.Policy.PermissionsBoundaryUsageCount)),
	}
	m.document, err = e.versionDoc(ctx, arn, m.defaultVersion)
	return m, err
}

func (e *rewritePolicy) versionDoc(ctx context.Context, arn, id string) (string, error) {
	ver, err := e.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("cannot read version %s of policy %s: %w", id, arn, err)
	}
	return decodeDoc(aws.ToString(ver.PolicyVersion.Document), arn+" "+id, "the account")
}

// readVersions returns every version of a policy with its document, in
// IAM's order (newest first).
func (e *rewritePolicy) readVersions(ctx context.Context, arn string) ([]versionImage, error) {
	var vs []types.PolicyVersion
	pages := iam.NewListPolicyVersionsPaginator(e.iam, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot list the versions of policy %s: %w", arn, err)
		}
		vs = append(vs, out.Versions...)
	}
	out := make([]versionImage, 0, len(vs))
	for _, v := range vs {
		id := aws.ToString(v.VersionId)
		doc, err := e.versionDoc(ctx, arn, id)
		if err != nil {
			return nil, err
		}
		out = append(out, versionImage{ID: id, Document: doc, CreateDate: aws.ToTime(v.CreateDate).UTC(), IsDefault: v.IsDefaultVersion})
	}
	return out, nil
}

// oldestNonDefault is the version IAM's five-version limit makes room by
// deleting: the oldest by creation, then by number.
func oldestNonDefault(vs []versionImage) (versionImage, bool) {
	var cand []versionImage
	for _, v := range vs {
		if !v.IsDefault {
			cand = append(cand, v)
		}
	}
	if len(cand) == 0 {
		return versionImage{}, false
	}
	return slices.MinFunc(cand, func(a, b versionImage) int {
		return cmp.Or(a.CreateDate.Compare(b.CreateDate), cmp.Compare(versionNum(a.ID), versionNum(b.ID)))
	}), true
}

// versionNum reads "v3" as 3, anything else as 0.
func versionNum(id string) int {
	n := 0
	if len(id) < 2 || id[0] != 'v' {
		return 0
	}
	for _, c := range id[1:] {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// createCopy creates one policy of the refined grant. A policy of that
// name already holding the same document (its creation's answer was lost)
// is taken as created.
func (e *rewritePolicy) createCopy(ctx context.Context, p principal, c copyImage, replaces, what string) error {
	desc := fmt.Sprintf("iamprune: %s, for %s %s only", what, p.Kind, p.Name)
	tags := []types.Tag{
		{Key: aws.String(TagReplaces), Value: aws.String(clip(replaces, maxTagValueLen))},
		{Key: aws.String("iamprune:principal"), Value: aws.String(clip(p.ARN, maxTagValueLen))},
	}
	if e.opts.RunID != "" {
		tags = append(tags, types.Tag{Key: aws.String(TagRunID), Value: aws.String(clip(e.opts.RunID, maxTagValueLen))})
	}
	e.opts.logger().Debug("create refined policy", "kind", p.Kind, "principal", p.Name, "policy", c.ARN)
	_, err := e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{
		PolicyName: aws.String(c.Name), Path: aws.String(RewritePolicyPath), PolicyDocument: aws.String(c.Document),
		Description: aws.String(clip(desc, maxDescriptionLen)), Tags: tags,
	})
	if apiCode(err) == "EntityAlreadyExists" {
		if m, rerr := e.readManaged(ctx, c.ARN); rerr == nil && m.exists && canonical(m.document) == canonical(c.Document) {
			return nil
		}
	}
	return wrap(err, "create policy %s", c.Name)
}

// removeCopy deletes a policy iamprune created, with its non-default
// versions, unless something else has it attached; it says what it did.
func (e *rewritePolicy) removeCopy(ctx context.Context, arn string) (string, error) {
	m, err := e.readManaged(ctx, arn)
	if err != nil || !m.exists {
		return "", err
	}
	if m.attachmentCount > 0 || m.boundaryCount > 0 {
		return "left " + arn + " in place: something else has it attached", nil
	}
	vs, err := e.readVersions(ctx, arn)
	if err != nil {
		return "", err
	}
	for _, v := range vs {
		if v.IsDefault {
			continue
		}
		if _, err := e.iam.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(v.ID)}); err != nil && !isNoSuchEntity(err) {
			return "", fmt.Errorf("cannot delete version %s of policy %s: %w", v.ID, arn, err)
		}
	}
	if _, err := e.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)}); err != nil && !isNoSuchEntity(err) {
		return "", fmt.Errorf("cannot delete policy %s: %w", arn, err)
	}
	return "deleted " + arn, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
