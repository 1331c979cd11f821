package emulator

import (
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/iamprune/iamprune/snapshot"
)

// testEnv is an emulator behind an httptest server with real SDK clients
// pointed at it.
type testEnv struct {
	srv  *Server
	snap *snapshot.Snapshot
	url  string
	iam  *iam.Client
	aa   *accessanalyzer.Client
	sts  *sts.Client
	s3   *s3.Client // path-style, as against any endpoint on a bare host:port
	sns  *sns.Client
}

func loadSnapshot(t *testing.T, name string) *snapshot.Snapshot {
	t.Helper()
	snap, err := snapshot.LoadDir(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("load snapshot %s: %v", name, err)
	}
	return snap
}

func newEnv(t *testing.T, name string, opts Options) *testEnv {
	t.Helper()
	return newEnvFrom(t, loadSnapshot(t, name), opts)
}

// newEnvFrom is newEnv for a snapshot already loaded.
func newEnvFrom(t *testing.T, snap *snapshot.Snapshot, opts Options) *testEnv {
	t.Helper()
	srv := New(snap, opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	cfg := sdkConfig(3)
	return &testEnv{
		srv: srv, snap: snap, url: ts.URL,
		iam: iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(ts.URL) }),
		aa:  accessanalyzer.NewFromConfig(cfg, func(o *accessanalyzer.Options) { o.BaseEndpoint = aws.String(ts.URL) }),
		sts: sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(ts.URL) }),
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(ts.URL)
			o.UsePathStyle = true
		}),
		sns: sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(ts.URL) }),
	}
}

// sdkConfig is a config as a user's would be, with static credentials and
// the SDK's standard retryer; only the backoff delay is shortened so that
// retries do not slow the tests down.
func sdkConfig(maxAttempts int) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.RateLimiter = ratelimit.None
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		},
	}
}

// apiError asserts err is an AWS API error with the code and HTTP status.
func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Errorf("error code = %q, want %q (%v)", ae.ErrorCode(), code, err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("no HTTP response in error %v", err)
	}
	if re.HTTPStatusCode() != status {
		t.Errorf("HTTP status = %d, want %d", re.HTTPStatusCode(), status)
	}
}

func ptrTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
