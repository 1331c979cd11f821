package iamprune

import (
	"context"
	"time"
)

// ServiceLastAccessed is what IAM's service-last-accessed data
// (GetServiceLastAccessedDetails with ACTION_LEVEL granularity) says about
// one principal: when it last used each service its policies allow and,
// for the services where IAM tracks them, each action.
type ServiceLastAccessed struct {
	ARN string
	// JobCompletionDate is when IAM computed the data; zero when unknown.
	JobCompletionDate time.Time
	Services          []ServiceAccess
}

// ServiceAccess is one service a principal's policies allow.
type ServiceAccess struct {
	Name      string // "Amazon S3"
	Namespace string // "s3"
	// LastAuthenticated is nil when the service was never used within
	// IAM's tracking period.
	LastAuthenticated          *time.Time
	LastAuthenticatedEntity    string
	LastAuthenticatedRegion    string
	TotalAuthenticatedEntities int
	// ActionsTracked is false when IAM tracks no action of this service:
	// Actions is then empty, and says nothing about the actions' use.
	ActionsTracked bool
	Actions        []ActionAccess
}

// ActionAccess is one tracked action; LastAccessed is nil when it was
// never used within IAM's tracking period.
type ActionAccess struct {
	Name         string // "GetObject", without the namespace
	LastAccessed *time.Time
	Entity       string
	Region       string
}

// LastAccessedCacheTTL is how long a principal's service-last-accessed
// result is reused: IAM itself refreshes the data about every 4 hours, so a
// newer job would say nothing new.
const LastAccessedCacheTTL = 4 * time.Hour

// UsageCache is an optional part of a Store that keeps service-last-accessed
// results, so that frequent runs do not regenerate IAM's jobs.
type UsageCache interface {
	// CachedLastAccessed returns the result stored for the principal arn of
	// account and when it was stored; ok is false when there is none.
	CachedLastAccessed(ctx context.Context, account, arn string) (d *ServiceLastAccessed, at time.Time, ok bool, err error)
	// CacheLastAccessed stores d (about d.ARN) for account, as of at,
	// replacing what was stored.
	CacheLastAccessed(ctx context.Context, account string, d *ServiceLastAccessed, at time.Time) error
}
