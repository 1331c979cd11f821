package emulator

import (
	"encoding/xml"
	"time"

	"github.com/iamprune/iamprune/snapshot"
)

// IAM response shapes, named and ordered as the IAM API returns them. Lists
// are wrapped in <member> elements, as the Query protocol requires.

// isoTime renders as IAM does: ISO 8601 in UTC, whole seconds.
type isoTime time.Time

func (t isoTime) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format("2006-01-02T15:04:05Z")), nil
}

func isoPtr(t *time.Time) *isoTime {
	if t == nil {
		return nil
	}
	v := isoTime(*t)
	return &v
}

// encodePolicy URL-encodes a policy document the way IAM returns it.
func encodePolicy(d snapshot.PolicyDocument) string { return d.URLEncoded() }

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlAttachedPolicy struct {
	PolicyArn  string `xml:"PolicyArn"`
	PolicyName string `xml:"PolicyName"`
}

type xmlBoundary struct {
	PermissionsBoundaryArn  string `xml:"PermissionsBoundaryArn"`
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
}

type xmlPolicyDetail struct {
	PolicyDocument string `xml:"PolicyDocument"`
	PolicyName     string `xml:"PolicyName"`
}

type xmlRoleLastUsed struct {
	LastUsedDate *isoTime `xml:"LastUsedDate,omitempty"`
	Region       string   `xml:"Region,omitempty"`
}

type xmlUser struct {
	Arn                 string       `xml:"Arn"`
	CreateDate          isoTime      `xml:"CreateDate"`
	PasswordLastUsed    *isoTime     `xml:"PasswordLastUsed,omitempty"`
	Path                string       `xml:"Path"`
	PermissionsBoundary *xmlBoundary `xml:"PermissionsBoundary,omitempty"`
	Tags                list[xmlTag] `xml:"Tags,omitempty"`
	UserId              string       `xml:"UserId"`
	UserName            string       `xml:"UserName"`
}

type xmlRole struct {
	Arn                      string           `xml:"Arn"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument,omitempty"`
	CreateDate               isoTime          `xml:"CreateDate"`
	Path                     string           `xml:"Path"`
	PermissionsBoundary      *xmlBoundary     `xml:"PermissionsBoundary,omitempty"`
	RoleId                   string           `xml:"RoleId"`
	RoleLastUsed             *xmlRoleLastUsed `xml:"RoleLastUsed,omitempty"`
	RoleName                 string           `xml:"RoleName"`
	Tags                     list[xmlTag]     `xml:"Tags,omitempty"`
}

type xmlInstanceProfile struct {
	Arn                 string        `xml:"Arn"`
	CreateDate          isoTime       `xml:"CreateDate"`
	InstanceProfileId   string        `xml:"InstanceProfileId"`
	InstanceProfileName string        `xml:"InstanceProfileName"`
	Path                string        `xml:"Path"`
	Roles               list[xmlRole] `xml:"Roles"`
}

type xmlUserDetail struct {
	Arn                     string                  `xml:"Arn"`
	AttachedManagedPolicies list[xmlAttachedPolicy] `xml:"AttachedManagedPolicies"`
	CreateDate              isoTime                 `xml:"CreateDate"`
	GroupList               list[string]            `xml:"GroupList"`
	Path                    string                  `xml:"Path"`
	PermissionsBoundary     *xmlBoundary            `xml:"PermissionsBoundary,omitempty"`
	Tags                    list[xmlTag]            `xml:"Tags,omitempty"`
	UserId                  string                  `xml:"UserId"`
	UserName                string                  `xml:"UserName"`
	UserPolicyList          list[xmlPolicyDetail]   `xml:"UserPolicyList"`
}

type xmlGroupDetail struct {
	Arn                     string                  `xml:"Arn"`
	AttachedManagedPolicies list[xmlAttachedPolicy] `xml:"AttachedManagedPolicies"`
	CreateDate              isoTime                 `xml:"CreateDate"`
	GroupId                 string                  `xml:"GroupId"`
	GroupName               string                  `xml:"GroupName"`
	GroupPolicyList         list[xmlPolicyDetail]   `xml:"GroupPolicyList"`
	Path                    string                  `xml:"Path"`
}

type xmlRoleDetail struct {
	Arn                      string                   `xml:"Arn"`
	AssumeRolePolicyDocument string                   `xml:"AssumeRolePolicyDocument,omitempty"`
	AttachedManagedPolicies  list[xmlAttachedPolicy]  `xml:"AttachedManagedPolicies"`
	CreateDate               isoTime                  `xml:"CreateDate"`
	InstanceProfileList      list[xmlInstanceProfile] `xml:"InstanceProfileList"`
	Path                     string                   `xml:"Path"`
	PermissionsBoundary      *xmlBoundary             `xml:"PermissionsBoundary,omitempty"`
	RoleId                   string                   `xml:"RoleId"`
	RoleLastUsed             xmlRoleLastUsed          `xml:"RoleLastUsed"`
	RoleName                 string                   `xml:"RoleName"`
	RolePolicyList           list[xmlPolicyDetail]    `xml:"RolePolicyList"`
	Tags                     list[xmlTag]             `xml:"Tags,omitempty"`
}

