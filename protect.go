package iamprune

import "strings"

// Built-in protections. They cannot be configured away: no filter can forget
// them.
const (
	ServiceLinkedRolePath = "/aws-service-role/"
	IdentityCenterPath    = "/aws-reserved/sso.amazonaws.com/"
	OrgAccessRoleName     = "OrganizationAccountAccessRole"
)

// Protection decides whether a principal must never be remediated.
type Protection struct {
	// Globs are the config's protected ARN patterns.
	Globs []string
	// Caller is the ARN iamprune runs as (sts:GetCallerIdentity).
	Caller string
}

// Check returns why the principal is protected, or "" when it is not. path
// may be empty, in which case the path carried in the ARN is used.
func (p Protection) Check(principalARN, path string) string {
	a, ok := ParseARN(principalARN)
	if path == "" && ok {
		path = a.Path
	}
	if ok && a.Kind == "role" {
		switch {
		case strings.HasPrefix(path, ServiceLinkedRolePath):
			return "service-linked role (path " + ServiceLinkedRolePath + ")"
		case strings.HasPrefix(path, "/aws-reserved/sso.amazonaws.com"):
			return "IAM Identity Center role (path " + IdentityCenterPath + ")"
		case a.Name == OrgAccessRoleName:
			return OrgAccessRoleName
		}
	}
	if p.isCaller(a, ok) {
		return "the identity iamprune runs as (" + p.Caller + ")"
	}
	for _, g := range p.Globs {
		if MatchGlob(g, principalARN) {
			return "matches protected pattern " + g
		}
	}
	return ""
}

func (p Protection) isCaller(a ParsedARN, ok bool) bool {
	if p.Caller == "" || !ok {
		return false
	}
	c, cok := ParseARN(p.Caller)
	if !cok || c.Account != a.Account {
		return false
	}
	switch {
	case c.Service == "sts" && c.Kind == "assumed-role":
		return a.Kind == "role" && a.Name == c.Name
	case c.Service == "iam":
		return a.Kind == c.Kind && a.Name == c.Name
	}
	return false
}
