package awsapi

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultWorkers bounds the concurrent per-item calls (GetFindingV2,
// ListAccessKeys, GetLoginProfile): enough to hide latency, few enough to
// stay clear of throttling, which the adaptive retryer absorbs anyway.
const DefaultWorkers = 8

// DefaultConcurrentAccounts bounds the accounts of an organisation read at
// once (config aws.max_concurrent_accounts). Each has its own rate limiters
// (AWS limits accounts separately) and DefaultWorkers calls in flight.
const DefaultConcurrentAccounts = 8

// Option configures NewFindingSource and NewFacts.
type Option func(*options)

type options struct {
	logger   *slog.Logger
	workers  int
	accounts int
	// credential report polling (WithReportPolling)
	reportInitial, reportMax, reportTimeout time.Duration
}

// WithLogger sets the logger for informational notices (for example which
// analyzer "auto" chose).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithWorkers bounds the concurrent per-item calls; n < 1 means 1.
func WithWorkers(n int) Option { return func(o *options) { o.workers = max(n, 1) } }

// WithConcurrentAccounts bounds the accounts an OrgFacts reads at once;
// n < 1 means DefaultConcurrentAccounts.
func WithConcurrentAccounts(n int) Option {
	return func(o *options) {
		if n < 1 {
			n = DefaultConcurrentAccounts
		}
		o.accounts = n
	}
}

func newOptions(opts []Option) options {
	o := options{logger: slog.New(slog.DiscardHandler), workers: DefaultWorkers, accounts: DefaultConcurrentAccounts,
		reportInitial: defaultReportInitial, reportMax: defaultReportMax, reportTimeout: defaultReportTimeout}
	for _, fn := range opts {
		fn(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// forEach calls fn(ctx, i) for every i in [0, n) on at most workers
// goroutines. At the first error it stops handing out work, cancels the
// context of the calls in flight and returns that error.
func forEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	for range min(max(workers, 1), n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