type xmlPolicyVersion struct {
	CreateDate       isoTime `xml:"CreateDate"`
	Document         string  `xml:"Document,omitempty"`
	IsDefaultVersion bool    `xml:"IsDefaultVersion"`
	VersionId        string  `xml:"VersionId"`
}

type xmlManagedPolicyDetail struct {
	Arn                           string                 `xml:"Arn"`
	AttachmentCount               int                    `xml:"AttachmentCount"`
	CreateDate                    isoTime                `xml:"CreateDate"`
	DefaultVersionId              string                 `xml:"DefaultVersionId"`
	Description                   string                 `xml:"Description,omitempty"`
	IsAttachable                  bool                   `xml:"IsAttachable"`
	Path                          string                 `xml:"Path"`
	PermissionsBoundaryUsageCount int                    `xml:"PermissionsBoundaryUsageCount"`
	PolicyId                      string                 `xml:"PolicyId"`
	PolicyName                    string                 `xml:"PolicyName"`
	PolicyVersionList             list[xmlPolicyVersion] `xml:"PolicyVersionList"`
	UpdateDate                    isoTime                `xml:"UpdateDate"`
}

type xmlAccessKeyMetadata struct {
	AccessKeyId string  `xml:"AccessKeyId"`
	CreateDate  isoTime `xml:"CreateDate"`
	Status      string  `xml:"Status"`
	UserName    string  `xml:"UserName"`
}

type xmlAccessKeyLastUsed struct {
	LastUsedDate *isoTime `xml:"LastUsedDate,omitempty"`
	Region       string   `xml:"Region"`
	ServiceName  string   `xml:"ServiceName"`
}

type xmlLoginProfile struct {
	CreateDate            isoTime `xml:"CreateDate"`
	PasswordResetRequired bool    `xml:"PasswordResetRequired"`
	UserName              string  `xml:"UserName"`
}

// list is a Query protocol list: each item in its own <member> element.
// With omitempty an empty list is left out; without, it is written empty,
// as IAM does for the lists it always returns.
type list[T any] []T

