package emulator

import (
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/snapshot"
)

var iamService = &queryService{
	Name:    "iam",
	Version: "2010-05-08",
	Xmlns:   "https://iam.amazonaws.com/doc/2010-05-08/",
	Ops: map[string]func(*Server, queryParams) (any, *apiError){
		"GetAccountAuthorizationDetails": (*Server).getAccountAuthorizationDetails,
		"ListAccessKeys":                 (*Server).listAccessKeys,
		"GetAccessKeyLastUsed":           (*Server).getAccessKeyLastUsed,
		"GetLoginProfile":                (*Server).getLoginProfile,
		"GetUser":                        (*Server).getUser,
		"GetRole":                        (*Server).getRole,
		"ListUsers":                      (*Server).listUsers,
		"ListRoles":                      (*Server).listRoles,

		"GenerateCredentialReport":           (*Server).generateCredentialReport,
		"GetCredentialReport":                (*Server).getCredentialReport,
		"GenerateServiceLastAccessedDetails": (*Server).generateServiceLastAccessedDetails,
		"GetServiceLastAccessedDetails":      (*Server).getServiceLastAccessedDetails,

		"UpdateAccessKey":    (*Server).updateAccessKey,
		"DeleteAccessKey":    (*Server).deleteAccessKey,
		"CreateLoginProfile": (*Server).createLoginProfile,
		"DeleteLoginProfile": (*Server).deleteLoginProfile,

		"PutRolePolicy":    (*Server).putRolePolicy,
		"GetRolePolicy":    (*Server).getRolePolicy,
		"DeleteRolePolicy": (*Server).deleteRolePolicy,
		"ListRolePolicies": (*Server).listRolePolicies,
		"PutUserPolicy":    (*Server).putUserPolicy,
		"GetUserPolicy":    (*Server).getUserPolicy,
		"DeleteUserPolicy": (*Server).deleteUserPolicy,
		"ListUserPolicies": (*Server).listUserPolicies,

		"CreatePolicy":            (*Server).createPolicy,
		"GetPolicy":               (*Server).getPolicy,
		"DeletePolicy":            (*Server).deletePolicy,
		"ListPolicies":            (*Server).listPolicies,
		"CreatePolicyVersion":     (*Server).createPolicyVersion,
		"GetPolicyVersion":        (*Server).getPolicyVersion,
		"DeletePolicyVersion":     (*Server).deletePolicyVersion,
		"ListPolicyVersions":      (*Server).listPolicyVersions,
		"SetDefaultPolicyVersion": (*Server).setDefaultPolicyVersion,

		"AttachRolePolicy":         (*Server).attachRolePolicy,
		"DetachRolePolicy":         (*Server).detachRolePolicy,
		"ListAttachedRolePolicies": (*Server).listAttachedRolePolicies,
		"AttachUserPolicy":         (*Server).attachUserPolicy,
		"DetachUserPolicy":         (*Server).detachUserPolicy,
		"ListAttachedUserPolicies": (*Server).listAttachedUserPolicies,

		"ListEntitiesForPolicy": (*Server).listEntitiesForPolicy,

		"TagRole":      (*Server).tagRole,
		"UntagRole":    (*Server).untagRole,
		"ListRoleTags": (*Server).listRoleTags,
	},
	Writes: iamWriteOps,
}

// iamWriteOps are the IAM operations that change state; Writes() lists
// their calls.
var iamWriteOps = map[string]bool{
	"UpdateAccessKey": true, "DeleteAccessKey": true, "CreateLoginProfile": true, "DeleteLoginProfile": true,
	"PutRolePolicy": true, "DeleteRolePolicy": true, "PutUserPolicy": true, "DeleteUserPolicy": true,
	"CreatePolicy": true, "DeletePolicy": true, "CreatePolicyVersion": true, "DeletePolicyVersion": true,
	"SetDefaultPolicyVersion": true, "AttachRolePolicy": true, "DetachRolePolicy": true,
	"AttachUserPolicy": true, "DetachUserPolicy": true, "TagRole": true, "UntagRole": true,
}

func noSuchUser(name string) *apiError {
	return noSuchEntity("The user with name %s cannot be found.", name)
}

