package awsapi

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Defaults of the retry policy every AWS client of a run shares. Twelve
// retries with backoff capped at 20 seconds ride out about two minutes of
// throttling; with full jitter, an operation throttled half the time fails
// with a probability of about 1 in 8,000.
const (
	DefaultMaxRetries        = 12
	DefaultBaseDelay         = 200 * time.Millisecond
	DefaultMaxBackoff        = 20 * time.Second
	DefaultRequestsPerSecond = 50
)

// RetryPolicy says how AWS calls are retried and paced.
type RetryPolicy struct {
	// MaxRetries is how often one operation is tried again after a
	// retryable failure (throttling, 5xx, a dropped connection); 0 never
	// retries.
	MaxRetries int
	// BaseDelay and MaxBackoff bound the exponential backoff: before retry
	// n the wait is uniformly random in [0, min(MaxBackoff, BaseDelay*2^n)].
	BaseDelay  time.Duration
	MaxBackoff time.Duration
	// RequestsPerSecond is the most requests a second sent to one service
	// (IAM, Access Analyzer, STS, ...) by the whole process; <= 0 is no
	// limit. The limit adapts: throttling lowers it, successes restore it.
	RequestsPerSecond float64
}

// DefaultRetryPolicy returns the defaults.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: DefaultMaxRetries, BaseDelay: DefaultBaseDelay, MaxBackoff: DefaultMaxBackoff, RequestsPerSecond: DefaultRequestsPerSecond}
}

// Backoff returns the wait before retry attempt (1, 2, ...): full jitter
// over an exponential ceiling.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	ceiling := p.MaxBackoff
	if attempt < 1 {
		attempt = 1
	}
	if attempt < 40 && p.BaseDelay<<attempt > 0 {
		ceiling = min(ceiling, p.BaseDelay<<attempt)
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// Policy is the one retry policy and the per-service rate limiters of a
// process. Every configuration made with LoadConfig (and every copy of it,
// such as the member-account configurations of Accounts) retries and paces
// through its Policy; Set changes it for clients already made too, so a
// policy read from the config file applies to clients made before it was
// read.
type Policy struct {
	mu       sync.Mutex
	p        RetryPolicy
	limiters map[string]*Limiter
}

// NewPolicy returns a Policy with p.
func NewPolicy(p RetryPolicy) *Policy {
	return &Policy{p: p, limiters: map[string]*Limiter{}}
}

// Set replaces the policy; the limiters keep their state.
func (p *Policy) Set(rp RetryPolicy) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p = rp
	for _, l := range p.limiters {
		l.setCeiling(rp.RequestsPerSecond)
	}
}

// Get returns the policy.
func (p *Policy) Get() RetryPolicy {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.p
}

// Limiter returns the limiter of a service (its SDK service id, such as
// "IAM") in the home account, made on first use.
func (p *Policy) Limiter(service string) *Limiter { return p.LimiterOf(service, "") }

// LimiterOf returns the limiter of a service in a member account ("" is
// the home account), made on first use: AWS limits each account
// separately, so each account is paced, and slowed by its throttling, on
// its own. Its key in Throttles is "SERVICE ACCOUNT".
func (p *Policy) LimiterOf(service, account string) *Limiter {
	key := service
	if account != "" {
		key += " " + account
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.limiters[key]
	if l == nil {
		l = NewLimiter(p.p.RequestsPerSecond)
		p.limiters[key] = l
	}
	return l
}

// accountKey carries the member account a client acts in (ForAccount).
type accountKey struct{}

// ForAccount makes the clients made from cfg afterwards pace their calls
// through the limiters of account instead of the home account's.
func ForAccount(cfg *aws.Config, account string) {
	cfg.APIOptions = append(slices.Clone(cfg.APIOptions), func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("iamprune.Account", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(context.WithValue(ctx, accountKey{}, account), in)
		}), middleware.Before)
	})
}

// Throttles returns the throttling answers seen, by service.
func (p *Policy) Throttles() map[string]int64 {
	p.mu.Lock()
	ls := make(map[string]*Limiter, len(p.limiters))
	for k, v := range p.limiters {
		ls[k] = v
	}
	p.mu.Unlock()
	out := map[string]int64{}
	for k, l := range ls {
		if n := l.Throttles(); n > 0 {
			out[k] = n
		}
	}
	return out
}

// Attach makes every client made from cfg afterwards retry and pace by p.
func (p *Policy) Attach(cfg *aws.Config) {
	cfg.Retryer = p.retryer
	cfg.APIOptions = append(cfg.APIOptions, p.addMiddleware)
}

const limiterID = "iamprune.RateLimiter"

// addMiddleware paces each attempt (retries included) through the
// service's limiter and tells it how the attempt went.
func (p *Policy) addMiddleware(stack *middleware.Stack) error {
	if _, ok := stack.Finalize.Get(limiterID); ok {
		return nil
	}
	m := middleware.FinalizeMiddlewareFunc(limiterID, func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		account, _ := ctx.Value(accountKey{}).(string)
		l := p.LimiterOf(awsmiddleware.GetServiceID(ctx), account)
		if err := l.Wait(ctx); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		sent := l.now()
		out, md, err := next.HandleFinalize(ctx, in)
		if IsThrottle(err) {
			l.ThrottledSent(sent)
		} else {
			l.Succeeded()
		}
		return out, md, err
	})
	if err := stack.Finalize.Insert(m, "Retry", middleware.After); err != nil {
		return stack.Finalize.Add(m, middleware.After)
	}
	return nil
}

// throttleCodes are the throttling error codes of the services iamprune
// calls beyond the SDK's list (SNS answers "Throttled", KMS-encrypted
// topics "KMSThrottling").
var throttleCodes = map[string]struct{}{
	"Throttled": {}, "KMSThrottling": {}, "KMSThrottlingException": {},
}

// IsThrottle reports whether err is a throttling answer.
func IsThrottle(err error) bool {
	if err == nil {
		return false
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if _, ok := throttleCodes[api.ErrorCode()]; ok {
			return true
		}
	}
	var resp *smithyhttp.ResponseError
	return errors.As(err, &resp) && resp.HTTPStatusCode() == 429
}

// retryer is the SDK standard retryer with the policy's attempts and
// backoff, throttling always retryable, and no retry quota: a storm of
// throttling must slow the run down, not fail it once a quota is spent.
func (p *Policy) retryer() aws.Retryer {
	std := retry.NewStandard(func(o *retry.StandardOptions) {
		o.RateLimiter = ratelimit.None
		o.MaxAttempts = 1 // unused: MaxAttempts below reads the policy
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if IsThrottle(err) {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		}))
	})
	return &policyRetryer{Standard: std, p: p}
}

type policyRetryer struct {
	*retry.Standard
	p *Policy
}

var _ aws.RetryerV2 = (*policyRetryer)(nil)

func (r *policyRetryer) MaxAttempts() int { return max(r.p.Get().MaxRetries, 0) + 1 }

func (r *policyRetryer) RetryDelay(attempt int, _ error) (time.Duration, error) {
	return r.p.Get().Backoff(attempt), nil
}
