package awsapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/iamprune/iamprune"
)

// Accounts hands out the AWS configuration for each account of an
// organisation: the home account (the delegated administrator whose
// credentials iamprune runs with) uses them as they are; a member account
// gets credentials of the role iamprune assumes there
// (arn:PARTITION:iam::ACCOUNT:role/RoleName). Each role is assumed once per
// Accounts value, however many goroutines ask, and the outcome is kept:
// a member whose role cannot be assumed is not asked again in the run.
type Accounts struct {
	base      aws.Config
	home      string
	partition string
	ca        iamprune.CrossAccount
	sts       *sts.Client

	mu      sync.Mutex
	entries map[string]*assumed
}

// assumed is the outcome of assuming one account's role; done is closed
// once cfg and err are set.
type assumed struct {
	done chan struct{}
	cfg  aws.Config
	err  error
}

// AssumeError reports that the role in a member account could not be
// assumed. Role is the role's ARN.
type AssumeError struct {
	Account string
	Role    string
	Err     error
}

func (e *AssumeError) Error() string {
	// STS's own code and message say why; the SDK's wrapping (operation,
	// status, request id) only repeats itself on every skipped finding.
	var api smithy.APIError
	if errors.As(e.Err, &api) {
		return fmt.Sprintf("cannot assume role %s in account %s: %s: %s", e.Role, e.Account, api.ErrorCode(), api.ErrorMessage())
	}
	return fmt.Sprintf("cannot assume role %s in account %s: %v", e.Role, e.Account, e.Err)
}

func (e *AssumeError) Unwrap() error { return e.Err }

// NewAccounts returns the accounts reached from base. home is the home
// caller's ARN (sts:GetCallerIdentity), which gives the home account and
// the partition of the member role ARNs, or a bare account id (partition
// "aws"). An empty ca.SessionName means iamprune.DefaultSessionName.
func NewAccounts(base aws.Config, home string, ca iamprune.CrossAccount) *Accounts {
	a := &Accounts{base: base.Copy(), home: home, partition: "aws", ca: ca, entries: map[string]*assumed{}}
	if p, ok := iamprune.ParseARN(home); ok {
		a.home, a.partition = p.Account, p.Partition
	}
	if a.ca.SessionName == "" {
		a.ca.SessionName = iamprune.DefaultSessionName
	}
	a.sts = sts.NewFromConfig(a.base)
	return a
}

// Home returns the home account id.
func (a *Accounts) Home() string { return a.home }

// Partition returns the partition of the home account.
func (a *Accounts) Partition() string { return a.partition }

// CrossAccount returns the cross-account settings, with the session name
// defaulted.
func (a *Accounts) CrossAccount() iamprune.CrossAccount { return a.ca }

// RoleARN returns the ARN of the role assumed in account, or "" when
// account is the home account or no role is configured.
func (a *Accounts) RoleARN(account string) string {
	if a.direct(account) {
		return ""
	}
	return "arn:" + a.partition + ":iam::" + account + ":role/" + a.ca.RoleName
}

// direct reports whether account is reached with the base credentials.
func (a *Accounts) direct(account string) bool {
	return account == "" || account == a.home || a.ca.RoleName == ""
}

// Config returns the configuration for account: a copy of the base for the
// home account (and for every account when no role is configured), else a
// copy whose credentials are those of the assumed role. The role is
// assumed right here, so that a failure is an *AssumeError naming the
// account and the role rather than an error of some later call; the
// credentials refresh themselves when they expire.
func (a *Accounts) Config(ctx context.Context, account string) (aws.Config, error) {
	if a.direct(account) {
		return a.base.Copy(), nil
	}
	for {
		a.mu.Lock()
		e := a.entries[account]
		if e == nil {
			e = &assumed{done: make(chan struct{})}
			a.entries[account] = e
			a.mu.Unlock()
			e.cfg, e.err = a.assume(ctx, account)
			if e.err != nil && ctx.Err() != nil {
				// Cancelled, not refused: a later call may try again.
				a.mu.Lock()
				delete(a.entries, account)
				a.mu.Unlock()
			}
			close(e.done)
		} else {
			a.mu.Unlock()
			select {
			case <-e.done:
			case <-ctx.Done():
				return aws.Config{}, ctx.Err()
			}
			if e.err != nil && (errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)) && ctx.Err() == nil {
				continue // the caller that assumed was cancelled, not refused: try again
			}
		}
		if e.err != nil {
			return aws.Config{}, e.err
		}
		return e.cfg.Copy(), nil
	}
}

