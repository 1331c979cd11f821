// Package emulatortest serves the emulator to tests of other packages: on a
// loopback port for the test's lifetime, with an SDK config that reaches it.
// Only tests import it.
package emulatortest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

// Start serves snap with opts until the test ends and returns the server
// and a config for it: the snapshot's region (us-east-1 when it has none),
// static credentials, the server as BaseEndpoint, and the standard retryer
// without its rate limiter and with a 1ms backoff, so that injected
// throttling and faults cost no wall time. aws.ToString(cfg.BaseEndpoint)
// is the server's URL.
func Start(t testing.TB, snap *snapshot.Snapshot, opts emulator.Options) (*emulator.Server, aws.Config) {
	t.Helper()
	srv := emulator.New(snap, opts)
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	region := snap.Meta.Region
	if region == "" {
		region = "us-east-1"
	}
	return srv, aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.RateLimiter = ratelimit.None
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		},
	}
}
