package emulator

import (
	"slices"
	"strings"

	"github.com/iamprune/iamprune/snapshot"
)

// Managed policy attachments to roles and users.

// attachOwner is a principal's attachment list.
type attachOwner struct {
	quotaName string // as in IAM's LimitExceeded message
	name      string
	attached  *[]snapshot.AttachedPolicy
}

func (o attachOwner) find(arn string) int {
	return slices.IndexFunc(*o.attached, func(a snapshot.AttachedPolicy) bool { return a.PolicyArn == arn })
}

func (s *Server) roleAttach(p queryParams) (attachOwner, *apiError) {
	r, aerr := s.roleParam(p)
	if aerr != nil {
		return attachOwner{}, aerr
	}
	return attachOwner{quotaName: "PoliciesPerRole", name: r.RoleName, attached: &r.AttachedManagedPolicies}, nil
}

func (s *Server) userAttach(p queryParams) (attachOwner, *apiError) {
	name := p.get("UserName")
	if name == "" {
		return attachOwner{}, missingParam("userName")
	}
	u := s.st.userByName[fold(name)]
	if u == nil {
		return attachOwner{}, noSuchUser(name)
	}
	return attachOwner{quotaName: "PoliciesPerUser", name: u.UserName, attached: &u.AttachedManagedPolicies}, nil
}

func (s *Server) attachRolePolicy(p queryParams) (any, *apiError) { return s.attach(p, s.roleAttach) }
func (s *Server) attachUserPolicy(p queryParams) (any, *apiError) { return s.attach(p, s.userAttach) }
func (s *Server) detachRolePolicy(p queryParams) (any, *apiError) { return s.detach(p, s.roleAttach) }
func (s *Server) detachUserPolicy(p queryParams) (any, *apiError) { return s.detach(p, s.userAttach) }

// attach attaches a managed policy; attaching one that is already attached
// succeeds and changes nothing, as in IAM.
func (s *Server) attach(p queryParams, owner func(queryParams) (attachOwner, *apiError)) (any, *apiError) {
	o, aerr := owner(p)
	if aerr != nil {
		return nil, aerr
	}
	pol, aerr := s.policyParam(p)
	if aerr != nil {
		return nil, aerr
	}
	if !pol.IsAttachable {
		return nil, noSuchPolicy(pol.Arn)
	}
	if o.find(pol.Arn) >= 0 {
		return nil, nil
	}
	if len(*o.attached) >= attachedPoliciesQuota {
		return nil, limitExceeded("Cannot exceed quota for %s: %d", o.quotaName, attachedPoliciesQuota)
	}
	*o.attached = append(*o.attached, snapshot.AttachedPolicy{PolicyName: pol.PolicyName, PolicyArn: pol.Arn})
	pol.AttachmentCount++
	return nil, nil
}

func (s *Server) detach(p queryParams, owner func(queryParams) (attachOwner, *apiError)) (any, *apiError) {
	o, aerr := owner(p)
	if aerr != nil {
		return nil, aerr
	}
	arn := p.get("PolicyArn")
	if arn == "" {
		return nil, missingParam("policyArn")
	}
	i := o.find(arn)
	if i < 0 {
		return nil, noSuchEntity("Policy %s was not found.", arn)
	}
	*o.attached = slices.Delete(*o.attached, i, i+1)
	if pol := s.st.policyByARN[arn]; pol != nil && pol.AttachmentCount > 0 {
		pol.AttachmentCount--
	}
	return nil, nil
}

type listAttachedPoliciesResult struct {
	AttachedPolicies list[xmlAttachedPolicy] `xml:"AttachedPolicies"`
	IsTruncated      bool                    `xml:"IsTruncated"`
	Marker           string                  `xml:"Marker,omitempty"`
}

func (s *Server) listAttachedRolePolicies(p queryParams) (any, *apiError) {
	return s.listAttached(p, "ListAttachedRolePolicies", s.roleAttach)
}

func (s *Server) listAttachedUserPolicies(p queryParams) (any, *apiError) {
	return s.listAttached(p, "ListAttachedUserPolicies", s.userAttach)
}

// listAttached filters on the policies' path with PathPrefix.
func (s *Server) listAttached(p queryParams, op string, owner func(queryParams) (attachOwner, *apiError)) (any, *apiError) {
	o, aerr := owner(p)
	if aerr != nil {
		return nil, aerr
	}
	prefix, aerr := pathPrefix(p)
	if aerr != nil {
		return nil, aerr
	}
	var found []snapshot.AttachedPolicy
	for _, a := range *o.attached {
		path := "/"
		if pol := s.st.policyByARN[a.PolicyArn]; pol != nil {
			path = pathOf(pol.Path)
		}
		if strings.HasPrefix(path, prefix) {
			found = append(found, a)
		}
	}
	pg, aerr := s.iamPage(p, len(found), op+"|"+fold(o.name)+"|"+prefix)
	if aerr != nil {
		return nil, aerr
	}
	return listAttachedPoliciesResult{
		AttachedPolicies: xmlAttached(found[pg.Start:pg.End]), IsTruncated: pg.Next != "", Marker: pg.Next,
	}, nil
}