func (a *Accounts) assume(ctx context.Context, account string) (aws.Config, error) {
	role := a.RoleARN(account)
	if !iamprune.IsAccountID(account) {
		return aws.Config{}, &AssumeError{Account: account, Role: role, Err: errors.New("not a 12-digit account id")}
	}
	provider := stscreds.NewAssumeRoleProvider(a.sts, role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = a.ca.SessionName
		if a.ca.ExternalID != "" {
			o.ExternalID = aws.String(a.ca.ExternalID)
		}
	})
	creds := aws.NewCredentialsCache(provider)
	if _, err := creds.Retrieve(ctx); err != nil {
		return aws.Config{}, &AssumeError{Account: account, Role: role, Err: err}
	}
	cfg := a.base.Copy()
	cfg.Credentials = creds
	ForAccount(&cfg, account)
	return cfg, nil
}

// OrgFacts is the FactSource of an organisation analyzer: its findings name
// principals in many accounts, and each account's IAM is read through that
// account's configuration (Accounts) by its own *Facts, kept for the run,
// so that every per-account guarantee holds (no call made twice, keys and
// AWS-managed policies read only where findings need them).
//
// A member account that cannot be reached (its role cannot be assumed, or
// its IAM cannot be read) never fails the run: it is listed in
// Facts.Unreachable with the reason, and its principals are absent. Only a
// failure in the home account is an error.
type OrgFacts struct {
	accounts *Accounts
	opts     []Option
	// accountWorkers bounds the accounts read at once
	// (WithConcurrentAccounts); each account's Facts bounds its own calls
	// (WithWorkers).
	accountWorkers int

	mu    sync.Mutex
	facts map[string]*Facts
}

var _ iamprune.FactSource = (*OrgFacts)(nil)

// NewOrgFacts returns the organisation's FactSource. opts configure each
// account's Facts; WithConcurrentAccounts bounds how many accounts are
// read at once.
func NewOrgFacts(a *Accounts, opts ...Option) *OrgFacts {
	return &OrgFacts{accounts: a, opts: opts, accountWorkers: newOptions(opts).accounts, facts: map[string]*Facts{}}
}

// Accounts returns the accounts the facts are read from, for executors
// that act with the same credentials.
func (o *OrgFacts) Accounts() *Accounts { return o.accounts }

// For returns the Facts of account ("" is the home account), built on the
// first call on Accounts.Config(account); an *AssumeError when its role
// cannot be assumed.
func (o *OrgFacts) For(ctx context.Context, account string) (*Facts, error) {
	if account == "" {
		account = o.accounts.home
	}
	o.mu.Lock()
	f := o.facts[account]
	o.mu.Unlock()
	if f != nil {
		return f, nil
	}
	cfg, err := o.accounts.Config(ctx, account)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if f := o.facts[account]; f != nil {
		return f, nil // another goroutine was first
	}
	f = NewFacts(cfg, o.opts...)
	o.facts[account] = f
	return f, nil
}

// Facts reads the home account (always: it gives the caller) and every
// member account a finding names (Finding.Account, the resource owner; ""
// is the home account), and merges them. Account, Partition and Caller are
// the home's. Principals, PolicyVersions and customer-managed policies
// carry their account in their ARNs and merge without clashes.
// AWS-managed policies have one ARN in every account: one entry is kept,
// with a document from whichever account read it and the largest
// AttachmentCount of any account. AWS-managed policies are never changed
// in place (only copied and detached), so the count only informs, and the
// largest never makes a shared policy look like one principal's.
func (o *OrgFacts) Facts(ctx context.Context, findings []iamprune.Finding) (*iamprune.Facts, error) {
	home := o.accounts.home
	byAccount := groupByAccount(home, findings)
	hf, err := o.For(ctx, home)
	if err != nil {
		return nil, err
	}
	out, err := hf.Facts(ctx, byAccount[home])
	if err != nil {
		return nil, fmt.Errorf("home account %s: %w", home, err)
	}

	members := slices.Sorted(maps.Keys(byAccount))
	members = slices.DeleteFunc(members, func(a string) bool { return a == home })
	got := make([]*iamprune.Facts, len(members))
	reasons := make([]string, len(members))
	err = forEach(ctx, len(members), o.accountWorkers, func(ctx context.Context, i int) error {
		got[i], reasons[i] = o.member(ctx, members[i], byAccount[members[i]])
		return ctx.Err() // cancelled: the run fails, no account is blamed
	})
	if err != nil {
		return nil, err
	}
	for i, acct := range members {
		if got[i] == nil {
			if out.Unreachable == nil {
				out.Unreachable = map[string]string{}
			}
			out.Unreachable[acct] = reasons[i]
			continue
		}
		merge(out, got[i])
	}
	return out, nil
}