// userOrCaller resolves the optional UserName parameter: IAM defaults it to
// the calling user, and refuses when the caller is not a user.
func (s *Server) userOrCaller(p queryParams) (*snapshot.UserDetail, *apiError) {
	name := p.get("UserName")
	if name == "" {
		c, ok := iamprune.ParseARN(s.caller(p))
		if !ok || c.Service != "iam" || c.Kind != "user" {
			return nil, validationError("Must specify userName when calling with non-User credentials")
		}
		name = c.Name
	}
	u := s.st.userByName[fold(name)]
	if u == nil {
		return nil, noSuchUser(name)
	}
	return u, nil
}

func noSuchRole(name string) *apiError {
	return noSuchEntity("The role with name %s cannot be found.", name)
}

// roleParam resolves the required RoleName parameter.
func (s *Server) roleParam(p queryParams) (*snapshot.RoleDetail, *apiError) {
	name := p.get("RoleName")
	if name == "" {
		return nil, missingParam("roleName")
	}
	r := s.st.roleByName[fold(name)]
	if r == nil {
		return nil, noSuchRole(name)
	}
	return r, nil
}

// iamPage pages total items for an IAM list operation (Marker, MaxItems).
func (s *Server) iamPage(p queryParams, total int, scope string) (page, *apiError) {
	requested, aerr := p.maxItems("MaxItems")
	if aerr != nil {
		return page{}, aerr
	}
	limit, _ := s.pageLimit(requested)
	pg, err := paginate(total, p.get("Marker"), limit, scope)
	if err != nil {
		return page{}, validationError("Invalid value for parameter Marker: %s", err)
	}
	return pg, nil
}

// gaadFilters are the entity types GetAccountAuthorizationDetails accepts.
var gaadFilters = []string{"User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"}

func isAWSManaged(policyARN string) bool {
	p, ok := iamprune.ParseARN(policyARN)
	return ok && p.Account == "aws"
}

// getAccountAuthorizationDetails pages over users, groups, roles and
// policies as one sequence, as IAM does: one page may hold several kinds.
func (s *Server) getAccountAuthorizationDetails(p queryParams) (any, *apiError) {
	filter := p.list("Filter")
	for _, f := range filter {
		if !slices.Contains(gaadFilters, f) {
			return nil, validationError("1 validation error detected: Value '[%s]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [%s]]", f, strings.Join(gaadFilters, ", "))
		}
	}
	want := func(kind string) bool { return len(filter) == 0 || slices.Contains(filter, kind) }

	st := s.st
	type item struct {
		kind byte // u g r p
		i    int
	}
	var items []item
	if want("User") {
		for i := range st.users {
			items = append(items, item{'u', i})
		}
	}
	if want("Group") {
		for i := range st.groups {
			items = append(items, item{'g', i})
		}
	}
	if want("Role") {
		for i := range st.roles {
			items = append(items, item{'r', i})
		}
	}
	for i, pol := range st.policies {
		aws := isAWSManaged(pol.Arn)
		// IAM lists only the AWS managed policies that are in use.
		if aws && pol.AttachmentCount == 0 && pol.PermissionsBoundaryUsageCount == 0 {
			continue
		}
		if (aws && want("AWSManagedPolicy")) || (!aws && want("LocalManagedPolicy")) {
			items = append(items, item{'p', i})
		}
	}

	sorted := slices.Clone(filter)
	slices.Sort(sorted)
	pg, aerr := s.iamPage(p, len(items), "GetAccountAuthorizationDetails|"+strings.Join(sorted, ","))
	if aerr != nil {
		return nil, aerr
	}
	res := gaadResult{IsTruncated: pg.Next != "", Marker: pg.Next}
	for _, it := range items[pg.Start:pg.End] {
		switch it.kind {
		case 'u':
			res.UserDetailList = append(res.UserDetailList, userDetail(st.users[it.i]))
		case 'g':
			res.GroupDetailList = append(res.GroupDetailList, groupDetail(st.groups[it.i]))
		case 'r':
			res.RoleDetailList = append(res.RoleDetailList, roleDetail(st.roles[it.i]))
		case 'p':
			res.Policies = append(res.Policies, policyDetail(&st.policies[it.i].ManagedPolicyDetail))
		}
	}
	return res, nil
}

