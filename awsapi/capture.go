package awsapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Capturer reads one account whole, as AWS returns it, for a snapshot:
// unlike Facts it reads every user's keys and login profile, and returns
// the SDK's own shapes for the caller to write down.
type Capturer struct {
	iam  *iam.Client
	sts  *sts.Client
	cfg  aws.Config
	opts options
	// Poll is the first wait between polls of an asynchronous IAM job
	// (credential report, service last accessed); it doubles up to 8×.
	// The default, half a second, suits the seconds IAM usually takes.
	Poll time.Duration
}

// NewCapturer returns a Capturer reading through cfg.
func NewCapturer(cfg aws.Config, opts ...Option) *Capturer {
	return &Capturer{iam: iam.NewFromConfig(cfg), sts: sts.NewFromConfig(cfg), cfg: cfg, opts: newOptions(opts), Poll: 500 * time.Millisecond}
}

// Identity returns the caller's ARN and account.
func (c *Capturer) Identity(ctx context.Context) (arn, account string, err error) {
	out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", fmt.Errorf("sts: cannot get caller identity: %w", err)
	}
	return deref(out.Arn), deref(out.Account), nil
}

// Region returns the region the Capturer calls.
func (c *Capturer) Region() string { return c.cfg.Region }

// AuthDetails is GetAccountAuthorizationDetails with every page merged.
type AuthDetails struct {
	UserDetailList  []iamtypes.UserDetail
	GroupDetailList []iamtypes.GroupDetail
	RoleDetailList  []iamtypes.RoleDetail
	Policies        []iamtypes.ManagedPolicyDetail
}

// AuthDetails reads every page of the account's authorization details.
func (c *Capturer) AuthDetails(ctx context.Context) (*AuthDetails, error) {
	out := &AuthDetails{}
	p := iam.NewGetAccountAuthorizationDetailsPaginator(c.iam, &iam.GetAccountAuthorizationDetailsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("iam: cannot get account authorization details: %w", err)
		}
		out.UserDetailList = append(out.UserDetailList, page.UserDetailList...)
		out.GroupDetailList = append(out.GroupDetailList, page.GroupDetailList...)
		out.RoleDetailList = append(out.RoleDetailList, page.RoleDetailList...)
		out.Policies = append(out.Policies, page.Policies...)
	}
	return out, nil
}

// CapturedKey is one access key with its last use.
type CapturedKey struct {
	Key      iamtypes.AccessKeyMetadata
	LastUsed *iamtypes.AccessKeyLastUsed
}

// AccessKeys lists every key of users with its last use, user by user in
// the order given.
func (c *Capturer) AccessKeys(ctx context.Context, users []string) ([]CapturedKey, error) {
	got := make([][]CapturedKey, len(users))
	err := forEach(ctx, len(users), c.opts.workers, func(ctx context.Context, i int) error {
		var err error
		got[i], err = c.userKeys(ctx, users[i])
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []CapturedKey
	for _, ks := range got {
		out = append(out, ks...)
	}
	return out, nil
}

func (c *Capturer) userKeys(ctx context.Context, user string) ([]CapturedKey, error) {
	var out []CapturedKey
	p := iam.NewListAccessKeysPaginator(c.iam, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("iam: cannot list access keys of user %s: %w", user, err)
		}
		for _, k := range page.AccessKeyMetadata {
			out = append(out, CapturedKey{Key: k})
		}
	}
	for i := range out {
		id := deref(out[i].Key.AccessKeyId)
		lu, err := c.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("iam: cannot get last use of access key %s of user %s: %w", id, user, err)
		}
		out[i].LastUsed = lu.AccessKeyLastUsed
	}
	return out, nil
}

// CapturedProfile is one user's login profile with the password's last
// use, which only GetUser carries.
type CapturedProfile struct {
	Profile          iamtypes.LoginProfile
	PasswordLastUsed *time.Time
}

// LoginProfiles returns the login profiles of the users that have one, in
// the order given.
func (c *Capturer) LoginProfiles(ctx context.Context, users []string) ([]CapturedProfile, error) {
	got := make([]*CapturedProfile, len(users))
	err := forEach(ctx, len(users), c.opts.workers, func(ctx context.Context, i int) error {
		var err error
		got[i], err = c.loginProfile(ctx, users[i])
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []CapturedProfile
	for _, p := range got {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out, nil
}

func (c *Capturer) loginProfile(ctx context.Context, user string) (*CapturedProfile, error) {
	out, err := c.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(user)})
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
	p := &CapturedProfile{Profile: *out.LoginProfile}
	u, err := c.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(user)})
	if err != nil {
		return nil, fmt.Errorf("iam: cannot get user %s: %w", user, err)
	}
	if u.User != nil {
		p.PasswordLastUsed = u.User.PasswordLastUsed
	}
	return p, nil
}

// CredentialReport generates the credential report, polling with backoff
// until IAM has it, and returns its decoded CSV.
func (c *Capturer) CredentialReport(ctx context.Context) ([]byte, error) {
	out, err := generateCredentialReport(ctx, c.iam, c.Poll, 8*c.Poll, 0)
	if err != nil {
		return nil, err
	}
	return out.Content, nil
}

