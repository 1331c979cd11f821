package awsapi

import (
	"context"
	"errors"
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
// whose decisions use them, together with their last use
// (GetAccessKeyLastUsed, GetUser): it is fresher than the analyzer's last
// scan, so a credential used since then is not planned for remediation.
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
	if err := s.loadCaller(ctx); err != nil {
		return nil, err
	}
	if err := s.loadPrincipals(ctx); err != nil {
		return nil, err
	}
	keyUsers, profileUsers := s.usersToRead(findings)
	if err := s.loadKeys(ctx, keyUsers); err != nil {
		return nil, err
	}
	if err := s.loadProfiles(ctx, profileUsers); err != nil {
		return nil, err
	}
	if err := s.loadAWSManaged(ctx, s.awsManagedToRead(findings)); err != nil {
		return nil, err
	}
	return s.build(), nil
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
func (s *Facts) usersToRead(findings []iamprune.Finding) (keys, profiles []string) {
	for _, f := range findings {
		p := s.principals[f.Resource]
		if p == nil || p.Kind != iamprune.KindUser {
			continue
		}
		switch f.Type {
		case iamprune.UnusedIAMUserAccessKey:
			if _, ok := s.keys[p.Name]; !ok && !slices.Contains(keys, p.Name) {
				keys = append(keys, p.Name)
			}
		case iamprune.UnusedIAMUserPassword:
			if _, ok := s.profiles[p.Name]; !ok && !slices.Contains(profiles, p.Name) {
				profiles = append(profiles, p.Name)
			}
		}
	}
	return keys, profiles
}

func (s *Facts) loadKeys(ctx context.Context, users []string) error {
	got := make([][]iamprune.AccessKey, len(users))
	read := make([]bool, len(users))
	err := forEach(ctx, len(users), s.opts.workers, func(ctx context.Context, i int) error {
		keys, err := s.listKeys(ctx, users[i])
		got[i], read[i] = keys, err == nil
		return err
	})
	for i, u := range users {
		if read[i] { // keep what was read even when another user failed
			s.keys[u] = got[i]
		}
	}
	return err
}

func (s *Facts) listKeys(ctx context.Context, user string) ([]iamprune.AccessKey, error) {
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
	for i := range keys {
		out, err := s.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(keys[i].ID)})
		if err != nil {
			return nil, fmt.Errorf("iam: cannot get last use of access key %s of user %s: %w", keys[i].ID, user, err)
		}
		if out.AccessKeyLastUsed != nil {
			keys[i].LastUsed = utcPtr(out.AccessKeyLastUsed.LastUsedDate)
		}
	}
	return keys, nil
}

func (s *Facts) loadProfiles(ctx context.Context, users []string) error {
	got := make([]*iamprune.LoginProfile, len(users))
	read := make([]bool, len(users))
	err := forEach(ctx, len(users), s.opts.workers, func(ctx context.Context, i int) error {
		lp, err := s.getProfile(ctx, users[i])
		got[i], read[i] = lp, err == nil
		return err
	})
	for i, u := range users {
		if read[i] {
			s.profiles[u] = got[i]
		}
	}
	return err
}

// getProfile returns the user's login profile, or nil when the user has no
// console password (NoSuchEntity).
func (s *Facts) getProfile(ctx context.Context, user string) (*iamprune.LoginProfile, error) {
	out, err := s.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(user)})
	var none *iamtypes.NoSuchEntityException
	if errors.As(err, &none) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("iam: cannot get login profile of user %s: %w", user, err)
	}
	if out.LoginProfile == nil {
		return nil, nil
	}
	lp := &iamprune.LoginProfile{
		CreateDate:            utc(out.LoginProfile.CreateDate),
		PasswordResetRequired: out.LoginProfile.PasswordResetRequired,
	}
	// Only GetUser carries PasswordLastUsed.
	u, err := s.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(user)})
	if err != nil {
		return nil, fmt.Errorf("iam: cannot get user %s: %w", user, err)
	}
	if u.User != nil {
		lp.PasswordLastUsed = utcPtr(u.User.PasswordLastUsed)
	}
	return lp, nil
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
		f.Principals[arn] = &c
	}
	return f
}

func attachedARNs(ps []iamtypes.AttachedPolicy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, deref(p.PolicyArn))
	}
	return out
}