func (l list[T]) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	member := xml.StartElement{Name: xml.Name{Local: "member"}}
	for _, v := range l {
		if err := e.EncodeElement(v, member); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// Operation results: the content of <ActionResult>.

type gaadResult struct {
	GroupDetailList list[xmlGroupDetail]         `xml:"GroupDetailList"`
	IsTruncated     bool                         `xml:"IsTruncated"`
	Marker          string                       `xml:"Marker,omitempty"`
	Policies        list[xmlManagedPolicyDetail] `xml:"Policies"`
	RoleDetailList  list[xmlRoleDetail]          `xml:"RoleDetailList"`
	UserDetailList  list[xmlUserDetail]          `xml:"UserDetailList"`
}

type listAccessKeysResult struct {
	AccessKeyMetadata list[xmlAccessKeyMetadata] `xml:"AccessKeyMetadata"`
	IsTruncated       bool                       `xml:"IsTruncated"`
	Marker            string                     `xml:"Marker,omitempty"`
}

type getAccessKeyLastUsedResult struct {
	AccessKeyLastUsed xmlAccessKeyLastUsed `xml:"AccessKeyLastUsed"`
	UserName          string               `xml:"UserName"`
}

type getLoginProfileResult struct {
	LoginProfile xmlLoginProfile `xml:"LoginProfile"`
}

type getUserResult struct {
	User xmlUser `xml:"User"`
}

type getRoleResult struct {
	Role xmlRole `xml:"Role"`
}

type listUsersResult struct {
	IsTruncated bool          `xml:"IsTruncated"`
	Marker      string        `xml:"Marker,omitempty"`
	Users       list[xmlUser] `xml:"Users"`
}

type listRolesResult struct {
	IsTruncated bool          `xml:"IsTruncated"`
	Marker      string        `xml:"Marker,omitempty"`
	Roles       list[xmlRole] `xml:"Roles"`
}

// Conversions from snapshot shapes.

func xmlTags(tags []snapshot.Tag) []xmlTag {
	var out []xmlTag
	for _, t := range tags {
		out = append(out, xmlTag(t))
	}
	return out
}

func xmlAttached(ps []snapshot.AttachedPolicy) []xmlAttachedPolicy {
	var out []xmlAttachedPolicy
	for _, p := range ps {
		out = append(out, xmlAttachedPolicy{PolicyArn: p.PolicyArn, PolicyName: p.PolicyName})
	}
	return out
}

func xmlInline(ps []snapshot.PolicyDetail) []xmlPolicyDetail {
	var out []xmlPolicyDetail
	for _, p := range ps {
		out = append(out, xmlPolicyDetail{PolicyName: p.PolicyName, PolicyDocument: encodePolicy(p.PolicyDocument)})
	}
	return out
}

func xmlBound(b *snapshot.PermissionsBoundary) *xmlBoundary {
	if b == nil {
		return nil
	}
	return &xmlBoundary{PermissionsBoundaryArn: b.PermissionsBoundaryArn, PermissionsBoundaryType: b.PermissionsBoundaryType}
}

func assumeRolePolicy(r *snapshot.RoleDetail) string {
	if r.AssumeRolePolicyDocument == nil || r.AssumeRolePolicyDocument.JSON == "" {
		return ""
	}
	return encodePolicy(*r.AssumeRolePolicyDocument)
}

func roleLastUsed(r *snapshot.RoleDetail) xmlRoleLastUsed {
	if r.RoleLastUsed == nil {
		return xmlRoleLastUsed{}
	}
	return xmlRoleLastUsed{LastUsedDate: isoPtr(r.RoleLastUsed.LastUsedDate), Region: r.RoleLastUsed.Region}
}

// user renders a user as GetUser (full) or ListUsers (without tags and
// boundary, which ListUsers does not return) do.
func (s *Server) user(u *snapshot.UserDetail, full bool) xmlUser {
	x := xmlUser{
		Arn: u.Arn, CreateDate: isoTime(u.CreateDate), Path: u.Path, UserId: u.UserId, UserName: u.UserName,
	}
	if lp := s.st.logins[fold(u.UserName)]; lp != nil {
		x.PasswordLastUsed = isoPtr(lp.PasswordLastUsed)
	}
	if full {
		x.PermissionsBoundary = xmlBound(u.PermissionsBoundary)
		x.Tags = xmlTags(u.Tags)
	}
	return x
}

// role renders a role as GetRole (full) or ListRoles (without tags,
// boundary and last use, which ListRoles does not return) do.
func role(r *snapshot.RoleDetail, full bool) xmlRole {
	x := xmlRole{
		Arn: r.Arn, AssumeRolePolicyDocument: assumeRolePolicy(r), CreateDate: isoTime(r.CreateDate),
		Path: r.Path, RoleId: r.RoleId, RoleName: r.RoleName,
	}
	if full {
		x.PermissionsBoundary = xmlBound(r.PermissionsBoundary)
		x.Tags = xmlTags(r.Tags)
		lu := roleLastUsed(r)
		x.RoleLastUsed = &lu
	}
	return x
}

func userDetail(u *snapshot.UserDetail) xmlUserDetail {
	return xmlUserDetail{
		Arn: u.Arn, AttachedManagedPolicies: xmlAttached(u.AttachedManagedPolicies), CreateDate: isoTime(u.CreateDate),
		GroupList: u.GroupList, Path: u.Path, PermissionsBoundary: xmlBound(u.PermissionsBoundary),
		Tags: xmlTags(u.Tags), UserId: u.UserId, UserName: u.UserName, UserPolicyList: xmlInline(u.UserPolicyList),
	}
}

func groupDetail(g *snapshot.GroupDetail) xmlGroupDetail {
	return xmlGroupDetail{
		Arn: g.Arn, AttachedManagedPolicies: xmlAttached(g.AttachedManagedPolicies), CreateDate: isoTime(g.CreateDate),
		GroupId: g.GroupId, GroupName: g.GroupName, GroupPolicyList: xmlInline(g.GroupPolicyList), Path: g.Path,
	}
}

func roleDetail(r *snapshot.RoleDetail) xmlRoleDetail {
	x := xmlRoleDetail{
		Arn: r.Arn, AssumeRolePolicyDocument: assumeRolePolicy(r), AttachedManagedPolicies: xmlAttached(r.AttachedManagedPolicies),
		CreateDate: isoTime(r.CreateDate), Path: r.Path, PermissionsBoundary: xmlBound(r.PermissionsBoundary),
		RoleId: r.RoleId, RoleLastUsed: roleLastUsed(r), RoleName: r.RoleName,
		RolePolicyList: xmlInline(r.RolePolicyList), Tags: xmlTags(r.Tags),
	}
	// IAM lists the profile's roles inside each profile; a profile holds at
	// most one role, and it is this one.
	for _, ip := range r.InstanceProfileList {
		x.InstanceProfileList = append(x.InstanceProfileList, xmlInstanceProfile{
			Arn: ip.Arn, CreateDate: isoTime(ip.CreateDate), InstanceProfileId: ip.InstanceProfileId,
			InstanceProfileName: ip.InstanceProfileName, Path: ip.Path, Roles: []xmlRole{role(r, false)},
		})
	}
	return x
}

func policyDetail(p *snapshot.ManagedPolicyDetail) xmlManagedPolicyDetail {
	x := xmlManagedPolicyDetail{
		Arn: p.Arn, AttachmentCount: p.AttachmentCount, CreateDate: isoTime(p.CreateDate), DefaultVersionId: p.DefaultVersionId,
		Description: p.Description, IsAttachable: p.IsAttachable, Path: p.Path,
		PermissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount, PolicyId: p.PolicyId, PolicyName: p.PolicyName,
		UpdateDate: isoTime(p.UpdateDate),
	}
	for _, v := range p.PolicyVersionList {
		x.PolicyVersionList = append(x.PolicyVersionList, xmlPolicyVersion{
			CreateDate: isoTime(v.CreateDate), Document: encodePolicy(v.Document), IsDefaultVersion: v.IsDefaultVersion, VersionId: v.VersionId,
		})
	}
	return x
}