func (s *Server) listAccessKeys(p queryParams) (any, *apiError) {
	u, aerr := s.userOrCaller(p)
	if aerr != nil {
		return nil, aerr
	}
	keys := s.st.keysOf(u.UserName)
	pg, aerr := s.iamPage(p, len(keys), "ListAccessKeys|"+fold(u.UserName))
	if aerr != nil {
		return nil, aerr
	}
	res := listAccessKeysResult{IsTruncated: pg.Next != "", Marker: pg.Next}
	for _, k := range keys[pg.Start:pg.End] {
		res.AccessKeyMetadata = append(res.AccessKeyMetadata, xmlAccessKeyMetadata{
			AccessKeyId: k.AccessKeyId, CreateDate: isoTime(k.CreateDate), Status: k.Status, UserName: u.UserName,
		})
	}
	return res, nil
}

// getAccessKeyLastUsed answers as IAM does for a key never used: no date,
// and "N/A" for the service and region.
func (s *Server) getAccessKeyLastUsed(p queryParams) (any, *apiError) {
	id := p.get("AccessKeyId")
	if id == "" {
		return nil, missingParam("accessKeyId")
	}
	k := s.st.keyByID[id]
	if k == nil {
		return nil, noSuchEntity("The Access Key with id %s cannot be found.", id)
	}
	last := xmlAccessKeyLastUsed{ServiceName: "N/A", Region: "N/A"}
	if k.LastUsedDate != nil {
		last.LastUsedDate = isoPtr(k.LastUsedDate)
		last.ServiceName = orNA(k.ServiceName)
		last.Region = orNA(k.Region)
	}
	return getAccessKeyLastUsedResult{AccessKeyLastUsed: last, UserName: k.UserName}, nil
}

func orNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

func (s *Server) getLoginProfile(p queryParams) (any, *apiError) {
	u, aerr := s.userOrCaller(p)
	if aerr != nil {
		return nil, aerr
	}
	lp := s.st.logins[fold(u.UserName)]
	if lp == nil {
		return nil, noSuchEntity("Login Profile for User %s cannot be found.", u.UserName)
	}
	return getLoginProfileResult{LoginProfile: xmlLoginProfile{
		CreateDate: isoTime(lp.CreateDate), PasswordResetRequired: lp.PasswordResetRequired, UserName: u.UserName,
	}}, nil
}

func (s *Server) getUser(p queryParams) (any, *apiError) {
	u, aerr := s.userOrCaller(p)
	if aerr != nil {
		return nil, aerr
	}
	return getUserResult{User: s.user(u, true)}, nil
}

func (s *Server) getRole(p queryParams) (any, *apiError) {
	r, aerr := s.roleParam(p)
	if aerr != nil {
		return nil, aerr
	}
	return getRoleResult{Role: role(r, true)}, nil
}

// pathPrefix reads PathPrefix, which defaults to "/" and must start with it.
func pathPrefix(p queryParams) (string, *apiError) {
	prefix := p.get("PathPrefix")
	if prefix == "" {
		return "/", nil
	}
	if !strings.HasPrefix(prefix, "/") {
		return "", validationError("The specified value for pathPrefix is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	return prefix, nil
}

func (s *Server) listUsers(p queryParams) (any, *apiError) {
	prefix, aerr := pathPrefix(p)
	if aerr != nil {
		return nil, aerr
	}
	var users []*snapshot.UserDetail
	for _, u := range s.st.users {
		if strings.HasPrefix(pathOf(u.Path), prefix) {
			users = append(users, u)
		}
	}
	pg, aerr := s.iamPage(p, len(users), "ListUsers|"+prefix)
	if aerr != nil {
		return nil, aerr
	}
	res := listUsersResult{IsTruncated: pg.Next != "", Marker: pg.Next}
	for _, u := range users[pg.Start:pg.End] {
		res.Users = append(res.Users, s.user(u, false))
	}
	return res, nil
}

func (s *Server) listRoles(p queryParams) (any, *apiError) {
	prefix, aerr := pathPrefix(p)
	if aerr != nil {
		return nil, aerr
	}
	var roles []*snapshot.RoleDetail
	for _, r := range s.st.roles {
		if strings.HasPrefix(pathOf(r.Path), prefix) {
			roles = append(roles, r)
		}
	}
	pg, aerr := s.iamPage(p, len(roles), "ListRoles|"+prefix)
	if aerr != nil {
		return nil, aerr
	}
	res := listRolesResult{IsTruncated: pg.Next != "", Marker: pg.Next}
	for _, r := range roles[pg.Start:pg.End] {
		res.Roles = append(res.Roles, role(r, false))
	}
	return res, nil
}

// pathOf treats a missing path as the root path, as IAM does.
func pathOf(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
