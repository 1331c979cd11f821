package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
)

var (
	_ iamprune.FindingSource = (*Snapshot)(nil)
	_ iamprune.FactSource    = (*Snapshot)(nil)
)

// Findings converts findings.json to domain findings, in file order. A
// finding of an unknown type, or of a known type whose relevant details are
// missing, is skipped with a warning: a finding is never read as "never
// used" for want of data. Union members that are unknown, or that belong
// to another finding type, are skipped with a warning. A snapshot opened
// with OpenDir reads findings.json now, one element at a time.
func (s *Snapshot) Findings(ctx context.Context) ([]iamprune.Finding, []iamprune.Warning, error) {
	var out []iamprune.Finding
	warnings, err := s.EachFinding(ctx, func(f iamprune.Finding) error {
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, warnings, nil
}

// EachFinding is Findings one finding at a time: fn gets each domain
// finding in file order, and an error from fn stops the walk and is
// returned. A snapshot opened with OpenDir never holds more than one
// element of findings.json; bad input is still reported with the file,
// line and field once the walk reaches it.
func (s *Snapshot) EachFinding(ctx context.Context, fn func(iamprune.Finding) error) ([]iamprune.Warning, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.HasFindings {
		return nil, iamprune.Errorf(iamprune.EINVALID, "snapshot %s has no %s: analyzer mode needs it", s.Name, FindingsFile)
	}
	c := converter{analyzer: s.AnalyzerOrDefault().Arn, account: s.Meta.AccountID, file: filepath.Join(s.Name, FindingsFile)}
	each := func(i int, raw *Finding) error {
		if f, ok := c.convert(i, raw); ok {
			return fn(f)
		}
		return nil
	}
	if s.lazy != nil {
		err := s.lazy.stream(ctx, each)
		return c.warnings, err
	}
	for i := range s.FindingList {
		if err := each(i, &s.FindingList[i]); err != nil {
			return c.warnings, err
		}
	}
	return c.warnings, nil
}

// converter turns snapshot findings into domain findings, collecting the
// warnings about what it skips.
type converter struct {
	analyzer, account, file string
	warnings                []iamprune.Warning
}

// convert converts the i-th finding of the file; false means skipped.
func (c *converter) convert(i int, raw *Finding) (iamprune.Finding, bool) {
	warn := func(format string, args ...any) {
		c.warnings = append(c.warnings, iamprune.Warning{Source: fmt.Sprintf("%s[%d]", c.file, i), Message: fmt.Sprintf(format, args...)})
	}
	typ := iamprune.FindingType(raw.FindingType)
	if !typ.Valid() {
		warn("unknown finding type %s; skipped", input.Snippet(raw.FindingType))
		return iamprune.Finding{}, false
	}
	f := iamprune.Finding{
		ID:           raw.Id,
		AnalyzerARN:  c.analyzer,
		Type:         typ,
		Status:       iamprune.FindingStatus(raw.Status),
		Resource:     raw.Resource,
		ResourceType: raw.ResourceType,
		Account:      raw.ResourceOwnerAccount,
		CreatedAt:    derefTime(raw.CreatedAt),
		UpdatedAt:    derefTime(raw.UpdatedAt),
		AnalyzedAt:   derefTime(raw.AnalyzedAt),
	}
	if f.Account == "" {
		f.Account = c.account
	}
	if raw.Error != nil {
		f.Error = *raw.Error
	}
	found := false
	for j, d := range raw.FindingDetails {
		if d.IsUnknown() || d.Member() == "" {
			warn("unknown finding detail member %s in findingDetails[%d]; detail skipped", input.Snippet(d.Member()), j)
			continue
		}
		switch {
		case typ == iamprune.UnusedIAMRole && d.UnusedIamRoleDetails != nil:
			if !found {
				f.LastAccessed = copyTime(d.UnusedIamRoleDetails.LastAccessed)
			}
		case typ == iamprune.UnusedIAMUserPassword && d.UnusedIamUserPasswordDetails != nil:
			if !found {
				f.LastAccessed = copyTime(d.UnusedIamUserPasswordDetails.LastAccessed)
			}
		case typ == iamprune.UnusedIAMUserAccessKey && d.UnusedIamUserAccessKeyDetails != nil:
			k := d.UnusedIamUserAccessKeyDetails
			f.AccessKeys = append(f.AccessKeys, iamprune.KeyUsage{AccessKeyID: k.AccessKeyId, LastAccessed: copyTime(k.LastAccessed)})
		case typ == iamprune.UnusedPermission && d.UnusedPermissionDetails != nil:
			f.Services = append(f.Services, serviceUsage(d.UnusedPermissionDetails))
		default:
			warn("findingDetails[%d] member %s does not belong to %s findings; detail skipped", j, input.Snippet(d.Member()), typ)
			continue
		}
		found = true
	}
	if !found {
		warn("%s finding %s has no %s details; skipped", typ, input.Snippet(raw.Id), memberFor(typ))
		return iamprune.Finding{}, false
	}
	return f, true
}

func serviceUsage(p *UnusedPermissionDetails) iamprune.ServiceUsage {
	su := iamprune.ServiceUsage{Namespace: p.ServiceNamespace, LastAccessed: copyTime(p.LastAccessed)}
	for _, a := range p.Actions {
		su.Actions = append(su.Actions, iamprune.ActionUsage{Action: a.Action, LastAccessed: copyTime(a.LastAccessed)})
	}
	return su
}

// memberFor names the union member a finding type's details come in.
func memberFor(t iamprune.FindingType) string {
	switch t {
	case iamprune.UnusedIAMRole:
		return MemberUnusedIamRole
	case iamprune.UnusedIAMUserAccessKey:
		return MemberUnusedIamUserAccessKey
	case iamprune.UnusedIAMUserPassword:
		return MemberUnusedIamUserPassword
	case iamprune.UnusedPermission:
		return MemberUnusedPermission
	}
	return ""
}

// accountFacts returns every user and role of the account authorization details,
// with their inline policies and groups, and the managed policies attached
// to them. Users' keys and login profiles are always known: a snapshot
// without access-keys.json or login-profiles.json has none. Entries naming a
// user absent from the authorization details are ignored (the user is gone).
func (s *Snapshot) accountFacts() *iamprune.Facts {
	facts := &iamprune.Facts{
		Account:    s.Meta.AccountID,
		Partition:  s.Meta.partition(),
		Caller:     s.Meta.Caller(),
		Principals: make(map[string]*iamprune.Principal, len(s.Auth.UserDetailList)+len(s.Auth.RoleDetailList)),
	}
	byUser := make(map[string]*iamprune.Principal, len(s.Auth.UserDetailList))
	for _, u := range s.Auth.UserDetailList {
		p := principal(iamprune.KindUser, u.Arn, u.UserName, u.Path, u.UserId, u.CreateDate, u.Tags)
		p.KeysKnown, p.LoginProfileKnown = true, true
		p.AttachedPolicies = attachedARNs(u.AttachedManagedPolicies)
		p.InlinePolicies = inlinePolicies(u.UserPolicyList)
		if len(u.GroupList) > 0 {
			p.Groups = slices.Clone(u.GroupList)
		}
		facts.Principals[p.ARN] = p
		byUser[u.UserName] = p
	}
	for _, r := range s.Auth.RoleDetailList {
		p := principal(iamprune.KindRole, r.Arn, r.RoleName, r.Path, r.RoleId, r.CreateDate, r.Tags)
		if r.RoleLastUsed != nil {
			p.RoleLastUsed = copyTime(r.RoleLastUsed.LastUsedDate)
		}
		p.AttachedPolicies = attachedARNs(r.AttachedManagedPolicies)
		p.InlinePolicies = inlinePolicies(r.RolePolicyList)
		facts.Principals[p.ARN] = p
	}
	for _, pol := range s.Auth.Policies {
		if facts.PolicyVersions == nil {
			facts.PolicyVersions = map[string]string{}
		}
		facts.PolicyVersions[pol.Arn] = pol.DefaultVersionId
	}
	facts.ManagedPolicies = s.managedPolicies()
	for _, k := range s.AccessKeys {
		if p := byUser[k.UserName]; p != nil {
			p.AccessKeys = append(p.AccessKeys, iamprune.AccessKey{
				ID: k.AccessKeyId, Status: k.Status, CreateDate: k.CreateDate, LastUsed: copyTime(k.LastUsedDate),
			})
		}
	}
	for _, lp := range s.LoginProfiles {
		if p := byUser[lp.UserName]; p != nil && p.LoginProfile == nil {
			p.LoginProfile = &iamprune.LoginProfile{
				CreateDate: lp.CreateDate, PasswordResetRequired: lp.PasswordResetRequired, PasswordLastUsed: copyTime(lp.PasswordLastUsed),
			}
		}
	}
	return facts
}

func inlinePolicies(ps []PolicyDetail) []iamprune.InlinePolicy {
	var out []iamprune.InlinePolicy
	for _, p := range ps {
		out = append(out, iamprune.InlinePolicy{Name: p.PolicyName, Document: document(p.PolicyDocument)})
	}
	return out
}

// document is a policy document as domain JSON; nil when absent.
func document(d PolicyDocument) json.RawMessage {
	if d.JSON == "" {
		return nil
	}
	return json.RawMessage(d.JSON)
}

// managedPolicies returns the managed policies attached to users and roles.
// Those in the Policies list carry their default document (the CLI run
// without a filter lists the AWS-managed policies in use too); those
// absent from it, or without their default version, have no Document:
// the decision engine warns and leaves them alone.
func (s *Snapshot) managedPolicies() map[string]*iamprune.ManagedPolicy {
	attached := map[string]string{} // ARN -> name
	add := func(ps []AttachedPolicy) {
		for _, a := range ps {
			if _, ok := attached[a.PolicyArn]; !ok {
				attached[a.PolicyArn] = a.PolicyName
			}
		}
	}
	for _, u := range s.Auth.UserDetailList {
		add(u.AttachedManagedPolicies)
	}
	for _, r := range s.Auth.RoleDetailList {
		add(r.AttachedManagedPolicies)
	}
	if len(attached) == 0 {
		return nil
	}
	listed := make(map[string]*ManagedPolicyDetail, len(s.Auth.Policies))
	for i := range s.Auth.Policies {
		listed[s.Auth.Policies[i].Arn] = &s.Auth.Policies[i]
	}
	out := make(map[string]*iamprune.ManagedPolicy, len(attached))
	for arn, name := range attached {
		parsed, _ := iamprune.ParseARN(arn)
		mp := &iamprune.ManagedPolicy{ARN: arn, Name: name, Path: parsed.Path, AWSManaged: parsed.Account == "aws"}
		if mp.Name == "" {
			mp.Name = parsed.Name
		}
		if d := listed[arn]; d != nil {
			mp.Name, mp.Path = d.PolicyName, d.Path
			mp.DefaultVersion, mp.AttachmentCount, mp.BoundaryCount = d.DefaultVersionId, d.AttachmentCount, d.PermissionsBoundaryUsageCount
			if i := defaultVersion(d); i >= 0 {
				mp.Document = document(d.PolicyVersionList[i].Document)
			}
		}
		out[arn] = mp
	}
	return out
}

// defaultVersion returns the index of the default version in the version
// list, found by DefaultVersionId or else by IsDefaultVersion, or -1.
func defaultVersion(d *ManagedPolicyDetail) int {
	if i := slices.IndexFunc(d.PolicyVersionList, func(v PolicyVersion) bool { return v.VersionId == d.DefaultVersionId }); d.DefaultVersionId != "" && i >= 0 {
		return i
	}
	return slices.IndexFunc(d.PolicyVersionList, func(v PolicyVersion) bool { return v.IsDefaultVersion })
}

func attachedARNs(ps []AttachedPolicy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.PolicyArn)
	}
	return out
}

func principal(kind iamprune.PrincipalKind, arn, name, path, id string, created time.Time, tags []Tag) *iamprune.Principal {
	parsed, _ := iamprune.ParseARN(arn)
	p := &iamprune.Principal{
		ARN: arn, Kind: kind, Name: name, Path: path, ID: id,
		Account: parsed.Account, CreateDate: created,
	}
	if len(tags) > 0 {
		p.Tags = make(map[string]string, len(tags))
		for _, t := range tags {
			p.Tags[t.Key] = t.Value
		}
	}
	return p
}

// derefTime is *t in UTC (as normalizeTimes leaves it; findings that
// EachFinding streams are not normalised first), or the zero time.
func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// copyTime keeps domain values from aliasing the snapshot's; in UTC.
func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := t.UTC()
	return &c
}
