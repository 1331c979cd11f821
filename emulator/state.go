package emulator

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iamprune/iamprune/snapshot"
)

// state is the emulator's own, mutable copy of the account: IAM entities,
// credentials, findings and their archive rules, S3 buckets and SNS
// topics. New deep-copies the snapshot into it so that
// writes never reach the caller's snapshot. Entities are held by pointer
// in slices (which keep the snapshot's order, as IAM lists them) and in
// maps by name or id; both point at the same values. mu guards everything:
// read operations take it shared, write operations and hooks exclusively.
type state struct {
	mu sync.RWMutex

	meta     snapshot.Meta
	analyzer snapshot.Analyzer

	users    []*snapshot.UserDetail
	groups   []*snapshot.GroupDetail
	roles    []*snapshot.RoleDetail
	policies []*managedPolicy
	keys     []*snapshot.AccessKey
	findings []*snapshot.Finding

	userByName  map[string]*snapshot.UserDetail // folded name
	roleByName  map[string]*snapshot.RoleDetail // folded name
	policyByARN map[string]*managedPolicy
	keyByID     map[string]*snapshot.AccessKey
	logins      map[string]*snapshot.LoginProfile // folded user name
	findingByID map[string]*snapshot.Finding

	// rules are the analyzer's archive rules by name.
	rules map[string]*archiveRule
	// buckets are the S3 buckets by name.
	buckets map[string]*s3Bucket
	// topics are the SNS topics by ARN; published is every message
	// accepted, in order, and snsSeq numbers them.
	topics    map[string]*snsTopic
	published []PublishedMessage
	snsSeq    int

	// policySeq numbers created policies, so that their ids are unique and
	// yet the same from one run of a test to the next.
	policySeq int
}

// managedPolicy is a managed policy with what the snapshot shape lacks:
// its tags, and the next version number (IAM never reuses one).
type managedPolicy struct {
	snapshot.ManagedPolicyDetail
	Tags        []snapshot.Tag
	nextVersion int
}

// IAM names are unique regardless of case, and IAM looks them up that way,
// so name keys are folded.
func fold(name string) string { return strings.ToLower(name) }

func newState(snap *snapshot.Snapshot) *state {
	st := &state{
		meta:        snap.Meta,
		analyzer:    cloneAnalyzer(snap.AnalyzerOrDefault()),
		userByName:  map[string]*snapshot.UserDetail{},
		roleByName:  map[string]*snapshot.RoleDetail{},
		policyByARN: map[string]*managedPolicy{},
		keyByID:     map[string]*snapshot.AccessKey{},
		logins:      map[string]*snapshot.LoginProfile{},
		findingByID: map[string]*snapshot.Finding{},
		rules:       map[string]*archiveRule{},
		buckets:     map[string]*s3Bucket{},
		topics:      map[string]*snsTopic{},
	}
	auth := &snap.Auth
	for i := range auth.UserDetailList {
		u := cloneUser(auth.UserDetailList[i])
		st.users = append(st.users, u)
		st.userByName[fold(u.UserName)] = u
	}
	for i := range auth.GroupDetailList {
		st.groups = append(st.groups, cloneGroup(auth.GroupDetailList[i]))
	}
	for i := range auth.RoleDetailList {
		r := cloneRole(auth.RoleDetailList[i])
		st.roles = append(st.roles, r)
		st.roleByName[fold(r.RoleName)] = r
	}
	for i := range auth.Policies {
		st.addPolicy(&managedPolicy{ManagedPolicyDetail: clonePolicy(auth.Policies[i])})
	}
	for i := range snap.AccessKeys {
		k := snap.AccessKeys[i]
		k.LastUsedDate = clonePtr(k.LastUsedDate)
		st.keys = append(st.keys, &k)
		st.keyByID[k.AccessKeyId] = &k
	}
	for i := range snap.LoginProfiles {
		lp := snap.LoginProfiles[i]
		lp.PasswordLastUsed = clonePtr(lp.PasswordLastUsed)
		st.logins[fold(lp.UserName)] = &lp
	}
	for i := range snap.FindingList {
		f := cloneFinding(snap.FindingList[i])
		st.findings = append(st.findings, f)
		st.findingByID[f.Id] = f
	}
	st.seedAWSPolicies()
	st.countUsage()
	return st
}