// member reads one member account's facts, or says why it cannot.
func (o *OrgFacts) member(ctx context.Context, account string, findings []iamprune.Finding) (*iamprune.Facts, string) {
	if o.accounts.ca.RoleName == "" {
		return nil, fmt.Sprintf("account %s is not the home account %s and no cross-account role is configured (accounts.role_name)", account, o.accounts.home)
	}
	f, err := o.For(ctx, account)
	if err != nil {
		return nil, err.Error()
	}
	facts, err := f.Facts(ctx, findings)
	if err != nil {
		return nil, fmt.Sprintf("cannot read IAM of account %s through role %s: %v", account, o.accounts.RoleARN(account), err)
	}
	if facts.Account != account {
		// A role that leads elsewhere must not make another account's
		// principals look like this one's.
		return nil, fmt.Sprintf("role %s acts in account %s, not %s", o.accounts.RoleARN(account), facts.Account, account)
	}
	return facts, ""
}

func merge(dst, src *iamprune.Facts) {
	if dst.Principals == nil {
		dst.Principals = map[string]*iamprune.Principal{}
	}
	maps.Copy(dst.Principals, src.Principals)
	if len(src.PolicyVersions) > 0 {
		if dst.PolicyVersions == nil {
			dst.PolicyVersions = map[string]string{}
		}
		maps.Copy(dst.PolicyVersions, src.PolicyVersions)
	}
	for arn, mp := range src.ManagedPolicies {
		if dst.ManagedPolicies == nil {
			dst.ManagedPolicies = map[string]*iamprune.ManagedPolicy{}
		}
		have := dst.ManagedPolicies[arn]
		if have == nil {
			dst.ManagedPolicies[arn] = mp
			continue
		}
		// Only AWS-managed ARNs recur across accounts.
		if have.Document == nil && mp.Document != nil {
			mp.AttachmentCount = max(mp.AttachmentCount, have.AttachmentCount)
			dst.ManagedPolicies[arn] = mp
			continue
		}
		have.AttachmentCount = max(have.AttachmentCount, mp.AttachmentCount)
	}
}

// Callers returns the identities the run acts as, sorted: the home caller
// and the assumed-role session of every member account read so far. All
// of them must be protected from remediation.
func (o *OrgFacts) Callers() []string {
	o.mu.Lock()
	fs := slices.Collect(maps.Values(o.facts))
	o.mu.Unlock()
	var out []string
	for _, f := range fs {
		if c := f.knownCaller(); c != "" {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// UseHome makes f the home account's Facts, so that what a run already
// read there with its own Facts is not read again.
func (o *OrgFacts) UseHome(f *Facts) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.facts[o.accounts.home] = f
}

// Fallbacks sums the Fallbacks of every account read so far.
func (o *OrgFacts) Fallbacks() map[string]int {
	o.mu.Lock()
	fs := slices.Collect(maps.Values(o.facts))
	o.mu.Unlock()
	var out map[string]int
	for _, f := range fs {
		for reason, n := range f.Fallbacks() {
			if out == nil {
				out = map[string]int{}
			}
			out[reason] += n
		}
	}
	return out
}

// groupByAccount groups findings by their account, those that name none
// under home, which is always a key.
func groupByAccount(home string, findings []iamprune.Finding) map[string][]iamprune.Finding {
	out := map[string][]iamprune.Finding{home: nil}
	for _, f := range findings {
		acct := f.Account
		if acct == "" {
			acct = home
		}
		out[acct] = append(out[acct], f)
	}
	return out
}
