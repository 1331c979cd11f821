package app

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/snapshot"
)

// viaJSON converts an IAM SDK shape into its snapshot type. The SDK's IAM
// structs carry the wire names (PascalCase) as field names and the
// snapshot types read them, URL-encoded policy documents included, so the
// JSON text of one is the other's.
func viaJSON(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, to)
}

func convertAuth(a *awsapi.AuthDetails) (snapshot.AuthDetails, error) {
	var out snapshot.AuthDetails
	if err := viaJSON(a, &out); err != nil {
		return out, fmt.Errorf("iam: cannot read the account authorization details: %w", err)
	}
	return out, nil
}

func convertKeys(keys []awsapi.CapturedKey) []snapshot.AccessKey {
	out := make([]snapshot.AccessKey, 0, len(keys))
	for _, k := range keys {
		ak := snapshot.AccessKey{
			UserName: aws.ToString(k.Key.UserName), AccessKeyId: aws.ToString(k.Key.AccessKeyId),
			Status: string(k.Key.Status), CreateDate: aws.ToTime(k.Key.CreateDate),
		}
		if lu := k.LastUsed; lu != nil {
			// A key never used has no date, and "N/A" as its service and region.
			ak.LastUsedDate = lu.LastUsedDate
			ak.ServiceName, ak.Region = notNA(lu.ServiceName), notNA(lu.Region)
		}
		out = append(out, ak)
	}
	return out
}

func notNA(s *string) string {
	if v := aws.ToString(s); v != "N/A" {
		return v
	}
	return ""
}

func convertProfiles(ps []awsapi.CapturedProfile) []snapshot.LoginProfile {
	out := make([]snapshot.LoginProfile, 0, len(ps))
	for _, p := range ps {
		out = append(out, snapshot.LoginProfile{
			UserName: aws.ToString(p.Profile.UserName), CreateDate: aws.ToTime(p.Profile.CreateDate),
			PasswordResetRequired: p.Profile.PasswordResetRequired, PasswordLastUsed: p.PasswordLastUsed,
		})
	}
	return out
}

func convertAnalyzer(c *awsapi.CapturedAnalyzer) *snapshot.Analyzer {
	a := c.Analyzer
	out := &snapshot.Analyzer{
		Arn: aws.ToString(a.Arn), Name: aws.ToString(a.Name), Type: string(a.Type), Status: string(a.Status),
		CreatedAt: a.CreatedAt, LastResourceAnalyzed: aws.ToString(a.LastResourceAnalyzed),
		LastResourceAnalyzedAt: a.LastResourceAnalyzedAt, Tags: a.Tags,
	}
	if ua, ok := a.Configuration.(*aatypes.AnalyzerConfigurationMemberUnusedAccess); ok && ua.Value.UnusedAccessAge != nil {
		out.Configuration, _ = json.Marshal(map[string]any{"unusedAccess": map[string]any{"unusedAccessAge": *ua.Value.UnusedAccessAge}})
	}
	return out
}

func convertFindings(fs []*accessanalyzer.GetFindingV2Output) []snapshot.Finding {
	out := make([]snapshot.Finding, 0, len(fs))
	for _, f := range fs {
		sf := snapshot.Finding{
			AnalyzedAt: f.AnalyzedAt, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, Error: f.Error,
			Id: aws.ToString(f.Id), Resource: aws.ToString(f.Resource), ResourceOwnerAccount: aws.ToString(f.ResourceOwnerAccount),
			ResourceType: string(f.ResourceType), Status: string(f.Status), FindingType: string(f.FindingType),
			FindingDetails: make([]snapshot.FindingDetail, 0, len(f.FindingDetails)),
		}
		for _, d := range f.FindingDetails {
			sf.FindingDetails = append(sf.FindingDetails, convertDetail(d))
		}
		out = append(out, sf)
	}
	return out
}

// convertDetail converts one union member; members iamprune does not read
// are kept under their wire name, so that plan warns about them as it does
// live.
func convertDetail(d aatypes.FindingDetails) snapshot.FindingDetail {
	var out snapshot.FindingDetail
	switch v := d.(type) {
	case *aatypes.FindingDetailsMemberUnusedIamRoleDetails:
		out.UnusedIamRoleDetails = &snapshot.UnusedIamRoleDetails{LastAccessed: v.Value.LastAccessed}
	case *aatypes.FindingDetailsMemberUnusedIamUserAccessKeyDetails:
		out.UnusedIamUserAccessKeyDetails = &snapshot.UnusedIamUserAccessKeyDetails{AccessKeyId: aws.ToString(v.Value.AccessKeyId), LastAccessed: v.Value.LastAccessed}
	case *aatypes.FindingDetailsMemberUnusedIamUserPasswordDetails:
		out.UnusedIamUserPasswordDetails = &snapshot.UnusedIamUserPasswordDetails{LastAccessed: v.Value.LastAccessed}
	case *aatypes.FindingDetailsMemberUnusedPermissionDetails:
		p := &snapshot.UnusedPermissionDetails{ServiceNamespace: aws.ToString(v.Value.ServiceNamespace), LastAccessed: v.Value.LastAccessed}
		for _, a := range v.Value.Actions {
			p.Actions = append(p.Actions, snapshot.UnusedAction{Action: aws.ToString(a.Action), LastAccessed: a.LastAccessed})
		}
		out.UnusedPermissionDetails = p
	case *aatypes.UnknownUnionMember:
		out.Unknown = map[string]json.RawMessage{v.Tag: rawOrNull(v.Value)}
	default:
		name := strings.TrimPrefix(reflect.TypeOf(d).Elem().Name(), "FindingDetailsMember")
		if name != "" {
			name = strings.ToLower(name[:1]) + name[1:]
		}
		value := reflect.ValueOf(d).Elem().FieldByName("Value")
		raw := json.RawMessage("{}")
		if value.IsValid() {
			if b, err := json.Marshal(value.Interface()); err == nil {
				raw = b
			}
		}
		out.Unknown = map[string]json.RawMessage{name: raw}
	}
	return out
}

func rawOrNull(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	return json.RawMessage("{}")
}
