package awsapi

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iamprune/iamprune"
)

// Facts reads the facts about the principals that findings name, with as
// few calls as the findings allow, and caches them: within one Facts value
// no AWS call is ever made twice, however often Facts is called.
//
// Keys and login profiles are read only for users named by
// UnusedIAMUserAccessKey and UnusedIAMUserPassword findings, the only ones
// whose decisions use them, together with their last use: a credential
// used since the analyzer's last scan is not planned for remediation.
// The last uses come from the account's credential report, read once
// (two calls however many users), with ListAccessKeys for the key ids;
// where the report cannot answer (it is older than the finding, or a key
// cannot be matched to its column) the item is read on its own
// (GetAccessKeyLastUsed, GetLoginProfile, GetUser) and counted in
// Fallbacks.
//
// Inline policies, group names and customer-managed policies (with their
// default documents) come with the one authorization-details read.
// AWS-managed policies are not in it: they are shared by every account
// and large, so only those attached to principals of UnusedPermission
// findings are read, each once (GetPolicy, GetPolicyVersion).
type Facts struct {
	iam  *iam.Client
	sts  *sts.Client
	opts options

	mu         sync.Mutex
	caller     string
	account    string
	partition  string
	principals map[string]*iamprune.Principal // by ARN; nil until read
	keys       map[string][]iamprune.AccessKey
	profiles   map[string]*iamprune.LoginProfile // present = read; nil value = none
	versions   map[string]string                 // managed policy ARN -> default version
	// managed holds the customer-managed policies of the authorization
	// details and the AWS-managed policies read so far (present = read;
	// Document nil when it could not be had).
	managed map[string]*iamprune.ManagedPolicy

	reportRead  bool
	report      *iamprune.CredentialReport // nil: could not be had
	reportUsers map[string]*iamprune.CredentialReportUser
	fb          fallbacks
	ahead       prefetched // prefetch.go
}

var _ iamprune.FactSource = (*Facts)(nil)

// NewFacts returns a FactSource reading IAM and STS through cfg.
func NewFacts(cfg aws.Config, opts ...Option) *Facts {
	return &Facts{
		iam:      iam.NewFromConfig(cfg),
		sts:      sts.NewFromConfig(cfg),
		opts:     newOptions(opts),
		keys:     map[string][]iamprune.AccessKey{},
		profiles: map[string]*iamprune.LoginProfile{},
		managed:  map[string]*iamprune.ManagedPolicy{},
	}
}

// Facts returns the caller, every user and role of the account with their
// inline and managed policies, the access keys and login profiles of the
// users whose findings need them, and the AWS-managed policies of the
// principals whose UnusedPermission findings need them.
// Principals named by findings but absent from IAM are left out: they no
// longer exist. The result is a fresh copy the caller may change.
func (s *Facts) Facts(ctx context.Context, findings []iamprune.Finding) (*iamprune.Facts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, err := s.load(ctx, findings); err != nil {
		return nil, err
	}
	return s.build(), nil
}

// more is Facts for the findings of a stream, after Facts gave the rest:
// it reads what findings need that no earlier call read, and returns only
// that (the users whose keys or login profile it read, the AWS-managed
// policies it read with their versions), so that a chunk of findings does
// not copy the whole account again. Merged into what Facts gave (merge),
// it makes what Facts would give now.
func (s *Facts) more(ctx context.Context, findings []iamprune.Finding) (*iamprune.Facts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	users, policies, err := s.load(ctx, findings)
	if err != nil {
		return nil, err
	}
	out := &iamprune.Facts{Account: s.account, Partition: s.partition, Caller: s.caller, Principals: map[string]*iamprune.Principal{}}
	for _, u := range users {
		out.Principals[u.ARN] = s.copyPrincipal(u)
	}
	for _, arn := range policies {
		mp := s.managed[arn]
		if mp == nil {
			continue
		}
		if out.ManagedPolicies == nil {
			out.ManagedPolicies = map[string]*iamprune.ManagedPolicy{}
		}
		out.ManagedPolicies[arn] = copyPolicy(mp)
		if v, ok := s.versions[arn]; ok {
			if out.PolicyVersions == nil {
				out.PolicyVersions = map[string]string{}
			}
			out.PolicyVersions[arn] = v
		}
	}
	return out, nil
}

