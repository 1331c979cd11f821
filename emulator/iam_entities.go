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
	filter := p.get("EntityFilter")
	if filter != "" && !slices.Contains(entityFilters, filter) {
		return nil, validationError("1 validation error detected: Value '%s' at 'entityFilter' failed to satisfy constraint: Member must satisfy enum value set: [%s]", filter, strings.Join(entityFilters, ", "))
	}
	usage := p.get("PolicyUsageFilter")
	if usage != "" && usage != "PermissionsPolicy" && usage != "PermissionsBoundary" {
		return nil, validationError("1 validation error detected: Value '%s' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]", usage)
	}
	prefix, aerr := pathPrefix(p)
	if aerr != nil {
		return nil, aerr
	}
	want := func(kind string) bool {
		return filter == "" || filter == kind || strings.HasSuffix(filter, "ManagedPolicy")
	}
	uses := func(attached []snapshot.AttachedPolicy, boundary *snapshot.PermissionsBoundary) bool {
		if usage != "PermissionsBoundary" && slices.ContainsFunc(attached, func(a snapshot.AttachedPolicy) bool { return a.PolicyArn == pol.Arn }) {
			return true
		}
		return usage != "PermissionsPolicy" && boundary != nil && boundary.PermissionsBoundaryArn == pol.Arn
	}

	// One sequence, groups then users then roles, paged as a whole.
	var entities []any
	if want("Group") {
		for _, g := range s.st.groups {
			if strings.HasPrefix(pathOf(g.Path), prefix) && uses(g.AttachedManagedPolicies, nil) {
				entities = append(entities, xmlPolicyGroup{GroupName: g.GroupName, GroupId: g.GroupId})
			}
		}
	}
	if want("User") {
		for _, u := range s.st.users {
			if strings.HasPrefix(pathOf(u.Path), prefix) && uses(u.AttachedManagedPolicies, u.PermissionsBoundary) {
				entities = append(entities, xmlPolicyUser{UserName: u.UserName, UserId: u.UserId})
			}
		}
	}
	if want("Role") {
		for _, r := range s.st.roles {
			if strings.HasPrefix(pathOf(r.Path), prefix) && uses(r.AttachedManagedPolicies, r.PermissionsBoundary) {
				entities = append(entities, xmlPolicyRole{RoleName: r.RoleName, RoleId: r.RoleId})
			}
		}
	}
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
