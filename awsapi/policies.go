package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// Policy documents: inline policies and customer-managed policies come with
// the one GetAccountAuthorizationDetails read; AWS-managed policies are read
// lazily (GetPolicy, GetPolicyVersion) and only for the principals whose
// UnusedPermission findings may rewrite them.

// decodeDocument turns a document as IAM returns it (RFC 3986 URL-encoded
// JSON) into compact JSON, by the rules the snapshot also uses so that both sources
// agree byte for byte. It returns nil for a document that cannot be read:
// the decision engine warns and leaves such a policy alone.
func (s *Facts) decodeDocument(what string, doc *string) json.RawMessage {
	if doc == nil || *doc == "" {
		return nil
	}
	text, err := policy.DecodePolicyString(*doc)
	if err == nil {
		var buf bytes.Buffer
		if err = json.Compact(&buf, []byte(text)); err == nil {
			return buf.Bytes()
		}
	}
	s.opts.logger.Warn("unreadable policy document; the policy is left alone", "policy", what, "error", err)
	return nil
}

func (s *Facts) inlinePolicies(owner string, ps []iamtypes.PolicyDetail) []iamprune.InlinePolicy {
	var out []iamprune.InlinePolicy
	for _, p := range ps {
		name := deref(p.PolicyName)
		out = append(out, iamprune.InlinePolicy{Name: name, Document: s.decodeDocument(owner+" inline "+name, p.PolicyDocument)})
	}
	return out
}

// customerManaged converts one Policies entry of the authorization details:
// the default version's document is among its PolicyVersionList.
func (s *Facts) customerManaged(d iamtypes.ManagedPolicyDetail) *iamprune.ManagedPolicy {
	mp := policyFromARN(deref(d.Arn))
	mp.Name, mp.Path = deref(d.PolicyName), deref(d.Path)
	mp.DefaultVersion = deref(d.DefaultVersionId)
	mp.AttachmentCount = int(deref32(d.AttachmentCount))
	mp.BoundaryCount = int(deref32(d.PermissionsBoundaryUsageCount))
	// By id, else by flag: as the snapshot finds it.
	i := slices.IndexFunc(d.PolicyVersionList, func(v iamtypes.PolicyVersion) bool { return deref(v.VersionId) == mp.DefaultVersion })
	if mp.DefaultVersion == "" || i < 0 {
		i = slices.IndexFunc(d.PolicyVersionList, func(v iamtypes.PolicyVersion) bool { return v.IsDefaultVersion })
	}
	if i >= 0 {
		mp.Document = s.decodeDocument(mp.ARN, d.PolicyVersionList[i].Document)
	}
	return mp
}

// policyFromARN is what the ARN alone says of a managed policy: what is
// known of one that could not be read.
func policyFromARN(arn string) *iamprune.ManagedPolicy {
	mp := &iamprune.ManagedPolicy{ARN: arn}
	if p, ok := iamprune.ParseARN(arn); ok {
		mp.Name, mp.Path, mp.AWSManaged = p.Name, p.Path, p.Account == "aws"
	}
	return mp
}

func isAWSManaged(arn string) bool {
	p, ok := iamprune.ParseARN(arn)
	return ok && p.Account == "aws"
}

// awsManagedToRead returns, in finding order and without repeats, the
// AWS-managed policies attached to existing principals of UnusedPermission
// findings that were not read yet.
func (s *Facts) awsManagedToRead(findings []iamprune.Finding) []string {
	var out []string
	for _, f := range findings {
		if f.Type != iamprune.UnusedPermission {
			continue
		}
		p := s.principals[f.Resource]
		if p == nil {
			continue
		}
		for _, arn := range p.AttachedPolicies {
			if _, read := s.managed[arn]; !read && isAWSManaged(arn) && !slices.Contains(out, arn) {
				out = append(out, arn)
			}
		}
	}
	return out
}

func (s *Facts) loadAWSManaged(ctx context.Context, arns []string) error {
	got := make([]*iamprune.ManagedPolicy, len(arns))
	err := forEach(ctx, len(arns), s.opts.workers, func(ctx context.Context, i int) error {
		mp, err := s.getAWSManaged(ctx, arns[i])
		got[i] = mp
		return err
	})
	for _, mp := range got {
		if mp == nil {
			continue // failed: read again next time
		}
		s.managed[mp.ARN] = mp
		if mp.DefaultVersion != "" {
			if s.versions == nil {
				s.versions = map[string]string{}
			}
			s.versions[mp.ARN] = mp.DefaultVersion
		}
	}
	return err
}

// getAWSManaged reads an AWS-managed policy and its default document. A
// policy IAM does not know (NoSuchEntity: retired by AWS) is kept without
// a document rather than failing the run; other errors fail it.
func (s *Facts) getAWSManaged(ctx context.Context, arn string) (*iamprune.ManagedPolicy, error) {
	var none *iamtypes.NoSuchEntityException
	out, err := s.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if errors.As(err, &none) {
		s.opts.logger.Warn("attached AWS managed policy does not exist; it is left alone", "policy", arn)
		return policyFromARN(arn), nil
	}
	if err != nil {
		return nil, fmt.Errorf("iam: cannot get policy %s: %w", arn, err)
	}
	mp := policyFromARN(arn)
	if pol := out.Policy; pol != nil {
		mp.Name, mp.Path = deref(pol.PolicyName), deref(pol.Path)
		mp.DefaultVersion = deref(pol.DefaultVersionId)
		mp.AttachmentCount = int(deref32(pol.AttachmentCount))
		mp.BoundaryCount = int(deref32(pol.PermissionsBoundaryUsageCount))
		mp.Tags = tagMap(pol.Tags)
	}
	if mp.DefaultVersion == "" {
		return mp, nil
	}
	v, err := s.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(mp.DefaultVersion)})
	if errors.As(err, &none) {
		return mp, nil // replaced in between: no document, left alone
	}
	if err != nil {
		return nil, fmt.Errorf("iam: cannot get version %s of policy %s: %w", mp.DefaultVersion, arn, err)
	}
	if v.PolicyVersion != nil {
		mp.Document = s.decodeDocument(arn, v.PolicyVersion.Document)
	}
	return mp, nil
}

// managedPolicies returns copies of the managed policies attached to the
// principals: customer-managed ones from the authorization details,
// AWS-managed ones as far as they were read. A customer-managed policy
// attached but absent from the read is listed without a document.
func (s *Facts) managedPolicies() map[string]*iamprune.ManagedPolicy {
	out := map[string]*iamprune.ManagedPolicy{}
	for _, p := range s.principals {
		for _, arn := range p.AttachedPolicies {
			if _, done := out[arn]; done {
				continue
			}
			mp := s.managed[arn]
			if mp == nil {
				if isAWSManaged(arn) {
					continue // not needed, not read
				}
				mp = policyFromARN(arn)
			}
			out[arn] = copyPolicy(mp)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func copyPolicy(mp *iamprune.ManagedPolicy) *iamprune.ManagedPolicy {
	c := *mp
	c.Tags = maps.Clone(mp.Tags)
	c.Document = bytes.Clone(mp.Document)
	return &c
}

func copyInline(ps []iamprune.InlinePolicy) []iamprune.InlinePolicy {
	if ps == nil {
		return nil
	}
	out := make([]iamprune.InlinePolicy, len(ps))
	for i, p := range ps {
		out[i] = iamprune.InlinePolicy{Name: p.Name, Document: bytes.Clone(p.Document)}
	}
	return out
}

func tagMap(tags []iamtypes.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[deref(t.Key)] = deref(t.Value)
	}
	return m
}

func deref32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