// countUsage sets each policy's AttachmentCount and
// PermissionsBoundaryUsageCount from the entities, as IAM keeps them: a
// hand-written snapshot may disagree with its own attachments, and a seeded
// AWS managed policy may already be attached. Attach and Detach keep the
// counts from there.
func (st *state) countUsage() {
	for _, p := range st.policies {
		p.AttachmentCount, p.PermissionsBoundaryUsageCount = 0, 0
	}
	count := func(attached []snapshot.AttachedPolicy, boundary *snapshot.PermissionsBoundary) {
		for _, a := range attached {
			if p := st.policyByARN[a.PolicyArn]; p != nil {
				p.AttachmentCount++
			}
		}
		if boundary != nil {
			if p := st.policyByARN[boundary.PermissionsBoundaryArn]; p != nil {
				p.PermissionsBoundaryUsageCount++
			}
		}
	}
	for _, u := range st.users {
		count(u.AttachedManagedPolicies, u.PermissionsBoundary)
	}
	for _, g := range st.groups {
		count(g.AttachedManagedPolicies, nil)
	}
	for _, r := range st.roles {
		count(r.AttachedManagedPolicies, r.PermissionsBoundary)
	}
}

func (st *state) addPolicy(p *managedPolicy) {
	for _, v := range p.PolicyVersionList {
		if n := versionNumber(v.VersionId); n >= p.nextVersion {
			p.nextVersion = n + 1
		}
	}
	if p.nextVersion == 0 {
		p.nextVersion = 1
	}
	st.policies = append(st.policies, p)
	st.policyByARN[p.Arn] = p
}

func (st *state) partition() string {
	if st.meta.Partition == "" {
		return "aws"
	}
	return st.meta.Partition
}

func (st *state) region() string {
	if st.meta.Region == "" {
		return "us-east-1"
	}
	return st.meta.Region
}

