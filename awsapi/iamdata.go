package awsapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
)

// IAMData reads what findings from IAM's own data need of the account:
// every user and role (one paginated GetAccountAuthorizationDetails, which
// carries RoleLastUsed), the credential report, and the access keys
// (ListAccessKeys) of only the users the report shows with a key, so that
// its key columns can be matched to key ids. The report is nil when it
// could not be had (logged): no password or key is then judged.
func (s *Facts) IAMData(ctx context.Context) (*iamprune.Facts, *iamprune.CredentialReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadCaller(ctx); err != nil {
		return nil, nil, err
	}
	if err := s.loadPrincipals(ctx); err != nil {
		return nil, nil, err
	}
	if err := s.loadReport(ctx); err != nil {
		return nil, nil, err
	}
	var users []string
	for _, p := range s.principals {
		if _, read := s.keys[p.Name]; p.Kind == iamprune.KindUser && !read && reportHasKey(s.reportUsers[p.ARN]) {
			users = append(users, p.Name)
		}
	}
	got := make([][]iamprune.AccessKey, len(users))
	err := forEach(ctx, len(users), s.opts.workers, func(ctx context.Context, i int) error {
		var err error
		got[i], err = s.listKeys(ctx, users[i])
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	for i, u := range users {
		s.keys[u] = got[i]
	}
	return s.build(), s.report, nil
}

func reportHasKey(row *iamprune.CredentialReportUser) bool {
	if row == nil {
		return false
	}
	for i := range row.AccessKeys {
		if row.HasKey(i) {
			return true
		}
	}
	return false
}

// LastAccessedJob is the outcome of one principal's service-last-accessed
// job: its output with every page merged (JobStatus COMPLETED or FAILED),
// or the error that kept it from running.
type LastAccessedJob struct {
	ARN    string
	Output *iam.GetServiceLastAccessedDetailsOutput
	Err    error
}

// LastAccessedJobs runs an ACTION_LEVEL service-last-accessed job for each
// ARN, at most Workers at a time, each polled with backoff and read to its
// last page. A job that cannot be run is that principal's Err and the
// others go on; only cancellation stops them all.
func (c *Capturer) LastAccessedJobs(ctx context.Context, arns []string) ([]LastAccessedJob, error) {
	out := make([]LastAccessedJob, len(arns))
	err := forEach(ctx, len(arns), c.opts.workers, func(ctx context.Context, i int) error {
		got, err := c.LastAccessed(ctx, arns[i])
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		out[i] = LastAccessedJob{ARN: arns[i], Output: got, Err: err}
		return nil
	})
	return out, err
}
