package iamprune

import "time"

// ActionKind says what iamprune will do about one finding item.
type ActionKind string

const (
	// KindNotify: unused past notify_after_days but not yet past remediate_after_days.
	KindNotify ActionKind = "notify"
	// Remediations.
	KindDeactivateAccessKey ActionKind = "deactivate-access-key"
	KindDeleteAccessKey     ActionKind = "delete-access-key"
	KindDeleteLoginProfile  ActionKind = "delete-login-profile"
	KindQuarantineRole      ActionKind = "quarantine-role"
	KindDenyUnusedServices  ActionKind = "deny-unused-services"
	// KindRewritePolicy rewrites the principal's policies in place, down to
	// what is used (Action.Policies says exactly how).
	KindRewritePolicy ActionKind = "rewrite-policy"
	// KindProposePolicy changes code instead of the account: the refined
	// policies are proposed as a pull request against the infrastructure
	// repository. It is not a remediation: IAM is not touched.
	KindProposePolicy ActionKind = "propose-policy"
	// KindExempt: an unexpired exception covers the item.
	KindExempt ActionKind = "exempt"
	// KindProtected: the principal is protected (built-in or configured).
	KindProtected ActionKind = "protected"
	// KindSkip: the finding is not ACTIVE, or the principal or key is gone.
	KindSkip ActionKind = "skip"
	// KindNotifyOnly is not a plan kind but a rule action: never remediate,
	// only notify.
	KindNotifyOnly ActionKind = "notify-only"
)

// IsRemediation reports whether k changes IAM.
func (k ActionKind) IsRemediation() bool {
	switch k {
	case KindDeactivateAccessKey, KindDeleteAccessKey, KindDeleteLoginProfile, KindQuarantineRole, KindDenyUnusedServices, KindRewritePolicy:
		return true
	}
	return false
}

// IsProposal reports whether k proposes a change as a pull request.
func (k ActionKind) IsProposal() bool { return k == KindProposePolicy }

// RemediationsFor lists the rule actions valid for a finding type, besides
// notify-only which is valid for every type.
func RemediationsFor(t FindingType) []ActionKind {
	switch t {
	case UnusedIAMUserAccessKey:
		return []ActionKind{KindDeactivateAccessKey, KindDeleteAccessKey}
	case UnusedIAMUserPassword:
		return []ActionKind{KindDeleteLoginProfile}
	case UnusedIAMRole:
		return []ActionKind{KindQuarantineRole}
	case UnusedPermission:
		return []ActionKind{KindDenyUnusedServices, KindRewritePolicy, KindProposePolicy}
	}
	return nil
}

// Action is one line of a plan. Its JSON shape is a public contract
// (docs/plan-format.md); fields may be added but never renamed or removed.
type Action struct {
	ID          string      `json:"id"`
	FindingID   string      `json:"finding_id"`
	Account     string      `json:"account"`
	Principal   string      `json:"principal"`
	FindingType FindingType `json:"finding_type"`
	Kind        ActionKind  `json:"kind"`
	// Target is the access key id for key actions, else the principal name.
	Target string `json:"target"`
	// Services lists the services a deny or notice covers; never null.
	Services   []string `json:"services"`
	UnusedDays int      `json:"unused_days"`
	// RemediateOn is the date (YYYY-MM-DD, UTC) on which remediation is or
	// was due; empty when it cannot be known (skip).
	RemediateOn string `json:"remediate_on"`
	Reason      string `json:"reason"`
	// Exception is the matching exception's principal pattern.
	Exception string `json:"exception"`
	// LastAccessed is when the item was last used; absent when never used.
	LastAccessed *time.Time `json:"last_accessed,omitempty"`
	// ExceptionExpires is the expiry of the matching exception, if any.
	ExceptionExpires string `json:"exception_expires,omitempty"`
	// Hold is the id of the hold that keeps a rolled-back item exempt, and
	// HoldUntil (YYYY-MM-DD, UTC) the day it ends.
	Hold      string `json:"hold,omitempty"`
	HoldUntil string `json:"hold_until,omitempty"`
	// Basis records what the decision was based on, so that applying a
	// saved plan can refuse it when the world changed since.
	Basis *Basis `json:"basis,omitempty"`
	// Done is set when the state store shows iamprune already made this
	// change; applying it again is a no-op.
	Done *DoneRef `json:"done,omitempty"`
	// Policies are the exact policy changes of rewrite-policy and
	// propose-policy entries.
	Policies []PolicyChange `json:"policies,omitempty"`
	// Recommendation compares the refinement with Access Analyzer's.
	Recommendation *RecommendationCheck `json:"recommendation,omitempty"`
}

// Basis is the state a remediation was decided on.
type Basis struct {
	FindingUpdatedAt *time.Time `json:"finding_updated_at,omitempty"`
	// KeyStatus is the access key's status (Active, Inactive) for key actions.
	KeyStatus string `json:"key_status,omitempty"`
	// LastUsed is the credential's or services' last use known at plan
	// time; absent when never used.
	LastUsed *time.Time `json:"last_used,omitempty"`
	// PolicyVersions maps each managed policy attached to the principal to
	// its default version id.
	PolicyVersions map[string]string `json:"policy_versions,omitempty"`
}

// DoneRef points at the run that already made a change.
type DoneRef struct {
	RunID string    `json:"run_id"`
	At    time.Time `json:"at"`
}

// Plan is the reviewable result of a decision run.
type Plan struct {
	// FormatVersion is the version of the machine-output contract
	// (docs/exports.md): set when the plan is written, checked when a saved
	// plan is read back.
	FormatVersion string    `json:"format_version,omitempty"`
	GeneratedAt   time.Time `json:"generated_at"`
	Actions       []Action  `json:"actions"`
	// Extensions to the contract.
	Account string `json:"account,omitempty"`
	Source  string `json:"source,omitempty"`
	// Config is the config file the plan was made with, which applying
	// it uses unless told otherwise.
	Config   string    `json:"config,omitempty"`
	Findings int       `json:"findings"`
	Warnings []Warning `json:"warnings,omitempty"`
}

// Counts returns the number of actions of each kind.
func (p *Plan) Counts() map[ActionKind]int {
	m := map[ActionKind]int{}
	for _, a := range p.Actions {
		m[a.Kind]++
	}
	return m
}

// PendingCounts returns the number of actions of each kind, leaving out
// the changes the state store shows as already done (Action.Done).
func (p *Plan) PendingCounts() map[ActionKind]int {
	m := map[ActionKind]int{}
	for _, a := range p.Actions {
		if a.Done == nil {
			m[a.Kind]++
		}
	}
	return m
}

// Remediations returns the number of actions that change IAM.
func (p *Plan) Remediations() int {
	n := 0
	for _, a := range p.Actions {
		if a.Kind.IsRemediation() {
			n++
		}
	}
	return n
}
