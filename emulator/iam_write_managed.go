package emulator

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/snapshot"
)

// Managed policies and their versions.

// xmlPolicy is the Policy shape of CreatePolicy, GetPolicy and ListPolicies.
type xmlPolicy struct {
	Arn                           string       `xml:"Arn"`
	AttachmentCount               int          `xml:"AttachmentCount"`
	CreateDate                    isoTime      `xml:"CreateDate"`
	DefaultVersionId              string       `xml:"DefaultVersionId"`
	Description                   string       `xml:"Description,omitempty"`
	IsAttachable                  bool         `xml:"IsAttachable"`
	Path                          string       `xml:"Path"`
	PermissionsBoundaryUsageCount int          `xml:"PermissionsBoundaryUsageCount"`
	PolicyId                      string       `xml:"PolicyId"`
	PolicyName                    string       `xml:"PolicyName"`
	Tags                          list[xmlTag] `xml:"Tags,omitempty"`
	UpdateDate                    isoTime      `xml:"UpdateDate"`
}

type policyResult struct {
	Policy xmlPolicy `xml:"Policy"`
}

type policyVersionResult struct {
	PolicyVersion xmlPolicyVersion `xml:"PolicyVersion"`
}

type listPoliciesResult struct {
	IsTruncated bool            `xml:"IsTruncated"`
	Marker      string          `xml:"Marker,omitempty"`
	Policies    list[xmlPolicy] `xml:"Policies"`
}

type listPolicyVersionsResult struct {
	IsTruncated bool                   `xml:"IsTruncated"`
	Marker      string                 `xml:"Marker,omitempty"`
	Versions    list[xmlPolicyVersion] `xml:"Versions"`
}

// xmlPolicyOf renders a policy; ListPolicies leaves out the description
// and tags, GetPolicy and CreatePolicy include them.
func xmlPolicyOf(p *managedPolicy, full bool) xmlPolicy {
	x := xmlPolicy{
		Arn: p.Arn, AttachmentCount: p.AttachmentCount, CreateDate: isoTime(p.CreateDate), DefaultVersionId: p.DefaultVersionId,
		IsAttachable: p.IsAttachable, Path: pathOf(p.Path), PermissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount,
		PolicyId: p.PolicyId, PolicyName: p.PolicyName, UpdateDate: isoTime(p.UpdateDate),
	}
	if full {
		x.Description = p.Description
		x.Tags = xmlTags(p.Tags)
	}
	return x
}

func xmlVersion(v snapshot.PolicyVersion, withDocument bool) xmlPolicyVersion {
	x := xmlPolicyVersion{CreateDate: isoTime(v.CreateDate), IsDefaultVersion: v.IsDefaultVersion, VersionId: v.VersionId}
	if withDocument {
		x.Document = encodePolicy(v.Document)
	}
	return x
}

func noSuchPolicy(arn string) *apiError {
	return noSuchEntity("Policy %s does not exist or is not attachable.", arn)
}

// policyParam resolves the PolicyArn parameter.
func (s *Server) policyParam(p queryParams) (*managedPolicy, *apiError) {
	arn := p.get("PolicyArn")
	if arn == "" {
		return nil, missingParam("policyArn")
	}
	a, ok := iamprune.ParseARN(arn)
	if !ok || a.Service != "iam" || a.Kind != "policy" {
		return nil, invalidInput("ARN %s is not valid.", arn)
	}
	pol := s.st.policyByARN[arn]
	if pol == nil {
		return nil, noSuchPolicy(arn)
	}
	return pol, nil
}

// ownPolicyParam resolves PolicyArn for a change, which only customer
// managed policies allow.
func (s *Server) ownPolicyParam(p queryParams, action string) (*managedPolicy, *apiError) {
	pol, aerr := s.policyParam(p)
	if aerr != nil {
		return nil, aerr
	}
	if isAWSManaged(pol.Arn) {
		return nil, accessDenied("User: %s is not authorized to perform: iam:%s on resource: policy %s", s.caller(p), action, pol.Arn)
	}
	return pol, nil
}

func (pol *managedPolicy) version(id string) int {
	return slices.IndexFunc(pol.PolicyVersionList, func(v snapshot.PolicyVersion) bool { return v.VersionId == id })
}

// newVersion adds a version, newest first as IAM lists them.
func (pol *managedPolicy) newVersion(doc snapshot.PolicyDocument, at time.Time) snapshot.PolicyVersion {
	v := snapshot.PolicyVersion{Document: doc, VersionId: "v" + strconv.Itoa(pol.nextVersion), CreateDate: at}
	pol.nextVersion++
	pol.PolicyVersionList = slices.Insert(pol.PolicyVersionList, 0, v)
	pol.touch()
	return v
}

// setDefault makes version i the default one.
func (pol *managedPolicy) setDefault(i int) {
	for j := range pol.PolicyVersionList {
		pol.PolicyVersionList[j].IsDefaultVersion = j == i
	}
	pol.DefaultVersionId = pol.PolicyVersionList[i].VersionId
}