// load reads what findings need and no earlier call read, and returns the
// users whose keys or login profile it read and the AWS-managed policies
// it read.
func (s *Facts) load(ctx context.Context, findings []iamprune.Finding) (users []*iamprune.Principal, policies []string, err error) {
	if err := s.loadCaller(ctx); err != nil {
		return nil, nil, err
	}
	if err := s.loadPrincipals(ctx); err != nil {
		return nil, nil, err
	}
	keyUsers, profileUsers := s.usersToRead(findings)
	if len(keyUsers)+len(profileUsers) > 0 {
		if err := s.loadReport(ctx); err != nil {
			return nil, nil, err
		}
	}
	keyNeed, profileNeed := needs(findings)
	if err := s.loadKeys(ctx, keyUsers, keyNeed); err != nil {
		return nil, nil, err
	}
	if err := s.loadProfiles(ctx, profileUsers, profileNeed); err != nil {
		return nil, nil, err
	}
	policies = s.awsManagedToRead(findings)
	if err := s.loadAWSManaged(ctx, policies); err != nil {
		return nil, nil, err
	}
	return append(keyUsers, profileUsers...), policies, nil
}

// Caller returns the ARN and account of the identity the credentials act
// as (sts:GetCallerIdentity, read once).
func (s *Facts) Caller(ctx context.Context) (arn, account string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadCaller(ctx); err != nil {
		return "", "", err
	}
	return s.caller, s.account, nil
}

// identity returns facts that only name the caller, its account and
// partition (read once).
func (s *Facts) identity(ctx context.Context) (*iamprune.Facts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadCaller(ctx); err != nil {
		return nil, err
	}
	return &iamprune.Facts{Account: s.account, Partition: s.partition, Caller: s.caller}, nil
}

// knownCaller returns the caller if it was read, without reading it.
func (s *Facts) knownCaller() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caller
}

func (s *Facts) loadCaller(ctx context.Context) error {
	if s.caller != "" {
		return nil
	}
	out, err := s.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("sts: cannot get caller identity: %w", err)
	}
	parsed, ok := iamprune.ParseARN(deref(out.Arn))
	if !ok {
		return fmt.Errorf("sts: caller identity has no valid ARN: %q", deref(out.Arn))
	}
	s.caller, s.partition, s.account = *out.Arn, parsed.Partition, deref(out.Account)
	if s.account == "" {
		s.account = parsed.Account
	}
	return nil
}

// loadPrincipals reads every user and role, with their inline policies,
// and every customer-managed policy with its versions, in one paginated
// GetAccountAuthorizationDetails: far fewer calls than a Get per principal.
// Groups are not needed (a user's carries its group names) and AWS-managed
// policies are read lazily, so both are filtered out server-side.
func (s *Facts) loadPrincipals(ctx context.Context) error {
	if s.principals != nil {
		return nil
	}
	principals := map[string]*iamprune.Principal{}
	managed := map[string]*iamprune.ManagedPolicy{}
	versions := map[string]string{}
	p := iam.NewGetAccountAuthorizationDetailsPaginator(s.iam, &iam.GetAccountAuthorizationDetailsInput{
		Filter: []iamtypes.EntityType{iamtypes.EntityTypeUser, iamtypes.EntityTypeRole, iamtypes.EntityTypeLocalManagedPolicy},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("iam: cannot get account authorization details: %w", err)
		}
		for _, u := range page.UserDetailList {
			pr := newPrincipal(iamprune.KindUser, u.Arn, u.UserName, u.Path, u.UserId, u.CreateDate, u.Tags)
			pr.AttachedPolicies = attachedARNs(u.AttachedManagedPolicies)
			pr.InlinePolicies = s.inlinePolicies(pr.ARN, u.UserPolicyList)
			if len(u.GroupList) > 0 {
				pr.Groups = slices.Clone(u.GroupList)
			}
			principals[pr.ARN] = pr
		}
		for _, pol := range page.Policies {
			mp := s.customerManaged(pol)
			managed[mp.ARN] = mp
			versions[mp.ARN] = mp.DefaultVersion
		}
		for _, r := range page.RoleDetailList {
			pr := newPrincipal(iamprune.KindRole, r.Arn, r.RoleName, r.Path, r.RoleId, r.CreateDate, r.Tags)
			if r.RoleLastUsed != nil {
				pr.RoleLastUsed = utcPtr(r.RoleLastUsed.LastUsedDate)
			}
			pr.AttachedPolicies = attachedARNs(r.AttachedManagedPolicies)
			pr.InlinePolicies = s.inlinePolicies(pr.ARN, r.RolePolicyList)
			principals[pr.ARN] = pr
		}
	}
	// Kept only once every page was read: a failed read is retried whole.
	s.principals = principals
	maps.Copy(s.managed, managed)
	if len(versions) > 0 {
		if s.versions == nil {
			s.versions = map[string]string{}
		}
		maps.Copy(s.versions, versions)
	}
	return nil
}

