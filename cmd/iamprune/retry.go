package main

import (
	"context"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
)

// timing holds the waits of retries. Production uses the defaults; the
// package's tests shrink them (see retry_test.go) so that runs against a
// throttling emulator or a failing endpoint stay fast.
var timing = struct {
	// awsBaseDelay and awsMaxBackoff override the AWS backoff when set.
	awsBaseDelay, awsMaxBackoff time.Duration
	// awsRequestsPerSecond overrides the per-service rate when set.
	awsRequestsPerSecond float64
	// noticeSleep replaces the wait between notice retries when set.
	noticeSleep func(context.Context, time.Duration) error
}{}

// awsPolicy returns the process's one AWS retry policy, made on first use
// from the defaults and --max-retries; the config's aws block is laid over
// it by configureAWS once the config is read. Every AWS configuration the
// CLI loads uses it, so that all clients and workers share the per-service
// rate limiters.
func (m *Main) awsPolicy() *awsapi.Policy {
	m.policyOnce.Do(func() {
		m.policy = awsapi.NewPolicy(m.retryPolicy(iamprune.DefaultConfig().AWS))
	})
	return m.policy
}

// configureAWS applies a config's aws block (under --max-retries).
func (m *Main) configureAWS(c iamprune.AWS) {
	m.awsPolicy().Set(m.retryPolicy(c))
}

func (m *Main) retryPolicy(c iamprune.AWS) awsapi.RetryPolicy {
	p := awsapi.RetryPolicyOf(c)
	if m.maxRetriesSet {
		p.MaxRetries = m.maxRetries
	}
	if timing.awsBaseDelay > 0 {
		p.BaseDelay, p.MaxBackoff = timing.awsBaseDelay, timing.awsMaxBackoff
	}
	if timing.awsRequestsPerSecond > 0 && p.RequestsPerSecond > 0 {
		p.RequestsPerSecond = timing.awsRequestsPerSecond
	}
	return p
}

// awsOptions are the LoadConfig options of the CLI: profile, region, the
// logger and the shared policy.
func (m *Main) awsOptions() awsapi.Options {
	return awsapi.Options{Profile: m.profile, Region: m.region, Logger: m.log(), Policy: m.awsPolicy()}
}
