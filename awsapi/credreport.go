package awsapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/credreport"
)

// Why a per-user fact was read with its own call rather than taken from
// the credential report (Facts.Fallbacks counts them).
const (
	// FallbackNoReport: the report could not be had (no permission,
	// not ready in time, unreadable).
	FallbackNoReport = "no report"
	// FallbackStale: the report was generated before the finding's
	// updatedAt or lastAccessed, so it may miss a use the analyzer saw.
	FallbackStale = "stale report"
	// FallbackUserMissing: the user has no row in the report (created
	// since it was generated).
	FallbackUserMissing = "user not in report"
	// FallbackKeyUnmatched: no single access_key_N column has the key's
	// creation time (a key made since, or two made in the same second).
	FallbackKeyUnmatched = "key not matched"
	// FallbackNoValue: the report's cell holds no usable value.
	FallbackNoValue = "no value in report"
	// FallbackPasswordCreated: the password was never used, so its age
	// counts from its creation date, which only GetLoginProfile gives.
	FallbackPasswordCreated = "password creation date"
)

// Report polling: IAM usually finishes a report in seconds.
const (
	defaultReportInitial = 250 * time.Millisecond
	defaultReportMax     = 4 * time.Second
	defaultReportTimeout = 2 * time.Minute
)

// WithReportPolling sets the first wait between GenerateCredentialReport
// polls, its cap (each wait doubles the previous one) and the total wait,
// after which the facts are read item by item instead.
func WithReportPolling(initial, maxWait, timeout time.Duration) Option {
	return func(o *options) {
		o.reportInitial, o.reportMax, o.reportTimeout = max(initial, time.Millisecond), max(maxWait, initial), timeout
	}
}

// fallbacks counts the per-item reads the report could not spare.
type fallbacks struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *fallbacks) add(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[reason]++
}

func (f *fallbacks) get() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.n)
}

// Fallbacks returns how many keys and passwords were read with their own
// calls (GetAccessKeyLastUsed, GetLoginProfile, GetUser) by reason
// (FallbackStale, ...); nil when the report answered everything.
func (s *Facts) Fallbacks() map[string]int { return s.fb.get() }

// loadReport reads the account's credential report once per Facts:
// GenerateCredentialReport, polled with backoff until COMPLETE, then one
// GetCredentialReport. A report that cannot be had is logged and leaves
// every per-user fact to its own read; only cancellation is an error.
func (s *Facts) loadReport(ctx context.Context) error {
	if s.reportRead {
		return nil
	}
	rep, err := s.readReport(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.opts.logger.Warn("credential report unavailable: reading keys and passwords one by one", "account", s.account, "error", err)
	}
	s.reportRead, s.report = true, rep
	s.reportUsers = map[string]*iamprune.CredentialReportUser{}
	if rep != nil {
		for i := range rep.Users {
			s.reportUsers[rep.Users[i].ARN] = &rep.Users[i]
		}
	}
	return nil
}

func (s *Facts) readReport(ctx context.Context) (*iamprune.CredentialReport, error) {
	out, err := generateCredentialReport(ctx, s.iam, s.opts.reportInitial, s.opts.reportMax, s.opts.reportTimeout)
	if err != nil {
		return nil, err
	}
	rep, err := credreport.Parse(out.Content, "the credential report of account "+s.account)
	if err != nil {
		return nil, err
	}
	rep.GeneratedTime = utc(out.GeneratedTime)
	return rep, nil
}

// reportRow returns the user's row, or the reason the report cannot
// answer for it: it is missing, or older than what the findings about it
// say (need).
func (s *Facts) reportRow(arn string, need time.Time) (*iamprune.CredentialReportUser, string) {
	if s.report == nil {
		return nil, FallbackNoReport
	}
	if s.report.GeneratedTime.IsZero() || s.report.GeneratedTime.Before(need) {
		return nil, FallbackStale
	}
	row := s.reportUsers[arn]
	if row == nil {
		return nil, FallbackUserMissing
	}
	return row, ""
}

// keyUse returns keys[i]'s last use from the report row. The report names
// no key ids: its two columns hold the user's keys in creation order, each
// with its creation time (last_rotated; keys cannot be changed in place),
// so a key is the column whose time is its CreateDate to the second,
// provided no other key of the user shares that second.
func keyUse(row *iamprune.CredentialReportUser, keys []iamprune.AccessKey, i int) (*time.Time, string) {
	created := keys[i].CreateDate.Truncate(time.Second)
	for j := range keys {
		if j != i && keys[j].CreateDate.Truncate(time.Second).Equal(created) {
			return nil, FallbackKeyUnmatched
		}
	}
	slot := -1
	for j := range row.AccessKeys {
		if row.HasKey(j) && row.AccessKeys[j].LastRotated.At.Equal(created) {
			if slot >= 0 {
				return nil, FallbackKeyUnmatched
			}
			slot = j
		}
	}
	if slot < 0 {
		return nil, FallbackKeyUnmatched
	}
	last, known := row.KeyUse(slot)
	if !known {
		return nil, FallbackNoValue
	}
	return last, ""
}

