package emulator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune/snapshot"
)

// Dump renders the emulator's whole state as indented JSON: users,
// groups and roles with their inline policies, attachments and tags;
// managed policies with every version; access keys with status and last
// use; login profiles; then, in sections of their own, the analyzer's
// archive rules, every finding's status, S3 buckets and objects, SNS
// topics, and the messages published (in the order they were published,
// which is part of the state). Every other list is sorted, so two dumps
// of the same state are byte-identical whatever order the changes were made in, and a
// test can compare the state before and after an apply or a rollback.
// It is a test and demo hook, not an AWS API.
func (s *Server) Dump() ([]byte, error) {
	s.st.mu.RLock()
	d := s.st.dump()
	s.st.mu.RUnlock()
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("emulator: cannot dump state: %w", err)
	}
	return append(b, '\n'), nil
}

type dumpState struct {
	Account       string       `json:"Account"`
	Users         []dumpUser   `json:"Users"`
	Groups        []dumpGroup  `json:"Groups"`
	Roles         []dumpRole   `json:"Roles"`
	Policies      []dumpPolicy `json:"Policies"`
	AccessKeys    []dumpKey    `json:"AccessKeys"`
	LoginProfiles []dumpLogin  `json:"LoginProfiles"`
	// Access Analyzer and S3 state, in the services' own member names.
	ArchiveRules []jsonArchiveRule `json:"ArchiveRules"`
	Findings     []dumpFinding     `json:"Findings"`
	Buckets      []dumpBucket      `json:"Buckets"`
	Objects      []dumpObject      `json:"Objects"`
	Topics       []dumpTopic       `json:"Topics"`
	Published    []dumpMessage     `json:"Published"`
}

// dumpTopic is a topic with the attributes and tags set at creation.
type dumpTopic struct {
	TopicArn   string            `json:"TopicArn"`
	Name       string            `json:"Name"`
	Attributes map[string]string `json:"Attributes,omitempty"`
	Tags       []snapshot.Tag    `json:"Tags"`
}

type dumpMessage struct {
	MessageId         string            `json:"MessageId"`
	TopicArn          string            `json:"TopicArn"`
	Subject           string            `json:"Subject,omitempty"`
	Message           string            `json:"Message"`
	MessageAttributes map[string]string `json:"MessageAttributes,omitempty"`
	MessageGroupId    string            `json:"MessageGroupId,omitempty"`
	Time              string            `json:"Time"`
}

// dumpFinding is what can change about a finding: its status.
type dumpFinding struct {
	Id          string `json:"id"`
	FindingType string `json:"findingType"`
	Resource    string `json:"resource"`
	Status      string `json:"status"`
	UpdatedAt   string `json:"updatedAt,omitempty"`
}

type dumpBucket struct {
	Name         string `json:"Name"`
	CreationDate string `json:"CreationDate"`
}

type dumpObject struct {
	Bucket       string            `json:"Bucket"`
	Key          string            `json:"Key"`
	ETag         string            `json:"ETag"`
	Size         int               `json:"Size"`
	ContentType  string            `json:"ContentType"`
	LastModified string            `json:"LastModified"`
	Metadata     map[string]string `json:"Metadata,omitempty"`
}

type dumpInline struct {
	PolicyName     string          `json:"PolicyName"`
	PolicyDocument json.RawMessage `json:"PolicyDocument"`
}

type dumpUser struct {
	UserName                string                        `json:"UserName"`
	UserId                  string                        `json:"UserId"`
	Arn                     string                        `json:"Arn"`
	Path                    string                        `json:"Path"`
	CreateDate              string                        `json:"CreateDate"`
	Groups                  []string                      `json:"Groups"`
	InlinePolicies          []dumpInline                  `json:"InlinePolicies"`
	AttachedManagedPolicies []string                      `json:"AttachedManagedPolicies"`
	PermissionsBoundary     *snapshot.PermissionsBoundary `json:"PermissionsBoundary,omitempty"`
	Tags                    []snapshot.Tag                `json:"Tags"`
}