func newPrincipal(kind iamprune.PrincipalKind, arn, name, path, id *string, created *time.Time, tags []iamtypes.Tag) *iamprune.Principal {
	p := &iamprune.Principal{
		ARN:        deref(arn),
		Kind:       kind,
		Name:       deref(name),
		Path:       deref(path),
		ID:         deref(id),
		CreateDate: utc(created),
	}
	if parsed, ok := iamprune.ParseARN(p.ARN); ok {
		p.Account = parsed.Account
	}
	p.Tags = tagMap(tags)
	return p
}

// usersToRead returns, in finding order and without repeats, the existing
// users whose keys and login profiles are needed and not yet read.
func (s *Facts) usersToRead(findings []iamprune.Finding) (keys, profiles []*iamprune.Principal) {
	for _, f := range findings {
		p := s.principals[f.Resource]
		if p == nil || p.Kind != iamprune.KindUser {
			continue
		}
		switch f.Type {
		case iamprune.UnusedIAMUserAccessKey:
			if _, ok := s.keys[p.Name]; !ok && !slices.Contains(keys, p) {
				keys = append(keys, p)
			}
		case iamprune.UnusedIAMUserPassword:
			if _, ok := s.profiles[p.Name]; !ok && !slices.Contains(profiles, p) {
				profiles = append(profiles, p)
			}
		}
	}
	return keys, profiles
}

func (s *Facts) loadKeys(ctx context.Context, users []*iamprune.Principal, need map[string]time.Time) error {
	got := make([][]iamprune.AccessKey, len(users))
	read := make([]bool, len(users))
	err := forEach(ctx, len(users), s.opts.workers, func(ctx context.Context, i int) error {
		keys, err := s.listKeys(ctx, users[i].Name)
		if err == nil {
			err = s.keysLastUsed(ctx, users[i], keys, need[users[i].ARN])
		}
		got[i], read[i] = keys, err == nil
		return err
	})
	for i, u := range users {
		if read[i] { // keep what was read even when another user failed
			s.keys[u.Name] = got[i]
		}
	}
	return err
}

func (s *Facts) listKeysNow(ctx context.Context, user string) ([]iamprune.AccessKey, error) {
	var keys []iamprune.AccessKey
	p := iam.NewListAccessKeysPaginator(s.iam, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("iam: cannot list access keys of user %s: %w", user, err)
		}
		for _, k := range page.AccessKeyMetadata {
			keys = append(keys, iamprune.AccessKey{
				ID:         deref(k.AccessKeyId),
				Status:     string(k.Status),
				CreateDate: utc(k.CreateDate),
			})
		}
	}
	return keys, nil
}

func (s *Facts) loadProfiles(ctx context.Context, users []*iamprune.Principal, need map[string]time.Time) error {
	got := make([]*iamprune.LoginProfile, len(users))
	read := make([]bool, len(users))
	err := forEach(ctx, len(users), s.opts.workers, func(ctx context.Context, i int) error {
		lp, err := s.getProfile(ctx, users[i], need[users[i].ARN])
		got[i], read[i] = lp, err == nil
		return err
	})
	for i, u := range users {
		if read[i] {
			s.profiles[u.Name] = got[i]
		}
	}
	return err
}

// build copies the cache into a fresh Facts.
func (s *Facts) build() *iamprune.Facts {
	f := &iamprune.Facts{
		Account:         s.account,
		Partition:       s.partition,
		Caller:          s.caller,
		Principals:      make(map[string]*iamprune.Principal, len(s.principals)),
		PolicyVersions:  maps.Clone(s.versions),
		ManagedPolicies: s.managedPolicies(),
	}
	for arn, p := range s.principals {
		f.Principals[arn] = s.copyPrincipal(p)
	}
	return f
}

// copyPrincipal copies p, with the keys and login profile read of a user.
func (s *Facts) copyPrincipal(p *iamprune.Principal) *iamprune.Principal {
	c := *p
	c.Tags = maps.Clone(p.Tags)
	c.AttachedPolicies = slices.Clone(p.AttachedPolicies)
	c.InlinePolicies = copyInline(p.InlinePolicies)
	c.Groups = slices.Clone(p.Groups)
	if c.Kind == iamprune.KindUser {
		if keys, ok := s.keys[c.Name]; ok {
			c.AccessKeys, c.KeysKnown = slices.Clone(keys), true
		}
		if lp, ok := s.profiles[c.Name]; ok {
			c.LoginProfileKnown = true
			if lp != nil {
				cp := *lp
				c.LoginProfile = &cp
			}
		}
	}
	return &c
}

func attachedARNs(ps []iamtypes.AttachedPolicy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, deref(p.PolicyArn))
	}
	return out
}