// keysLastUsed fills in each key's last use: from the report where it can
// say, else with GetAccessKeyLastUsed, counted.
func (s *Facts) keysLastUsed(ctx context.Context, user *iamprune.Principal, keys []iamprune.AccessKey, need time.Time) error {
	row, reason := s.reportRow(user.ARN, need)
	for i := range keys {
		var last *time.Time
		why := reason
		if row != nil {
			last, why = keyUse(row, keys, i)
		}
		if why == "" {
			keys[i].LastUsed = last
			continue
		}
		s.fb.add(why)
		out, err := s.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: &keys[i].ID})
		if err != nil {
			return fmt.Errorf("iam: cannot get last use of access key %s of user %s: %w", keys[i].ID, user.Name, err)
		}
		if out.AccessKeyLastUsed != nil {
			keys[i].LastUsed = utcPtr(out.AccessKeyLastUsed.LastUsedDate)
		}
	}
	return nil
}

// profileFromReport returns the user's login profile from the report:
// nil when the user has none. ok is false, with the reason, when only
// GetLoginProfile (and GetUser) can say. A password never used needs its
// creation date (GetLoginProfile) but not its last use.
func (s *Facts) profileFromReport(user *iamprune.Principal, need time.Time) (lp *iamprune.LoginProfile, ok bool, reason string) {
	row, reason := s.reportRow(user.ARN, need)
	if row == nil {
		return nil, false, reason
	}
	has, known := row.HasPassword()
	switch {
	case !known:
		return nil, false, FallbackNoValue
	case !has:
		return nil, true, ""
	}
	last, known := row.PasswordUse()
	switch {
	case !known:
		return nil, false, FallbackNoValue
	case last == nil:
		return nil, false, FallbackPasswordCreated
	}
	// The creation date only ages a password never used: left unknown.
	return &iamprune.LoginProfile{PasswordLastUsed: last}, true, ""
}

// getProfile returns the user's login profile, or nil when the user has no
// console password: from the report where it can say, else read.
func (s *Facts) getProfile(ctx context.Context, user *iamprune.Principal, need time.Time) (*iamprune.LoginProfile, error) {
	lp, ok, reason := s.profileFromReport(user, need)
	if ok {
		return lp, nil
	}
	s.fb.add(reason)
	lp, err := s.readProfile(ctx, user.Name)
	if err != nil || lp == nil {
		return lp, err
	}
	if reason == FallbackPasswordCreated {
		return lp, nil // the report said: never used
	}
	// Only GetUser carries PasswordLastUsed.
	u, err := s.iam.GetUser(ctx, &iam.GetUserInput{UserName: &user.Name})
	if err != nil {
		return nil, fmt.Errorf("iam: cannot get user %s: %w", user.Name, err)
	}
	if u.User != nil {
		lp.PasswordLastUsed = utcPtr(u.User.PasswordLastUsed)
	}
	return lp, nil
}

// readProfile reads the user's login profile: nil when the user has no
// console password (NoSuchEntity).
func (s *Facts) readProfile(ctx context.Context, user string) (*iamprune.LoginProfile, error) {
	out, err := s.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: &user})
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
	return &iamprune.LoginProfile{
		CreateDate:            utc(out.LoginProfile.CreateDate),
		PasswordResetRequired: out.LoginProfile.PasswordResetRequired,
	}, nil
}

// needs returns, per user ARN, the latest time the findings about its keys
// (keys) and its password (passwords) speak of: a report generated
// before it may miss a use the analyzer saw.
func needs(findings []iamprune.Finding) (keys, passwords map[string]time.Time) {
	keys, passwords = map[string]time.Time{}, map[string]time.Time{}
	later := func(m map[string]time.Time, arn string, t *time.Time) {
		if t != nil && t.After(m[arn]) {
			m[arn] = *t
		}
	}
	for _, f := range findings {
		upd := f.UpdatedAt
		switch f.Type {
		case iamprune.UnusedIAMUserAccessKey:
			later(keys, f.Resource, &upd)
			for _, k := range f.AccessKeys {
				later(keys, f.Resource, k.LastAccessed)
			}
		case iamprune.UnusedIAMUserPassword:
			later(passwords, f.Resource, &upd)
			later(passwords, f.Resource, f.LastAccessed)
		}
	}
	return keys, passwords
}

// generateCredentialReport runs GenerateCredentialReport until IAM says
// COMPLETE, waiting initial, then twice as long up to most, in between,
// and then reads the report. A timeout above 0 gives up once the next
// wait would pass it; cancelling ctx always does.
func generateCredentialReport(ctx context.Context, api *iam.Client, initial, most, timeout time.Duration) (*iam.GetCredentialReportOutput, error) {
	deadline := time.Now().Add(timeout)
	wait := initial
	for {
		out, err := api.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if err != nil {
			return nil, fmt.Errorf("iam: cannot generate the credential report: %w", err)
		}
		if out.State == iamtypes.ReportStateTypeComplete {
			break
		}
		if timeout > 0 && !time.Now().Add(wait).Before(deadline) {
			return nil, fmt.Errorf("iam: credential report still %s after %s", out.State, timeout)
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(2*wait, most)
	}
	out, err := api.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	if err != nil {
		return nil, fmt.Errorf("iam: cannot get the credential report: %w", err)
	}
	return out, nil
}
