package awsapi

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/iamprune/iamprune"
)

// The findingDetails member each finding type reads, by its wire name.
var detailMember = map[iamprune.FindingType]string{
	iamprune.UnusedIAMRole:          "unusedIamRoleDetails",
	iamprune.UnusedIAMUserAccessKey: "unusedIamUserAccessKeyDetails",
	iamprune.UnusedIAMUserPassword:  "unusedIamUserPasswordDetails",
	iamprune.UnusedPermission:       "unusedPermissionDetails",
}

// convertFinding turns one merged GetFindingV2 output into a Finding, by the
// same rules and messages as the snapshot adapter (plus: a key or service
// detail without its id is skipped, as it could not be acted on). It
// reports false when the finding
// must be skipped; the warnings say why. A finding whose usage details are
// missing is skipped rather than read as "never used".
func convertFinding(analyzerARN string, out *accessanalyzer.GetFindingV2Output) (iamprune.Finding, []iamprune.Warning, bool) {
	f := iamprune.Finding{
		ID:           deref(out.Id),
		AnalyzerARN:  analyzerARN,
		Type:         iamprune.FindingType(out.FindingType),
		Status:       iamprune.FindingStatus(out.Status),
		Resource:     deref(out.Resource),
		ResourceType: string(out.ResourceType),
		Account:      deref(out.ResourceOwnerAccount),
		CreatedAt:    utc(out.CreatedAt),
		UpdatedAt:    utc(out.UpdatedAt),
		AnalyzedAt:   utc(out.AnalyzedAt),
		Error:        deref(out.Error),
	}
	if f.Account == "" {
		// Never missing from AWS; the snapshot adapter falls back the same way.
		if a, ok := iamprune.ParseARN(f.Resource); ok {
			f.Account = a.Account
		}
	}
	source := "finding " + f.ID
	var warnings []iamprune.Warning
	warn := func(format string, args ...any) {
		warnings = append(warnings, iamprune.Warning{Source: source, Message: fmt.Sprintf(format, args...)})
	}
	if !f.Type.Valid() {
		warn("unknown finding type %q; skipped", f.Type)
		return f, warnings, false
	}

	found := false
	for j, d := range out.FindingDetails {
		name := memberName(d)
		if _, unknown := d.(*types.UnknownUnionMember); unknown || d == nil {
			warn("unknown finding detail member %q in findingDetails[%d]; detail skipped", name, j)
			continue
		}
		if name != detailMember[f.Type] {
			warn("findingDetails[%d] member %q does not belong to %s findings; detail skipped", j, name, f.Type)
			continue
		}
		switch v := d.(type) {
		case *types.FindingDetailsMemberUnusedIamRoleDetails:
			if !found {
				f.LastAccessed = utcPtr(v.Value.LastAccessed)
			}
			found = true
		case *types.FindingDetailsMemberUnusedIamUserPasswordDetails:
			if !found {
				f.LastAccessed = utcPtr(v.Value.LastAccessed)
			}
			found = true
		case *types.FindingDetailsMemberUnusedIamUserAccessKeyDetails:
			if deref(v.Value.AccessKeyId) == "" {
				warn("findingDetails[%d] member %q has no accessKeyId; detail skipped", j, name)
				continue
			}
			f.AccessKeys = append(f.AccessKeys, iamprune.KeyUsage{
				AccessKeyID:  *v.Value.AccessKeyId,
				LastAccessed: utcPtr(v.Value.LastAccessed),
			})
			found = true
		case *types.FindingDetailsMemberUnusedPermissionDetails:
			if deref(v.Value.ServiceNamespace) == "" {
				warn("findingDetails[%d] member %q has no serviceNamespace; detail skipped", j, name)
				continue
			}
			f.Services = append(f.Services, convertService(v.Value))
			found = true
		}
	}
	if !found {
		warn("%s finding %q has no %s details; skipped", f.Type, f.ID, detailMember[f.Type])
		return f, warnings, false
	}
	return f, warnings, true
}

func convertService(v types.UnusedPermissionDetails) iamprune.ServiceUsage {
	s := iamprune.ServiceUsage{Namespace: *v.ServiceNamespace, LastAccessed: utcPtr(v.LastAccessed)}
	for _, a := range v.Actions {
		if a.Action == nil {
			continue
		}
		s.Actions = append(s.Actions, iamprune.ActionUsage{Action: *a.Action, LastAccessed: utcPtr(a.LastAccessed)})
	}
	return s
}

// memberName returns the wire name of a findingDetails union member.
func memberName(d types.FindingDetails) string {
	switch v := d.(type) {
	case *types.FindingDetailsMemberUnusedIamRoleDetails:
		return "unusedIamRoleDetails"
	case *types.FindingDetailsMemberUnusedIamUserAccessKeyDetails:
		return "unusedIamUserAccessKeyDetails"
	case *types.FindingDetailsMemberUnusedIamUserPasswordDetails:
		return "unusedIamUserPasswordDetails"
	case *types.FindingDetailsMemberUnusedPermissionDetails:
		return "unusedPermissionDetails"
	case *types.FindingDetailsMemberExternalAccessDetails:
		return "externalAccessDetails"
	case *types.FindingDetailsMemberInternalAccessDetails:
		return "internalAccessDetails"
	case *types.UnknownUnionMember:
		return v.Tag
	case nil:
		return ""
	}
	return fmt.Sprintf("%T", d)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// utc returns t in UTC, or the zero time for nil.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// utcPtr returns a UTC copy of t; nil stays nil (never used).
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