// touch sets UpdateDate as IAM defines it: the creation of the newest
// version.
func (pol *managedPolicy) touch() {
	for _, v := range pol.PolicyVersionList {
		if v.CreateDate.After(pol.UpdateDate) || pol.UpdateDate.IsZero() {
			pol.UpdateDate = v.CreateDate
		}
	}
}

func (s *Server) createPolicy(p queryParams) (any, *apiError) {
	name := p.get("PolicyName")
	if aerr := checkName("policyName", name, 128); aerr != nil {
		return nil, aerr
	}
	path := p.get("Path")
	if path == "" {
		path = "/"
	}
	if aerr := checkPath(path); aerr != nil {
		return nil, aerr
	}
	desc := p.get("Description")
	if len(desc) > 1000 {
		return nil, validationError("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000")
	}
	tags := p.tags("Tags")
	if aerr := checkTags(tags); aerr != nil {
		return nil, aerr
	}
	if len(tags) > tagsQuota {
		return nil, limitExceeded("Cannot exceed quota for TagsPerPolicy: %d", tagsQuota)
	}
	doc, size, aerr := parsePolicy(p.get("PolicyDocument"))
	if aerr != nil {
		return nil, aerr
	}
	if size > managedPolicySizeQuota {
		return nil, limitExceeded("Cannot exceed quota for PolicySize: %d", managedPolicySizeQuota)
	}
	st := s.st
	// Policy names are unique in the account whatever their path.
	for _, pol := range st.policies {
		if !isAWSManaged(pol.Arn) && fold(pol.PolicyName) == fold(name) {
			return nil, entityAlreadyExists("A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	arn := "arn:" + st.partition() + ":iam::" + st.meta.AccountID + ":policy" + path + name
	st.policySeq++
	now := s.stamp()
	pol := &managedPolicy{
		ManagedPolicyDetail: snapshot.ManagedPolicyDetail{
			PolicyName: name, PolicyId: syntheticID("ANPA", arn+"#"+strconv.Itoa(st.policySeq)), Arn: arn, Path: path,
			IsAttachable: true, Description: desc, CreateDate: now, UpdateDate: now,
		},
		Tags:        tags,
		nextVersion: 1,
	}
	pol.newVersion(doc, now)
	pol.setDefault(0)
	st.addPolicy(pol)
	return policyResult{Policy: xmlPolicyOf(pol, true)}, nil
}

func (s *Server) getPolicy(p queryParams) (any, *apiError) {
	pol, aerr := s.policyParam(p)
	if aerr != nil {
		return nil, aerr
	}
	return policyResult{Policy: xmlPolicyOf(pol, true)}, nil
}

// deletePolicy refuses, as IAM does, while the policy is attached or used
// as a boundary, or keeps versions besides the default one.
func (s *Server) deletePolicy(p queryParams) (any, *apiError) {
	pol, aerr := s.ownPolicyParam(p, "DeletePolicy")
	if aerr != nil {
		return nil, aerr
	}
	st := s.st
	if pol.AttachmentCount > 0 || st.attachedAnywhere(pol.Arn) {
		return nil, deleteConflict("Cannot delete a policy attached to entities.")
	}
	if pol.PermissionsBoundaryUsageCount > 0 {
		return nil, deleteConflict("Cannot delete a policy used as a permissions boundary.")
	}
	if len(pol.PolicyVersionList) > 1 {
		return nil, deleteConflict("This policy has more than one version. Before you delete a policy, you must first delete all non-default versions.")
	}
	st.policies = slices.DeleteFunc(st.policies, func(x *managedPolicy) bool { return x == pol })
	delete(st.policyByARN, pol.Arn)
	return nil, nil
}

// attachedAnywhere reports whether any user, group or role has arn
// attached.
func (st *state) attachedAnywhere(arn string) bool {
	has := func(ps []snapshot.AttachedPolicy) bool {
		return slices.ContainsFunc(ps, func(a snapshot.AttachedPolicy) bool { return a.PolicyArn == arn })
	}
	return slices.ContainsFunc(st.users, func(u *snapshot.UserDetail) bool { return has(u.AttachedManagedPolicies) }) ||
		slices.ContainsFunc(st.groups, func(g *snapshot.GroupDetail) bool { return has(g.AttachedManagedPolicies) }) ||
		slices.ContainsFunc(st.roles, func(r *snapshot.RoleDetail) bool { return has(r.AttachedManagedPolicies) })
}

var policyScopes = []string{"All", "AWS", "Local"}

func (s *Server) listPolicies(p queryParams) (any, *apiError) {
	scope := p.get("Scope")
	if scope == "" {
		scope = "All"
	}
	if !slices.Contains(policyScopes, scope) {
		return nil, validationError("1 validation error detected: Value '%s' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]", scope)
	}
	onlyAttached := p.get("OnlyAttached") == "true"
	usage := p.get("PolicyUsageFilter")
	if usage != "" && usage != "PermissionsPolicy" && usage != "PermissionsBoundary" {
		return nil, validationError("1 validation error detected: Value '%s' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]", usage)
	}
	prefix, aerr := pathPrefix(p)
	if aerr != nil {
		return nil, aerr
	}
	var found []*managedPolicy
	for _, pol := range s.st.policies {
		aws := isAWSManaged(pol.Arn)
		switch {
		case scope == "AWS" && !aws, scope == "Local" && aws:
		case !strings.HasPrefix(pathOf(pol.Path), prefix):
		case onlyAttached && pol.AttachmentCount == 0 && pol.PermissionsBoundaryUsageCount == 0:
		case usage == "PermissionsPolicy" && pol.AttachmentCount == 0:
		case usage == "PermissionsBoundary" && pol.PermissionsBoundaryUsageCount == 0:
		default:
			found = append(found, pol)
		}
	}
	pg, aerr := s.iamPage(p, len(found), "ListPolicies|"+scope+"|"+strconv.FormatBool(onlyAttached)+"|"+usage+"|"+prefix)
	if aerr != nil {
		return nil, aerr
	}
	res := listPoliciesResult{IsTruncated: pg.Next != "", Marker: pg.Next}
	for _, pol := range found[pg.Start:pg.End] {
		res.Policies = append(res.Policies, xmlPolicyOf(pol, false))
	}
	return res, nil
}

// versionParam resolves PolicyArn and VersionId.
func (s *Server) versionParam(pol *managedPolicy, p queryParams) (int, *apiError) {
	id := p.get("VersionId")
	if id == "" {
		return 0, missingParam("versionId")
	}
	i := pol.version(id)
	if i < 0 {
		return 0, noSuchEntity("Policy %s version %s does not exist or is not attachable.", pol.Arn, id)
	}
	return i, nil
}

func (s *Server) getPolicyVersion(p queryParams) (any, *apiError) {
	pol, aerr := s.policyParam(p)
	if aerr != nil {
		return nil, aerr
	}
	i, aerr := s.versionParam(pol, p)
	if aerr != nil {
		return nil, aerr
	}
	return policyVersionResult{PolicyVersion: xmlVersion(pol.PolicyVersionList[i], true)}, nil
}

// listPolicyVersions lists versions newest first, without documents.
func (s *Server) listPolicyVersions(p queryParams) (any, *apiError) {
	pol, aerr := s.policyParam(p)
	if aerr != nil {
		return nil, aerr
	}
	vs := slices.Clone(pol.PolicyVersionList)
	slices.SortStableFunc(vs, func(a, b snapshot.PolicyVersion) int { return versionNumber(b.VersionId) - versionNumber(a.VersionId) })
	pg, aerr := s.iamPage(p, len(vs), "ListPolicyVersions|"+pol.Arn)
	if aerr != nil {
		return nil, aerr
	}
	res := listPolicyVersionsResult{IsTruncated: pg.Next != "", Marker: pg.Next}
	for _, v := range vs[pg.Start:pg.End] {
		res.Versions = append(res.Versions, xmlVersion(v, false))
	}
	return res, nil
}

func (s *Server) createPolicyVersion(p queryParams) (any, *apiError) {
	pol, aerr := s.ownPolicyParam(p, "CreatePolicyVersion")
	if aerr != nil {
		return nil, aerr
	}
	doc, size, aerr := parsePolicy(p.get("PolicyDocument"))
	if aerr != nil {
		return nil, aerr
	}
	if size > managedPolicySizeQuota {
		return nil, limitExceeded("Cannot exceed quota for PolicySize: %d", managedPolicySizeQuota)
	}
	asDefault := false
	switch v := p.get("SetAsDefault"); v {
	case "", "false":
	case "true":
		asDefault = true
	default:
		return nil, validationError("Invalid value for parameter SetAsDefault: %s", v)
	}
	if len(pol.PolicyVersionList) >= policyVersionsQuota {
		return nil, limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", policyVersionsQuota)
	}
	v := pol.newVersion(doc, s.stamp())
	if asDefault {
		pol.setDefault(0)
		v.IsDefaultVersion = true
	}
	return policyVersionResult{PolicyVersion: xmlVersion(v, false)}, nil
}

func (s *Server) deletePolicyVersion(p queryParams) (any, *apiError) {
	pol, aerr := s.ownPolicyParam(p, "DeletePolicyVersion")
	if aerr != nil {
		return nil, aerr
	}
	i, aerr := s.versionParam(pol, p)
	if aerr != nil {
		return nil, aerr
	}
	if pol.PolicyVersionList[i].IsDefaultVersion {
		return nil, deleteConflict("Cannot delete the default version of a policy.")
	}
	pol.PolicyVersionList = slices.Delete(pol.PolicyVersionList, i, i+1)
	pol.UpdateDate = time.Time{}
	pol.touch()
	return nil, nil
}

func (s *Server) setDefaultPolicyVersion(p queryParams) (any, *apiError) {
	pol, aerr := s.ownPolicyParam(p, "SetDefaultPolicyVersion")
	if aerr != nil {
		return nil, aerr
	}
	i, aerr := s.versionParam(pol, p)
	if aerr != nil {
		return nil, aerr
	}
	pol.setDefault(i)
	return nil, nil
}
