package iamprune

import (
	"strings"
	"time"
)

// PrincipalKind is the kind of IAM principal a finding can be about.
type PrincipalKind string

const (
	KindUser PrincipalKind = "user"
	KindRole PrincipalKind = "role"
)

// Principal holds what iamprune needs to know about a user or role to age its
// credentials, protect it and route notices to its owner.
type Principal struct {
	ARN        string
	Kind       PrincipalKind
	Name       string
	Path       string
	ID         string
	Account    string
	CreateDate time.Time
	Tags       map[string]string

	// AccessKeys and LoginProfile are only meaningful when KeysKnown and
	// LoginProfileKnown are set: sources read them only where needed.
	AccessKeys        []AccessKey
	KeysKnown         bool
	LoginProfile      *LoginProfile
	LoginProfileKnown bool

	RoleLastUsed *time.Time
	// AttachedPolicies are the ARNs of the managed policies attached
	// directly to the principal.
	AttachedPolicies []string
	// InlinePolicies are the principal's inline policies with their
	// documents; Groups the groups a user belongs to (their policies are
	// shared, so refinement never changes them).
	InlinePolicies []InlinePolicy
	Groups         []string
}

// AccessKey is one access key of a user.
type AccessKey struct {
	ID         string
	Status     string // Active or Inactive
	CreateDate time.Time
	LastUsed   *time.Time
}

// LoginProfile is a user's console password.
type LoginProfile struct {
	CreateDate            time.Time
	PasswordResetRequired bool
	PasswordLastUsed      *time.Time
}

// Key returns the access key with the given id, or nil.
func (p *Principal) Key(id string) *AccessKey {
	for i := range p.AccessKeys {
		if p.AccessKeys[i].ID == id {
			return &p.AccessKeys[i]
		}
	}
	return nil
}

// Facts is everything known about the account a plan is made for.
type Facts struct {
	Account   string
	Partition string
	// Caller is the ARN of the identity iamprune runs as, as returned by
	// sts:GetCallerIdentity. It is always protected.
	Caller string
	// Principals are keyed by ARN. A principal named by a finding but absent
	// here no longer exists.
	Principals map[string]*Principal
	// PolicyVersions maps managed policy ARNs to their default version id,
	// so that a saved plan records which policies its decisions saw.
	PolicyVersions map[string]string
	// ManagedPolicies are the managed policies attached to principals, by
	// ARN, with their default documents where they were read.
	ManagedPolicies map[string]*ManagedPolicy
	// Unreachable maps member accounts whose facts could not be read
	// (the role could not be assumed) to the reason. Their findings are
	// skipped with it; they are never taken for deleted principals.
	Unreachable map[string]string
}

// Principal returns the principal with the given ARN, or nil.
func (f *Facts) Principal(arn string) *Principal {
	if f == nil {
		return nil
	}
	return f.Principals[arn]
}

// ARN is any ARN split into its fields:
// arn:Partition:Service:Region:Account:Resource.
type ARN struct {
	Partition string
	Service   string
	Region    string // "" for global services such as IAM
	Account   string
	Resource  string // everything after the fifth colon, colons included
}

// SplitARN splits s at its first five colons. It reports false unless s
// starts with "arn:" and has all six fields; fields may be empty, so
// callers check the ones their kind of ARN requires. It is the one place
// ARNs are taken apart.
func SplitARN(s string) (ARN, bool) {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return ARN{}, false
	}
	var f [4]string
	for i := range f {
		if f[i], rest, ok = strings.Cut(rest, ":"); !ok {
			return ARN{}, false
		}
	}
	return ARN{Partition: f[0], Service: f[1], Region: f[2], Account: f[3], Resource: rest}, true
}

// ResourceType splits the resource at its first slash: "role" and
// "path/Name" for role/path/Name. It reports false without a slash.
func (a ARN) ResourceType() (typ, rest string, ok bool) {
	return strings.Cut(a.Resource, "/")
}

// ParsedARN is an IAM or STS principal ARN split into its parts.
type ParsedARN struct {
	Partition string
	Service   string // iam or sts
	Account   string
	Kind      string // user, role, assumed-role, root, ...
	Path      string // "/" when absent; IAM ARNs carry the path
	Name      string
}

// ParseARN splits an IAM principal ARN such as
// arn:aws:iam::111122223333:role/path/Name or an STS assumed-role ARN.
func ParseARN(arn string) (ParsedARN, bool) {
	a, ok := SplitARN(arn)
	if !ok || a.Partition == "" {
		return ParsedARN{}, false
	}
	p := ParsedARN{Partition: a.Partition, Service: a.Service, Account: a.Account, Path: "/"}
	kind, rest, ok := a.ResourceType()
	p.Kind = kind
	if !ok {
		return p, true
	}
	if p.Service == "sts" && p.Kind == "assumed-role" {
		// assumed-role/RoleName/SessionName: no path is carried.
		name, _, _ := strings.Cut(rest, "/")
		p.Name = name
		return p, name != ""
	}
	last := strings.LastIndexByte(rest, '/')
	if last >= 0 {
		p.Path = "/" + rest[:last+1]
		p.Name = rest[last+1:]
	} else {
		p.Name = rest
	}
	return p, p.Name != ""
}

// IsAccountID reports whether s is a 12-digit AWS account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
