package awsapi

import "github.com/iamprune/iamprune"

// RetryPolicyOf is the retry policy a config's aws block asks for: its
// retries and rate, and its backoff bounds where set (else the defaults).
func RetryPolicyOf(c iamprune.AWS) RetryPolicy {
	p := DefaultRetryPolicy()
	p.MaxRetries, p.RequestsPerSecond = c.MaxRetries, c.MaxRequestsPerSecond
	if c.RetryBaseDelay > 0 {
		p.BaseDelay = c.RetryBaseDelay
	}
	if c.MaxBackoff > 0 {
		p.MaxBackoff = c.MaxBackoff
	}
	return p
}
