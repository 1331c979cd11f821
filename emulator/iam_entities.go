package emulator

import (
	"slices"
	"strings"

	"github.com/iamprune/iamprune/snapshot"
)

// iam:ListEntitiesForPolicy: the groups, users and roles a managed policy is
// attached to (PolicyUsageFilter PermissionsPolicy) or is the permissions
// boundary of (PermissionsBoundary); both when the filter is absent. The
// list reflects Attach*/Detach* calls. Groups have no boundaries.

type listEntitiesForPolicyResult struct {
	PolicyGroups list[xmlPolicyGroup] `xml:"PolicyGroups"`
	PolicyUsers  list[xmlPolicyUser]  `xml:"PolicyUsers"`
	PolicyRoles  list[xmlPolicyRole]  `xml:"PolicyRoles"`
	IsTruncated  bool                 `xml:"IsTruncated"`
	Marker       string               `xml:"Marker,omitempty"`
}

type xmlPolicyGroup struct {
	GroupName string `xml:"GroupName"`
	GroupId   string `xml:"GroupId"`
}

type xmlPolicyUser struct {
	UserName string `xml:"UserName"`
	UserId   string `xml:"UserId"`
}

type xmlPolicyRole struct {
	RoleName string `xml:"RoleName"`
	RoleId   string `xml:"RoleId"`
}

// entityFilters are IAM's EntityType values; the two policy types select
// no entities and so filter nothing out, as IAM treats them.
var entityFilters = []string{"User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"}

func (s *Server) listEntitiesForPolicy(p queryParams) (any, *apiError) {
	pol, aerr := s.policyParam(p)
	if aerr != nil {
		return nil, aerr
	}
	filter, usage, aerr := entityFilterParams(p)
	if aerr != nil {
		return nil, aerr
	}
	prefix, aerr := pathPrefix(p)
	if aerr != nil {
		return nil, aerr
	}
	entities := s.policyEntities(entityQuery{arn: pol.Arn, filter: filter, usage: usage, prefix: prefix})
	pg, aerr := s.iamPage(p, len(entities), "ListEntitiesForPolicy|"+pol.Arn+"|"+filter+"|"+usage+"|"+prefix)
	if aerr != nil {
		return nil, aerr
	}
	res := listEntitiesForPolicyResult{
		PolicyGroups: list[xmlPolicyGroup]{}, PolicyUsers: list[xmlPolicyUser]{}, PolicyRoles: list[xmlPolicyRole]{},
		IsTruncated: pg.Next != "", Marker: pg.Next,
	}
	for _, e := range entities[pg.Start:pg.End] {
		switch e := e.(type) {
		case xmlPolicyGroup:
			res.PolicyGroups = append(res.PolicyGroups, e)
		case xmlPolicyUser:
			res.PolicyUsers = append(res.PolicyUsers, e)
		case xmlPolicyRole:
			res.PolicyRoles = append(res.PolicyRoles, e)
		}
	}
	return res, nil
}

// entityFilterParams reads and checks EntityFilter and PolicyUsageFilter.
func entityFilterParams(p queryParams) (filter, usage string, aerr *apiError) {
	filter = p.get("EntityFilter")
	if filter != "" && !slices.Contains(entityFilters, filter) {
		return "", "", validationError("1 validation error detected: Value '%s' at 'entityFilter' failed to satisfy constraint: Member must satisfy enum value set: [%s]", filter, strings.Join(entityFilters, ", "))
	}
	usage = p.get("PolicyUsageFilter")
	if usage != "" && usage != "PermissionsPolicy" && usage != "PermissionsBoundary" {
		return "", "", validationError("1 validation error detected: Value '%s' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]", usage)
	}
	return filter, usage, nil
}

// entityQuery is what ListEntitiesForPolicy selects by.
type entityQuery struct {
	arn, filter, usage, prefix string
}

// wants reports whether the filter selects entities of kind.
func (q entityQuery) wants(kind string) bool {
	return q.filter == "" || q.filter == kind || strings.HasSuffix(q.filter, "ManagedPolicy")
}

// selects reports whether an entity at path uses the policy as the usage
// filter asks.
func (q entityQuery) selects(path string, attached []snapshot.AttachedPolicy, boundary *snapshot.PermissionsBoundary) bool {
	if !strings.HasPrefix(pathOf(path), q.prefix) {
		return false
	}
	if q.usage != "PermissionsBoundary" && slices.ContainsFunc(attached, func(a snapshot.AttachedPolicy) bool { return a.PolicyArn == q.arn }) {
		return true
	}
	return q.usage != "PermissionsPolicy" && boundary != nil && boundary.PermissionsBoundaryArn == q.arn
}

// policyEntities is one sequence, groups then users then roles, paged as
// a whole.
func (s *Server) policyEntities(q entityQuery) []any {
	var entities []any
	if q.wants("Group") {
		for _, g := range s.st.groups {
			if q.selects(g.Path, g.AttachedManagedPolicies, nil) {
				entities = append(entities, xmlPolicyGroup{GroupName: g.GroupName, GroupId: g.GroupId})
			}
		}
	}
	if q.wants("User") {
		for _, u := range s.st.users {
			if q.selects(u.Path, u.AttachedManagedPolicies, u.PermissionsBoundary) {
				entities = append(entities, xmlPolicyUser{UserName: u.UserName, UserId: u.UserId})
			}
		}
	}
	if q.wants("Role") {
		for _, r := range s.st.roles {
			if q.selects(r.Path, r.AttachedManagedPolicies, r.PermissionsBoundary) {
				entities = append(entities, xmlPolicyRole{RoleName: r.RoleName, RoleId: r.RoleId})
			}
		}
	}
	return entities
}