type dumpGroup struct {
	GroupName               string       `json:"GroupName"`
	GroupId                 string       `json:"GroupId"`
	Arn                     string       `json:"Arn"`
	Path                    string       `json:"Path"`
	InlinePolicies          []dumpInline `json:"InlinePolicies"`
	AttachedManagedPolicies []string     `json:"AttachedManagedPolicies"`
}

type dumpRole struct {
	RoleName                 string                        `json:"RoleName"`
	RoleId                   string                        `json:"RoleId"`
	Arn                      string                        `json:"Arn"`
	Path                     string                        `json:"Path"`
	CreateDate               string                        `json:"CreateDate"`
	AssumeRolePolicyDocument json.RawMessage               `json:"AssumeRolePolicyDocument,omitempty"`
	InlinePolicies           []dumpInline                  `json:"InlinePolicies"`
	AttachedManagedPolicies  []string                      `json:"AttachedManagedPolicies"`
	PermissionsBoundary      *snapshot.PermissionsBoundary `json:"PermissionsBoundary,omitempty"`
	Tags                     []snapshot.Tag                `json:"Tags"`
	LastUsed                 string                        `json:"LastUsed,omitempty"`
	LastUsedRegion           string                        `json:"LastUsedRegion,omitempty"`
	InstanceProfiles         []string                      `json:"InstanceProfiles"`
}

type dumpVersion struct {
	VersionId        string          `json:"VersionId"`
	IsDefaultVersion bool            `json:"IsDefaultVersion"`
	CreateDate       string          `json:"CreateDate"`
	Document         json.RawMessage `json:"Document"`
}