// versionNumber reads "v3" as 3; 0 for anything else.
func versionNumber(id string) int {
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

// Deep copies. Values that are never mutated in place (strings, time
// values) are shared; everything reached through a slice, map or pointer
// is copied.

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneUser(u snapshot.UserDetail) *snapshot.UserDetail {
	u.UserPolicyList = slices.Clone(u.UserPolicyList)
	u.GroupList = slices.Clone(u.GroupList)
	u.AttachedManagedPolicies = slices.Clone(u.AttachedManagedPolicies)
	u.PermissionsBoundary = clonePtr(u.PermissionsBoundary)
	u.Tags = slices.Clone(u.Tags)
	return &u
}

func cloneGroup(g snapshot.GroupDetail) *snapshot.GroupDetail {
	g.GroupPolicyList = slices.Clone(g.GroupPolicyList)
	g.AttachedManagedPolicies = slices.Clone(g.AttachedManagedPolicies)
	return &g
}

func cloneRole(r snapshot.RoleDetail) *snapshot.RoleDetail {
	r.AssumeRolePolicyDocument = clonePtr(r.AssumeRolePolicyDocument)
	r.InstanceProfileList = slices.Clone(r.InstanceProfileList)
	r.RolePolicyList = slices.Clone(r.RolePolicyList)
	r.AttachedManagedPolicies = slices.Clone(r.AttachedManagedPolicies)
	r.PermissionsBoundary = clonePtr(r.PermissionsBoundary)
	r.Tags = slices.Clone(r.Tags)
	if r.RoleLastUsed != nil {
		lu := *r.RoleLastUsed
		lu.LastUsedDate = clonePtr(lu.LastUsedDate)
		r.RoleLastUsed = &lu
	}
	return &r
}

func clonePolicy(p snapshot.ManagedPolicyDetail) snapshot.ManagedPolicyDetail {
	p.PolicyVersionList = slices.Clone(p.PolicyVersionList)
	return p
}

func cloneFinding(f snapshot.Finding) *snapshot.Finding {
	f.AnalyzedAt = clonePtr(f.AnalyzedAt)
	f.CreatedAt = clonePtr(f.CreatedAt)
	f.UpdatedAt = clonePtr(f.UpdatedAt)
	f.Error = clonePtr(f.Error)
	details := make([]snapshot.FindingDetail, len(f.FindingDetails))
	for i, d := range f.FindingDetails {
		details[i] = cloneDetail(d)
	}
	if f.FindingDetails == nil {
		details = nil
	}
	f.FindingDetails = details
	return &f
}

func cloneDetail(d snapshot.FindingDetail) snapshot.FindingDetail {
	if r := d.UnusedIamRoleDetails; r != nil {
		c := *r
		c.LastAccessed = clonePtr(c.LastAccessed)
		d.UnusedIamRoleDetails = &c
	}
	if k := d.UnusedIamUserAccessKeyDetails; k != nil {
		c := *k
		c.LastAccessed = clonePtr(c.LastAccessed)
		d.UnusedIamUserAccessKeyDetails = &c
	}
	if p := d.UnusedIamUserPasswordDetails; p != nil {
		c := *p
		c.LastAccessed = clonePtr(c.LastAccessed)
		d.UnusedIamUserPasswordDetails = &c
	}
	if p := d.UnusedPermissionDetails; p != nil {
		c := *p
		c.LastAccessed = clonePtr(c.LastAccessed)
		c.Actions = slices.Clone(c.Actions)
		for i := range c.Actions {
			c.Actions[i].LastAccessed = clonePtr(c.Actions[i].LastAccessed)
		}
		d.UnusedPermissionDetails = &c
	}
	if d.Unknown != nil {
		u := make(map[string]json.RawMessage, len(d.Unknown))
		for k, v := range d.Unknown {
			u[k] = bytes.Clone(v)
		}
		d.Unknown = u
	}
	return d
}

func cloneAnalyzer(a snapshot.Analyzer) snapshot.Analyzer {
	a.CreatedAt = clonePtr(a.CreatedAt)
	a.LastResourceAnalyzedAt = clonePtr(a.LastResourceAnalyzedAt)
	a.Tags = maps.Clone(a.Tags)
	a.Configuration = bytes.Clone(a.Configuration)
	return a
}

// AWS managed policies the emulator knows even when the snapshot does not
// list them: GetAccountAuthorizationDetails only returns the AWS managed
// policies that are attached, so a snapshot lacks the ones iamprune may
// attach later. Documents and dates are the published ones.
var awsManagedSeeds = []struct {
	name, description, version, document string
	created, updated                     time.Time
}{
	{
		name: "AWSDenyAll", description: "Deny all access.", version: "v2",
		document: `{"Version":"2012-10-17","Statement":[{"Sid":"DenyAll","Effect":"Deny","Action":["*"],"Resource":"*"}]}`,
		created:  time.Date(2019, 5, 1, 22, 36, 14, 0, time.UTC),
		updated:  time.Date(2023, 12, 18, 16, 42, 0, 0, time.UTC),
	},
}

func (st *state) seedAWSPolicies() {
	for _, s := range awsManagedSeeds {
		arn := "arn:" + st.partition() + ":iam::aws:policy/" + s.name
		if st.policyByARN[arn] != nil {
			continue
		}
		st.addPolicy(&managedPolicy{ManagedPolicyDetail: snapshot.ManagedPolicyDetail{
			PolicyName: s.name, PolicyId: syntheticID("ANPA", arn), Arn: arn, Path: "/",
			DefaultVersionId: s.version, IsAttachable: true, Description: s.description,
			CreateDate: s.created, UpdateDate: s.updated,
			PolicyVersionList: []snapshot.PolicyVersion{{
				Document: snapshot.PolicyDocument{JSON: s.document}, VersionId: s.version,
				IsDefaultVersion: true, CreateDate: s.updated,
			}},
		}})
	}
}

// keysOf returns a user's access keys in the order IAM lists them.
func (st *state) keysOf(userName string) []*snapshot.AccessKey {
	var out []*snapshot.AccessKey
	for _, k := range st.keys {
		if fold(k.UserName) == fold(userName) {
			out = append(out, k)
		}
	}
	return out
}