// poll calls done until it reports true, waiting Poll, then twice as long,
// up to eight times Poll, in between.
func (c *Capturer) poll(ctx context.Context, done func(context.Context) (bool, error)) error {
	wait := c.Poll
	for {
		ok, err := done(ctx)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, c.Poll*8)
	}
}

// LastAccessed runs an ACTION_LEVEL service-last-accessed job for arn, polls
// it to its end and returns its output with every page merged. A FAILED job
// is returned as it is, for the caller to record.
func (c *Capturer) LastAccessed(ctx context.Context, arn string) (*iam.GetServiceLastAccessedDetailsOutput, error) {
	job, err := c.iam.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{
		Arn: aws.String(arn), Granularity: iamtypes.AccessAdvisorUsageGranularityTypeActionLevel,
	})
	if err != nil {
		return nil, fmt.Errorf("iam: cannot generate service last accessed details of %s: %w", arn, err)
	}
	var merged *iam.GetServiceLastAccessedDetailsOutput
	err = c.poll(ctx, func(ctx context.Context) (bool, error) {
		merged, err = c.lastAccessedPages(ctx, arn, deref(job.JobId))
		return err != nil || merged.JobStatus != iamtypes.JobStatusTypeInProgress, err
	})
	return merged, err
}

func (c *Capturer) lastAccessedPages(ctx context.Context, arn, job string) (*iam.GetServiceLastAccessedDetailsOutput, error) {
	var merged *iam.GetServiceLastAccessedDetailsOutput
	in := &iam.GetServiceLastAccessedDetailsInput{JobId: aws.String(job)}
	for {
		page, err := c.iam.GetServiceLastAccessedDetails(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("iam: cannot get service last accessed details of %s: %w", arn, err)
		}
		if merged == nil {
			merged = page
		} else {
			merged.ServicesLastAccessed = append(merged.ServicesLastAccessed, page.ServicesLastAccessed...)
		}
		if page.JobStatus != iamtypes.JobStatusTypeCompleted || !page.IsTruncated || page.Marker == nil {
			merged.IsTruncated, merged.Marker = false, nil
			return merged, nil
		}
		in.Marker = page.Marker
	}
}

// Workers is the bound on concurrent per-item calls.
func (c *Capturer) Workers() int { return c.opts.workers }

// CapturedAnalyzer is an unused-access analyzer and its findings.
type CapturedAnalyzer struct {
	Analyzer aatypes.AnalyzerSummary
	Findings []*accessanalyzer.GetFindingV2Output
}

// CaptureAnalyzer finds the unused-access analyzer (account or
// organisation) the way plan does for analyzer ("auto" or an ARN), and
// reads its ACTIVE findings with every page of their details. It returns
// nil when analyzer is "auto" and the region has no active one.
func CaptureAnalyzer(ctx context.Context, cfg aws.Config, analyzer string, opts ...Option) (*CapturedAnalyzer, error) {
	s := NewFindingSource(cfg, analyzer, opts...)
	arn, err := s.AnalyzerARN(ctx)
	if err != nil {
		if analyzer != "" && analyzer != "auto" {
			return nil, err
		}
		if none, _ := s.noAnalyzer(ctx); none {
			return nil, nil
		}
		return nil, err
	}
	a, err := s.client.GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{AnalyzerName: aws.String(analyzerName(arn))})
	if err != nil {
		return nil, fmt.Errorf("accessanalyzer: cannot get analyzer %s: %w", arn, err)
	}
	// Every finding is read whole (GetFindingV2), even those planning
	// builds from IAM's data: a snapshot keeps what the analyzer says.
	sums, err := s.listSummaries(ctx, arn)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(sums))
	for i, sm := range sums {
		ids[i] = aws.ToString(sm.Id)
	}
	out := &CapturedAnalyzer{Findings: make([]*accessanalyzer.GetFindingV2Output, len(ids))}
	if a.Analyzer != nil {
		out.Analyzer = *a.Analyzer
	}
	err = forEach(ctx, len(ids), s.opts.workers, func(ctx context.Context, i int) error {
		f, err := s.getFinding(ctx, arn, ids[i])
		out.Findings[i] = f
		return err
	})
	return out, err
}

// noAnalyzer reports whether the region has no active unused-access
// analyzer at all.
func (s *FindingSource) noAnalyzer(ctx context.Context) (bool, error) {
	p := accessanalyzer.NewListAnalyzersPaginator(s.client, &accessanalyzer.ListAnalyzersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, err
		}
		for _, a := range page.Analyzers {
			if a.Status == aatypes.AnalyzerStatusActive &&
				(a.Type == aatypes.TypeAccountUnusedAccess || a.Type == aatypes.TypeOrganizationUnusedAccess) {
				return false, nil
			}
		}
	}
	return true, nil
}

// analyzerName is the last segment of an analyzer ARN.
func analyzerName(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}
