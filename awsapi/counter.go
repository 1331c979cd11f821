package awsapi

import (
	"context"
	"log/slog"
	"maps"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
)

// Counter counts the AWS API calls of one run by "Service.Operation" (for
// example "IAM.ListAccessKeys"). A call is one operation invocation however
// often the SDK retried it; each HTTP attempt is counted separately in
// Attempts. It is safe for concurrent use.
type Counter struct {
	// OnCall, if set, is called once per call as it starts, for progress
	// display. Set it before the first call. Invocations are serialised.
	OnCall func(service, op string)

	mu       sync.Mutex
	calls    map[string]int
	attempts map[string]int
	hookMu   sync.Mutex
	logger   *slog.Logger
}

// NewCounter returns an empty Counter (the zero value works too). Attach
// adds it to a config.
func NewCounter() *Counter {
	return &Counter{calls: map[string]int{}, attempts: map[string]int{}}
}

const (
	callCounterID    = "iamprune.CallCounter"
	attemptCounterID = "iamprune.AttemptCounter"
)

// Attach adds the counting middleware to cfg.APIOptions, so that every
// client made from cfg afterwards is counted.
func (c *Counter) Attach(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, c.addMiddleware)
}

func (c *Counter) addMiddleware(stack *middleware.Stack) error {
	if _, ok := stack.Initialize.Get(callCounterID); ok {
		return nil // attached twice: count once
	}
	// Initialize runs once per invocation; Finalize after "Retry" once per attempt.
	call := middleware.InitializeMiddlewareFunc(callCounterID, func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		c.record(ctx, true)
		return next.HandleInitialize(ctx, in)
	})
	attempt := middleware.FinalizeMiddlewareFunc(attemptCounterID, func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		c.record(ctx, false)
		return next.HandleFinalize(ctx, in)
	})
	if err := stack.Initialize.Add(call, middleware.After); err != nil {
		return err
	}
	if err := stack.Finalize.Insert(attempt, "Retry", middleware.After); err != nil {
		return stack.Finalize.Add(attempt, middleware.After)
	}
	return nil
}

func (c *Counter) record(ctx context.Context, isCall bool) {
	service, op := middleware.GetServiceID(ctx), middleware.GetOperationName(ctx)
	c.mu.Lock()
	if c.calls == nil {
		c.calls, c.attempts = map[string]int{}, map[string]int{}
	}
	if isCall {
		c.calls[service+"."+op]++
	} else {
		c.attempts[service+"."+op]++
	}
	c.mu.Unlock()
	if !isCall {
		return
	}
	if c.logger != nil {
		c.logger.Debug("aws call", "service", service, "operation", op)
	}
	if c.OnCall != nil {
		c.hookMu.Lock()
		c.OnCall(service, op)
		c.hookMu.Unlock()
	}
}

// Total returns the number of calls so far.
func (c *Counter) Total() int { return c.sum(c.calls) }

// Attempts returns the number of HTTP attempts so far, retries included.
func (c *Counter) Attempts() int { return c.sum(c.attempts) }

// ByOperation returns a copy of the call counts keyed by "Service.Operation".
func (c *Counter) ByOperation() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

// AttemptsByOperation returns a copy of the attempt counts.
func (c *Counter) AttemptsByOperation() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.attempts)
}

func (c *Counter) sum(m map[string]int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
