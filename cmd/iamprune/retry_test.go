package main

import (
	"context"
	"time"
)

// Retries keep their logic but not their waits in this package's tests:
// AWS backoff in microseconds and a high request rate, so that runs against
// a throttling emulator are fast, and notice retries that do not wait.
func init() {
	timing.awsBaseDelay, timing.awsMaxBackoff = 50*time.Microsecond, time.Millisecond
	timing.awsRequestsPerSecond = 5000
	timing.noticeSleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
}
