package iamprune

import (
	"encoding/json"
	"time"
)

// PolicyType says where a policy document lives.
type PolicyType string

const (
	// PolicyInline is an inline policy of the principal (Put/Get/DeleteRolePolicy
	// or …UserPolicy); PolicyChange.Policy is its name.
	PolicyInline PolicyType = "inline"
	// PolicyManaged is a customer-managed policy; Policy is its ARN.
	PolicyManaged PolicyType = "managed"
	// PolicyAWSManaged is an AWS-managed policy (arn:PARTITION:iam::aws:policy/…),
	// which cannot be changed, only detached.
	PolicyAWSManaged PolicyType = "aws-managed"
)

// RewriteMethod is how rewrite-policy changes one policy for one principal.
type RewriteMethod string

const (
	// MethodPutInline rewrites an inline policy in place (Put…Policy).
	MethodPutInline RewriteMethod = "put-inline"
	// MethodDeleteInline deletes an inline policy that grants nothing used.
	MethodDeleteInline RewriteMethod = "delete-inline"
	// MethodNewVersion makes the refined document the new default version
	// of a customer-managed policy attached only to this principal,
	// deleting the oldest non-default version when five exist.
	MethodNewVersion RewriteMethod = "new-version"
	// MethodReplaceCopy serves a shared customer-managed or an AWS-managed
	// policy: a refined customer-managed copy is created and attached to
	// this principal, then the original is detached from it (only).
	MethodReplaceCopy RewriteMethod = "replace-copy"
	// MethodDetach detaches a managed policy that grants nothing used.
	MethodDetach RewriteMethod = "detach"
)

// PolicyChange is one policy a rewrite-policy or propose-policy action
// changes, with the exact documents before and after, so that the plan shows
// precisely what will be written and apply can refuse it when the live
// document is no longer Before.
type PolicyChange struct {
	// Policy is the inline policy's name, or the managed policy's ARN.
	Policy string     `json:"policy"`
	Type   PolicyType `json:"type"`
	// Name is the policy's name (for managed policies, the last ARN part).
	Name   string        `json:"name"`
	Method RewriteMethod `json:"method"`
	// Version is the default version id Before was read from (managed).
	Version string `json:"version,omitempty"`
	// AttachmentCount is how many principals the managed policy was
	// attached to when planned: 1 means only this one.
	AttachmentCount int `json:"attachment_count,omitempty"`
	// Before is the current document, compact JSON.
	Before json.RawMessage `json:"before"`
	// After holds the refined document, compact JSON: After[0] replaces
	// Before; further entries are extra customer-managed policies the
	// refined grant was split into because it exceeds the size limit.
	// Empty when nothing used remains (delete-inline, detach).
	After []json.RawMessage `json:"after"`
	// Evidence is the review text: what was removed and its last access
	// (markdown).
	Evidence string `json:"evidence,omitempty"`
}

// RecommendationCheck compares iamprune's refinement of one finding with
// Access Analyzer's own recommendation for it. iamprune's refinement stays
// the source of truth; disagreements are reported for review.
type RecommendationCheck struct {
	// Status is Access Analyzer's recommendation status (SUCCEEDED,
	// FAILED, IN_PROGRESS) or "unavailable" when it could not be had.
	Status string `json:"status"`
	// Type is the recommendationType, an open string (UnusedPermissionRecommendation).
	Type string `json:"type,omitempty"`
	// Agrees is true when both remove the same actions.
	Agrees bool `json:"agrees"`
	// OnlyIAMPrune lists actions iamprune removes that the recommendation
	// keeps; OnlyAnalyzer the reverse. Both lower-cased, sorted.
	OnlyIAMPrune []string `json:"only_iamprune,omitempty"`
	OnlyAnalyzer []string `json:"only_analyzer,omitempty"`
	// Detail explains a failure or an unavailable recommendation.
	Detail string `json:"detail,omitempty"`
}

// ManagedPolicy is what iamprune knows of a managed policy attached to a
// principal with an UnusedPermission finding.
type ManagedPolicy struct {
	ARN  string
	Name string
	Path string
	// DefaultVersion is the default version id and Document its document
	// (compact JSON); Document is nil when it could not be read.
	DefaultVersion  string
	Document        json.RawMessage
	AttachmentCount int
	// BoundaryCount is how many principals use it as their permissions
	// boundary: such a policy is never changed in place.
	BoundaryCount int
	AWSManaged    bool
	Tags          map[string]string
}

// InlinePolicy is an inline policy of a user or role.
type InlinePolicy struct {
	Name     string
	Document json.RawMessage // compact JSON
}

// Recommendation is Access Analyzer's recommendation for an UnusedPermission
// finding (GetFindingRecommendation, every page merged).
type Recommendation struct {
	FindingID string
	// Status is SUCCEEDED, FAILED or IN_PROGRESS.
	Status string
	// Type is the recommendationType: an open string.
	Type  string
	Error string // the error's code and message when Status is FAILED
	Steps []RecommendedStep
}

// RecommendedStep is one unusedPermissionsRecommendedStep.
type RecommendedStep struct {
	// Action is the recommendedAction: CREATE_POLICY or DETACH_POLICY
	// (open: other values are kept as they come).
	Action string
	// ExistingPolicyID is the policy the step is about: a managed policy
	// ARN, or an inline policy name.
	ExistingPolicyID string
	PolicyUpdatedAt  *time.Time
	// Policy is the recommended document for CREATE_POLICY, compact JSON.
	Policy json.RawMessage
}
