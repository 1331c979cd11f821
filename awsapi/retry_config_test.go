package awsapi

import (
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func TestRetryPolicyOf(t *testing.T) {
	d := DefaultRetryPolicy()
	got := RetryPolicyOf(iamprune.AWS{MaxRetries: 3, MaxRequestsPerSecond: 2})
	if got.MaxRetries != 3 || got.RequestsPerSecond != 2 || got.BaseDelay != d.BaseDelay || got.MaxBackoff != d.MaxBackoff {
		t.Errorf("unset backoff: %+v", got)
	}
	got = RetryPolicyOf(iamprune.AWS{RetryBaseDelay: time.Second, MaxBackoff: time.Minute})
	if got.BaseDelay != time.Second || got.MaxBackoff != time.Minute || got.MaxRetries != 0 {
		t.Errorf("set backoff: %+v", got)
	}
}
