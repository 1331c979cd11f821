package awsapi

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/iamprune/iamprune"
)

// IAMUsage gives the last use of what an UnusedIAMRole or
// UnusedIAMUserPassword finding is about from IAM's own account-wide data
// (RoleLastUsed, the credential report), so that the finding needs no
// GetFindingV2: its details hold nothing else. ok is false when IAM cannot
// say for sure; the finding is then read in full.
type IAMUsage interface {
	LastUse(ctx context.Context, f iamprune.Finding) (last *time.Time, ok bool, err error)
}

var (
	_ IAMUsage = (*Facts)(nil)
	_ IAMUsage = (*OrgFacts)(nil)
)

// LastUse answers for roles with a recorded last use and for passwords
// whose use the credential report records, in a report not older than the
// finding: IAM's live record is then at least as recent as the analyzer's.
// A role or password IAM shows as never used is left to the analyzer,
// which may know an older use (before IAM's tracking window, or of a
// password since deleted and made again). The principal must exist: a
// finding about a deleted one is read in full.
func (s *Facts) LastUse(ctx context.Context, f iamprune.Finding) (*time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadCaller(ctx); err != nil {
		return nil, false, err
	}
	if err := s.loadPrincipals(ctx); err != nil {
		return nil, false, err
	}
	p := s.principals[f.Resource]
	switch {
	case p == nil:
		return nil, false, nil
	case f.Type == iamprune.UnusedIAMRole && p.Kind == iamprune.KindRole && p.RoleLastUsed != nil:
		t := *p.RoleLastUsed
		return &t, true, nil
	case f.Type != iamprune.UnusedIAMUserPassword || p.Kind != iamprune.KindUser:
		return nil, false, nil
	}
	if err := s.loadReport(ctx); err != nil {
		return nil, false, err
	}
	row, _ := s.reportRow(p.ARN, f.UpdatedAt)
	if row == nil {
		return nil, false, nil
	}
	// "Never used" is not enough: a password deleted and made again
	// reads as never used while the analyzer still knows the old use.
	last, known := row.PasswordUse()
	return last, known && last != nil, nil
}

// LastUse asks the Facts of the finding's account. A member account that
// cannot be reached answers nothing (fromIAM does not read its findings,
// and Facts reports the account); only the home account's errors are
// returned.
func (o *OrgFacts) LastUse(ctx context.Context, f iamprune.Finding) (*time.Time, bool, error) {
	acct := f.Account
	if acct == "" {
		acct = o.accounts.home
	}
	if acct != o.accounts.home && o.accounts.ca.RoleName == "" {
		return nil, false, nil
	}
	fa, err := o.For(ctx, acct)
	if err != nil {
		if acct == o.accounts.home || ctx.Err() != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	last, ok, err := fa.LastUse(ctx, f)
	if err != nil && acct != o.accounts.home && ctx.Err() == nil {
		return nil, false, nil
	}
	return last, ok, err
}

// unreached reports whether account is a member account whose role cannot
// be assumed (tried once per run, as Facts does): every finding of it is
// skipped as unreachable.
func (o *OrgFacts) unreached(ctx context.Context, account string) bool {
	if account == "" || account == o.accounts.home || o.accounts.ca.RoleName == "" {
		return false
	}
	_, err := o.For(ctx, account)
	return err != nil && ctx.Err() == nil
}

// summaryFinding is the finding a ListFindingsV2 summary gives, without
// details.
func summaryFinding(analyzerARN string, sm types.FindingSummaryV2) iamprune.Finding {
	f := iamprune.Finding{
		ID:           deref(sm.Id),
		AnalyzerARN:  analyzerARN,
		Type:         iamprune.FindingType(sm.FindingType),
		Status:       iamprune.FindingStatus(sm.Status),
		Resource:     deref(sm.Resource),
		ResourceType: string(sm.ResourceType),
		Account:      deref(sm.ResourceOwnerAccount),
		CreatedAt:    utc(sm.CreatedAt),
		UpdatedAt:    utc(sm.UpdatedAt),
		AnalyzedAt:   utc(sm.AnalyzedAt),
		Error:        deref(sm.Error),
	}
	if f.Account == "" {
		if a, ok := iamprune.ParseARN(f.Resource); ok {
			f.Account = a.Account
		}
	}
	return f
}

// fromIAM returns the finding of sm with its last use from IAM, when the
// source has an IAMUsage and it can say, or as its summary when its member
// account cannot be reached.
func (s *FindingSource) fromIAM(ctx context.Context, arn string, sm types.FindingSummaryV2) (iamprune.Finding, bool, error) {
	if s.usage == nil || sm.Id == nil || sm.Status != types.FindingStatusActive {
		return iamprune.Finding{}, false, nil
	}
	f := summaryFinding(arn, sm)
	if o, ok := s.usage.(*OrgFacts); ok && f.Type.Valid() && o.unreached(ctx, f.Account) {
		return f, true, nil // skipped whatever its details say: not read
	}
	if f.Type != iamprune.UnusedIAMRole && f.Type != iamprune.UnusedIAMUserPassword {
		return f, false, nil
	}
	last, ok, err := s.usage.LastUse(ctx, f)
	if err != nil || !ok {
		return f, false, err
	}
	f.LastAccessed = utcPtr(last)
	return f, true, nil
}

// fromIAMAll is fromIAM for every summary, in the order of sums (nil
// where IAM cannot say). Each account's IAM data is read once, on its
// first finding; with an OrgFacts, accounts are read in parallel, at most
// its WithConcurrentAccounts at a time.
func (s *FindingSource) fromIAMAll(ctx context.Context, arn string, sums []types.FindingSummaryV2) ([]*iamprune.Finding, error) {
	known := make([]*iamprune.Finding, len(sums))
	byAccount := map[string][]int{}
	var accounts []string
	for i, sm := range sums {
		a := summaryFinding(arn, sm).Account
		if byAccount[a] == nil {
			accounts = append(accounts, a)
		}
		byAccount[a] = append(byAccount[a], i)
	}
	workers := 1
	if o, ok := s.usage.(*OrgFacts); ok {
		workers = o.accountWorkers
	}
	run := ctx
	err := forEach(ctx, len(accounts), workers, func(ctx context.Context, j int) error {
		var keyUsers []string
		for _, i := range byAccount[accounts[j]] {
			f, ok, err := s.fromIAM(ctx, arn, sums[i])
			if err != nil {
				return err
			}
			if ok {
				known[i] = &f
			}
			if f.Type == iamprune.UnusedIAMUserAccessKey && f.Status == iamprune.StatusActive {
				keyUsers = append(keyUsers, f.Resource)
			}
		}
		s.readAhead(run, accounts[j], keyUsers) // the run's ctx: it outlives this loop
		return nil
	})
	return known, err
}

// UseIAM makes Findings take the last use of roles and passwords from u
// instead of calling GetFindingV2 for them. Set it before Findings.
func (s *FindingSource) UseIAM(u IAMUsage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage = u
}
