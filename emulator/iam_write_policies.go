package emulator

import (
	"slices"
	"strings"

	"github.com/iamprune/iamprune/snapshot"
)

// Inline policies of roles and users. Both kinds behave alike; they differ
// in the parameter naming the principal and in the size quota.

// inlineOwner is a principal's inline policy list with its quota.
type inlineOwner struct {
	kind     string // "role" or "user", as IAM's messages say
	name     string
	policies *[]snapshot.PolicyDetail
	quota    int
}

func (o inlineOwner) find(name string) int {
	return slices.IndexFunc(*o.policies, func(d snapshot.PolicyDetail) bool { return d.PolicyName == name })
}

func (o inlineOwner) noSuchPolicy(name string) *apiError {
	return noSuchEntity("The %s policy with name %s cannot be found.", o.kind, name)
}

func (s *Server) roleInline(p queryParams) (inlineOwner, *apiError) {
	r, aerr := s.roleParam(p)
	if aerr != nil {
		return inlineOwner{}, aerr
	}
	return inlineOwner{kind: "role", name: r.RoleName, policies: &r.RolePolicyList, quota: rolePolicySizeQuota}, nil
}

// userInline resolves UserName, which the inline policy operations require
// (they do not default to the caller).
func (s *Server) userInline(p queryParams) (inlineOwner, *apiError) {
	name := p.get("UserName")
	if name == "" {
		return inlineOwner{}, missingParam("userName")
	}
	u := s.st.userByName[fold(name)]
	if u == nil {
		return inlineOwner{}, noSuchUser(name)
	}
	return inlineOwner{kind: "user", name: u.UserName, policies: &u.UserPolicyList, quota: userPolicySizeQuota}, nil
}

func (s *Server) putRolePolicy(p queryParams) (any, *apiError) {
	return s.putInline(p, s.roleInline)
}

func (s *Server) putUserPolicy(p queryParams) (any, *apiError) {
	return s.putInline(p, s.userInline)
}

// putInline adds or replaces an inline policy. The quota is on the
// aggregate of the principal's inline policies; a replaced policy counts
// with its new size only.
func (s *Server) putInline(p queryParams, owner func(queryParams) (inlineOwner, *apiError)) (any, *apiError) {
	name := p.get("PolicyName")
	if aerr := checkName("policyName", name, 128); aerr != nil {
		return nil, aerr
	}
	doc, size, aerr := parsePolicy(p.get("PolicyDocument"))
	if aerr != nil {
		return nil, aerr
	}
	o, aerr := owner(p)
	if aerr != nil {
		return nil, aerr
	}
	i := o.find(name)
	total := size
	for j, d := range *o.policies {
		if j != i {
			total += policySize(d.PolicyDocument.JSON)
		}
	}
	if total > o.quota {
		return nil, limitExceeded("Maximum policy size of %d bytes exceeded for %s %s", o.quota, o.kind, o.name)
	}
	if i >= 0 {
		(*o.policies)[i].PolicyDocument = doc
	} else {
		*o.policies = append(*o.policies, snapshot.PolicyDetail{PolicyName: name, PolicyDocument: doc})
	}
	return nil, nil
}

type getRolePolicyResult struct {
	PolicyDocument string `xml:"PolicyDocument"`
	PolicyName     string `xml:"PolicyName"`
	RoleName       string `xml:"RoleName"`
}

type getUserPolicyResult struct {
	PolicyDocument string `xml:"PolicyDocument"`
	PolicyName     string `xml:"PolicyName"`
	UserName       string `xml:"UserName"`
}

func (s *Server) getInline(p queryParams, owner func(queryParams) (inlineOwner, *apiError)) (inlineOwner, snapshot.PolicyDetail, *apiError) {
	name := p.get("PolicyName")
	if aerr := checkName("policyName", name, 128); aerr != nil {
		return inlineOwner{}, snapshot.PolicyDetail{}, aerr
	}
	o, aerr := owner(p)
	if aerr != nil {
		return o, snapshot.PolicyDetail{}, aerr
	}
	i := o.find(name)
	if i < 0 {
		return o, snapshot.PolicyDetail{}, o.noSuchPolicy(name)
	}
	return o, (*o.policies)[i], nil
}

func (s *Server) getRolePolicy(p queryParams) (any, *apiError) {
	o, d, aerr := s.getInline(p, s.roleInline)
	if aerr != nil {
		return nil, aerr
	}
	return getRolePolicyResult{PolicyDocument: encodePolicy(d.PolicyDocument), PolicyName: d.PolicyName, RoleName: o.name}, nil
}

func (s *Server) getUserPolicy(p queryParams) (any, *apiError) {
	o, d, aerr := s.getInline(p, s.userInline)
	if aerr != nil {
		return nil, aerr
	}
	return getUserPolicyResult{PolicyDocument: encodePolicy(d.PolicyDocument), PolicyName: d.PolicyName, UserName: o.name}, nil
}

func (s *Server) deleteRolePolicy(p queryParams) (any, *apiError) {
	return s.deleteInline(p, s.roleInline)
}

func (s *Server) deleteUserPolicy(p queryParams) (any, *apiError) {
	return s.deleteInline(p, s.userInline)
}

func (s *Server) deleteInline(p queryParams, owner func(queryParams) (inlineOwner, *apiError)) (any, *apiError) {
	o, d, aerr := s.getInline(p, owner)
	if aerr != nil {
		return nil, aerr
	}
	*o.policies = slices.Delete(*o.policies, o.find(d.PolicyName), o.find(d.PolicyName)+1)
	return nil, nil
}

type listPolicyNamesResult struct {
	IsTruncated bool         `xml:"IsTruncated"`
	Marker      string       `xml:"Marker,omitempty"`
	PolicyNames list[string] `xml:"PolicyNames"`
}

func (s *Server) listRolePolicies(p queryParams) (any, *apiError) {
	return s.listInline(p, "ListRolePolicies", s.roleInline)
}

func (s *Server) listUserPolicies(p queryParams) (any, *apiError) {
	return s.listInline(p, "ListUserPolicies", s.userInline)
}

// listInline lists policy names in alphabetical order, as IAM does.
func (s *Server) listInline(p queryParams, op string, owner func(queryParams) (inlineOwner, *apiError)) (any, *apiError) {
	o, aerr := owner(p)
	if aerr != nil {
		return nil, aerr
	}
	var names []string
	for _, d := range *o.policies {
		names = append(names, d.PolicyName)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(a, b) })
	pg, aerr := s.iamPage(p, len(names), op+"|"+fold(o.name))
	if aerr != nil {
		return nil, aerr
	}
	return listPolicyNamesResult{IsTruncated: pg.Next != "", Marker: pg.Next, PolicyNames: names[pg.Start:pg.End]}, nil
}
