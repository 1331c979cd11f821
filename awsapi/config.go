// Package awsapi adapts aws-sdk-go-v2 to iamprune: it reads unused-access
// findings from IAM Access Analyzer and the facts about the principals they
// name from IAM and STS. It only translates; every decision is made by the
// decide package.
//
// It is an adapter: it imports the root, archive, policy and internal
// packages, never another adapter; app and cmd import it.
package awsapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/iamprune/iamprune"
)

// Options configure LoadConfig. The zero value uses the standard AWS
// credential chain, profile and region resolution.
type Options struct {
	// Profile selects a shared config profile (like AWS_PROFILE).
	Profile string
	// Region overrides AWS_REGION and the profile's region.
	Region string
	// Endpoint, when set, sends every service to this URL, even one with an
	// AWS_ENDPOINT_URL_<SERVICE> override (the SDK ranks in-code options
	// first): the demo relies on it to talk only to its own emulator.
	// Otherwise the standard AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>
	// overrides apply.
	Endpoint string
	// Credentials replaces the standard credential chain.
	Credentials aws.CredentialsProvider
	// Logger receives SDK retry notices and one line per call, at debug level.
	Logger *slog.Logger
	// Policy retries and paces every client made from the configuration
	// and its copies; share one per process. Nil gets a new Policy with
	// DefaultRetryPolicy.
	Policy *Policy
}

// LoadConfig loads the AWS configuration the adapters share, with the
// retry policy and rate limiters of o.Policy (so throttling slows the run
// down instead of failing it) and a Counter attached to every client made
// from it.
//
// There is no default region: Access Analyzer is regional and its findings
// live in the analyzer's region, so guessing one (say us-east-1) would
// silently read the wrong analyzer or none. A missing region is an
// EINVALID error that says how to set one.
func LoadConfig(ctx context.Context, o Options) (aws.Config, *Counter, error) {
	policy := o.Policy
	if policy == nil {
		policy = NewPolicy(DefaultRetryPolicy())
	}
	opts := []func(*config.LoadOptions) error{
		// Credential providers (SSO, assumed-role profiles) retry alike.
		config.WithRetryer(policy.retryer),
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(o.Endpoint))
	}
	if o.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(o.Credentials))
	}
	if o.Logger != nil {
		opts = append(opts, config.WithLogger(slogAdapter{o.Logger}), config.WithClientLogMode(aws.LogRetries))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var noProfile config.SharedConfigProfileNotExistError
		if errors.As(err, &noProfile) {
			return aws.Config{}, nil, iamprune.Errorf(iamprune.EINVALID, "AWS profile %q does not exist in the shared config or credentials files ('aws configure sso --profile NAME' creates one)", noProfile.Profile)
		}
		return aws.Config{}, nil, fmt.Errorf("cannot load the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, nil, iamprune.Errorf(iamprune.EINVALID,
			"no AWS region configured: set AWS_REGION or pass --region (Access Analyzer findings are regional: use the analyzer's region)")
	}
	policy.Attach(&cfg)
	c := NewCounter()
	c.logger = o.Logger
	c.Attach(&cfg)
	return cfg, c, nil
}

// slogAdapter routes SDK log lines to slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	a.l.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
}
