// Package iamprune holds the domain model of iamprune: unused-access
// findings, the facts about the principals they name, the configuration and
// exceptions that shape a decision, and the plan that results. Adapters
// (snapshot, awsapi, emulator, ...) translate the outside world into these
// types; the decide package turns them into a Plan without any I/O.
//
// It imports no other package of the module, so that every package may
// import it (docs/architecture.md).
package iamprune

import (
	"context"
	"time"
)

// FindingType is an IAM Access Analyzer unused-access finding type.
type FindingType string

// The four unused-access finding types. Any other type is skipped with a
// warning by every finding source.
const (
	UnusedIAMRole          FindingType = "UnusedIAMRole"
	UnusedIAMUserAccessKey FindingType = "UnusedIAMUserAccessKey"
	UnusedIAMUserPassword  FindingType = "UnusedIAMUserPassword"
	UnusedPermission       FindingType = "UnusedPermission"
)

// FindingTypes lists the supported finding types in a stable order.
var FindingTypes = []FindingType{UnusedIAMUserAccessKey, UnusedIAMUserPassword, UnusedIAMRole, UnusedPermission}

// Valid reports whether t is one of the four unused-access finding types.
func (t FindingType) Valid() bool {
	switch t {
	case UnusedIAMRole, UnusedIAMUserAccessKey, UnusedIAMUserPassword, UnusedPermission:
		return true
	}
	return false
}

// FindingStatus is the Access Analyzer finding status.
type FindingStatus string

const (
	StatusActive   FindingStatus = "ACTIVE"
	StatusArchived FindingStatus = "ARCHIVED"
	StatusResolved FindingStatus = "RESOLVED"
)

// Finding is one unused-access finding, normalised from GetFindingV2 with
// every page of findingDetails merged.
type Finding struct {
	ID          string
	AnalyzerARN string
	Type        FindingType
	Status      FindingStatus
	// Resource is the principal ARN the finding is about.
	Resource     string
	ResourceType string // AWS::IAM::User or AWS::IAM::Role
	Account      string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	AnalyzedAt   time.Time
	Error        string

	// LastAccessed is set for UnusedIAMRole (role last assumed) and
	// UnusedIAMUserPassword (password last used); nil means never used.
	LastAccessed *time.Time
	// AccessKeys holds one entry per key of an UnusedIAMUserAccessKey finding.
	AccessKeys []KeyUsage
	// Services holds one entry per service of an UnusedPermission finding.
	Services []ServiceUsage
}

// KeyUsage is the usage of one access key named by a finding.
type KeyUsage struct {
	AccessKeyID  string
	LastAccessed *time.Time // nil: never used
}

// ServiceUsage is the usage of one service namespace named by an
// UnusedPermission finding, with action-level detail where AWS tracks it.
type ServiceUsage struct {
	Namespace    string
	LastAccessed *time.Time // nil: never used
	Actions      []ActionUsage
}

// ActionUsage is the usage of one action within a service.
type ActionUsage struct {
	Action       string
	LastAccessed *time.Time // nil: never used
}

// Warning is a non-fatal problem met while reading input: an unknown finding
// type, an unknown union member, a finding that could not be used. The item
// is skipped and the warning travels with the plan.
type Warning struct {
	Source  string `json:"source"`
	Message string `json:"message"`
}

func (w Warning) String() string { return w.Source + ": " + w.Message }

// FindingSource yields the findings of one analyzer (API) or one snapshot.
type FindingSource interface {
	Findings(ctx context.Context) ([]Finding, []Warning, error)
}

// FactSource yields the facts about the principals named by findings.
type FactSource interface {
	Facts(ctx context.Context, findings []Finding) (*Facts, error)
}
