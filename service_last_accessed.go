package iamprune

import "time"

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