type dumpPolicy struct {
	Arn                           string         `json:"Arn"`
	PolicyName                    string         `json:"PolicyName"`
	PolicyId                      string         `json:"PolicyId"`
	Path                          string         `json:"Path"`
	Description                   string         `json:"Description,omitempty"`
	DefaultVersionId              string         `json:"DefaultVersionId"`
	AttachmentCount               int            `json:"AttachmentCount"`
	PermissionsBoundaryUsageCount int            `json:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool           `json:"IsAttachable"`
	CreateDate                    string         `json:"CreateDate"`
	UpdateDate                    string         `json:"UpdateDate"`
	Tags                          []snapshot.Tag `json:"Tags"`
	Versions                      []dumpVersion  `json:"Versions"`
}

type dumpKey struct {
	AccessKeyId  string `json:"AccessKeyId"`
	UserName     string `json:"UserName"`
	Status       string `json:"Status"`
	CreateDate   string `json:"CreateDate"`
	LastUsedDate string `json:"LastUsedDate,omitempty"`
	ServiceName  string `json:"ServiceName,omitempty"`
	Region       string `json:"Region,omitempty"`
}

type dumpLogin struct {
	UserName              string `json:"UserName"`
	CreateDate            string `json:"CreateDate"`
	PasswordResetRequired bool   `json:"PasswordResetRequired"`
	PasswordLastUsed      string `json:"PasswordLastUsed,omitempty"`
}

func dumpTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func dumpTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return dumpTime(*t)
}

// dumpDoc embeds a policy document as JSON; an empty one as null.
func dumpDoc(d snapshot.PolicyDocument) json.RawMessage {
	if d.JSON == "" {
		return json.RawMessage("null")
	}
	return json.RawMessage(d.JSON)
}

func dumpInlines(ps []snapshot.PolicyDetail) []dumpInline {
	out := []dumpInline{}
	for _, p := range ps {
		out = append(out, dumpInline{PolicyName: p.PolicyName, PolicyDocument: dumpDoc(p.PolicyDocument)})
	}
	slices.SortFunc(out, func(a, b dumpInline) int { return strings.Compare(a.PolicyName, b.PolicyName) })
	return out
}

func dumpAttached(ps []snapshot.AttachedPolicy) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.PolicyArn)
	}
	slices.Sort(out)
	return out
}

func dumpTags(tags []snapshot.Tag) []snapshot.Tag {
	out := append([]snapshot.Tag{}, tags...)
	slices.SortFunc(out, func(a, b snapshot.Tag) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func sortedStrings(ss []string) []string {
	out := append([]string{}, ss...)
	slices.Sort(out)
	return out
}

func (st *state) dump() dumpState {
	d := dumpState{
		Account: st.meta.AccountID, Users: []dumpUser{}, Groups: []dumpGroup{}, Roles: []dumpRole{},
		Policies: []dumpPolicy{}, AccessKeys: []dumpKey{}, LoginProfiles: []dumpLogin{},
		ArchiveRules: []jsonArchiveRule{}, Findings: []dumpFinding{}, Buckets: []dumpBucket{}, Objects: []dumpObject{},
		Topics: []dumpTopic{}, Published: []dumpMessage{},
	}
	st.dumpPrincipals(&d)
	st.dumpRoles(&d)
	st.dumpPolicies(&d)
	st.dumpCredentials(&d)
	st.dumpAnalyzer(&d)
	st.dumpS3SNS(&d)
	return d
}

// dumpPrincipals adds the users and groups, sorted.
func (st *state) dumpPrincipals(d *dumpState) {
	for _, u := range st.users {
		d.Users = append(d.Users, dumpUser{
			UserName: u.UserName, UserId: u.UserId, Arn: u.Arn, Path: pathOf(u.Path), CreateDate: dumpTime(u.CreateDate),
			Groups: sortedStrings(u.GroupList), InlinePolicies: dumpInlines(u.UserPolicyList),
			AttachedManagedPolicies: dumpAttached(u.AttachedManagedPolicies), PermissionsBoundary: u.PermissionsBoundary,
			Tags: dumpTags(u.Tags),
		})
	}
	slices.SortFunc(d.Users, func(a, b dumpUser) int { return strings.Compare(a.UserName, b.UserName) })
	for _, g := range st.groups {
		d.Groups = append(d.Groups, dumpGroup{
			GroupName: g.GroupName, GroupId: g.GroupId, Arn: g.Arn, Path: pathOf(g.Path),
			InlinePolicies: dumpInlines(g.GroupPolicyList), AttachedManagedPolicies: dumpAttached(g.AttachedManagedPolicies),
		})
	}
	slices.SortFunc(d.Groups, func(a, b dumpGroup) int { return strings.Compare(a.GroupName, b.GroupName) })
}

// dumpRoles adds the roles, sorted.
func (st *state) dumpRoles(d *dumpState) {
	for _, r := range st.roles {
		x := dumpRole{
			RoleName: r.RoleName, RoleId: r.RoleId, Arn: r.Arn, Path: pathOf(r.Path), CreateDate: dumpTime(r.CreateDate),
			InlinePolicies: dumpInlines(r.RolePolicyList), AttachedManagedPolicies: dumpAttached(r.AttachedManagedPolicies),
			PermissionsBoundary: r.PermissionsBoundary, Tags: dumpTags(r.Tags), InstanceProfiles: []string{},
		}
		if r.AssumeRolePolicyDocument != nil && r.AssumeRolePolicyDocument.JSON != "" {
			x.AssumeRolePolicyDocument = dumpDoc(*r.AssumeRolePolicyDocument)
		}
		if r.RoleLastUsed != nil {
			x.LastUsed, x.LastUsedRegion = dumpTimePtr(r.RoleLastUsed.LastUsedDate), r.RoleLastUsed.Region
		}
		for _, ip := range r.InstanceProfileList {
			x.InstanceProfiles = append(x.InstanceProfiles, ip.Arn)
		}
		slices.Sort(x.InstanceProfiles)
		d.Roles = append(d.Roles, x)
	}
	slices.SortFunc(d.Roles, func(a, b dumpRole) int { return strings.Compare(a.RoleName, b.RoleName) })
}

// dumpPolicies adds the managed policies with their versions, sorted.
func (st *state) dumpPolicies(d *dumpState) {
	for _, p := range st.policies {
		x := dumpPolicy{
			Arn: p.Arn, PolicyName: p.PolicyName, PolicyId: p.PolicyId, Path: pathOf(p.Path), Description: p.Description,
			DefaultVersionId: p.DefaultVersionId, AttachmentCount: p.AttachmentCount,
			PermissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount, IsAttachable: p.IsAttachable,
			CreateDate: dumpTime(p.CreateDate), UpdateDate: dumpTime(p.UpdateDate), Tags: dumpTags(p.Tags), Versions: []dumpVersion{},
		}
		for _, v := range p.PolicyVersionList {
			x.Versions = append(x.Versions, dumpVersion{
				VersionId: v.VersionId, IsDefaultVersion: v.IsDefaultVersion, CreateDate: dumpTime(v.CreateDate), Document: dumpDoc(v.Document),
			})
		}
		slices.SortFunc(x.Versions, func(a, b dumpVersion) int {
			return cmp.Or(cmp.Compare(versionNumber(a.VersionId), versionNumber(b.VersionId)), strings.Compare(a.VersionId, b.VersionId))
		})
		d.Policies = append(d.Policies, x)
	}
	slices.SortFunc(d.Policies, func(a, b dumpPolicy) int { return strings.Compare(a.Arn, b.Arn) })
}

// dumpCredentials adds the access keys and login profiles, sorted.
func (st *state) dumpCredentials(d *dumpState) {
	for _, k := range st.keys {
		d.AccessKeys = append(d.AccessKeys, dumpKey{
			AccessKeyId: k.AccessKeyId, UserName: k.UserName, Status: k.Status, CreateDate: dumpTime(k.CreateDate),
			LastUsedDate: dumpTimePtr(k.LastUsedDate), ServiceName: k.ServiceName, Region: k.Region,
		})
	}
	slices.SortFunc(d.AccessKeys, func(a, b dumpKey) int { return strings.Compare(a.AccessKeyId, b.AccessKeyId) })
	for _, lp := range st.logins {
		d.LoginProfiles = append(d.LoginProfiles, dumpLogin{
			UserName: lp.UserName, CreateDate: dumpTime(lp.CreateDate), PasswordResetRequired: lp.PasswordResetRequired,
			PasswordLastUsed: dumpTimePtr(lp.PasswordLastUsed),
		})
	}
	slices.SortFunc(d.LoginProfiles, func(a, b dumpLogin) int { return strings.Compare(fold(a.UserName), fold(b.UserName)) })
}

// dumpAnalyzer adds the archive rules and findings, sorted.
func (st *state) dumpAnalyzer(d *dumpState) {
	for _, name := range sortedKeys(st.rules) {
		d.ArchiveRules = append(d.ArchiveRules, st.rules[name].json())
	}
	for _, f := range st.findings {
		d.Findings = append(d.Findings, dumpFinding{
			Id: f.Id, FindingType: f.FindingType, Resource: f.Resource, Status: f.Status, UpdatedAt: dumpTimePtr(f.UpdatedAt),
		})
	}
	slices.SortFunc(d.Findings, func(a, b dumpFinding) int { return strings.Compare(a.Id, b.Id) })
}

// dumpS3SNS adds the buckets, objects, topics and published messages, sorted.
func (st *state) dumpS3SNS(d *dumpState) {
	for _, name := range sortedKeys(st.buckets) {
		b := st.buckets[name]
		d.Buckets = append(d.Buckets, dumpBucket{Name: name, CreationDate: dumpTime(b.created)})
		for _, key := range sortedKeys(b.objects) {
			o := b.objects[key]
			d.Objects = append(d.Objects, dumpObject{
				Bucket: name, Key: key, ETag: o.etag, Size: len(o.body), ContentType: o.contentType,
				LastModified: dumpTime(o.modified), Metadata: o.meta,
			})
		}
	}
	for _, arn := range sortedKeys(st.topics) {
		t := st.topics[arn]
		x := dumpTopic{TopicArn: arn, Name: t.name, Tags: dumpTags(t.tags)}
		if len(t.attrs) > 0 {
			x.Attributes = maps.Clone(t.attrs)
		}
		d.Topics = append(d.Topics, x)
	}
	for _, m := range st.published {
		d.Published = append(d.Published, dumpMessage{
			MessageId: m.MessageID, TopicArn: m.TopicARN, Subject: m.Subject, Message: m.Message,
			MessageAttributes: maps.Clone(m.MessageAttributes), MessageGroupId: m.MessageGroupID, Time: dumpTime(m.Time),
		})
	}
}
