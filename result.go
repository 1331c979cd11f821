package iamprune

import "context"

// ActionResult is the outcome of one action of an apply or a rollback. Its
// JSON shape is a public contract (issue: apply -o json).
type ActionResult struct {
	ActionID  string     `json:"action_id"`
	Principal string     `json:"principal"`
	Kind      ActionKind `json:"kind"`
	Target    string     `json:"target"`
	Status    string     `json:"status"` // done, already-done, skipped, failed
	Detail    string     `json:"detail"`
}

// RunResult is what `apply -o json` and `rollback -o json` print.
type RunResult struct {
	RunID   string         `json:"run_id"`
	Results []ActionResult `json:"results"`
	// Refused, when set, says why nothing was applied (blast-radius limit,
	// stale plan, account not allowed, lock held).
	Refused string `json:"refused,omitempty"`
	// Notifications are the digests the run sent, one per route and
	// channel; a failed one never aborts the run but is reported here.
	Notifications []NotificationResult `json:"notifications,omitempty"`
	// Proposals are the pull requests propose-policy opened or updated,
	// one per account.
	Proposals []ProposalResult `json:"proposals,omitempty"`
}

// ProposalResult is what propose-policy did in one account's repository
// branch.
type ProposalResult struct {
	Account string `json:"account"`
	Mode    string `json:"mode"`
	Branch  string `json:"branch,omitempty"`
	Commit  string `json:"commit,omitempty"`
	// PullRequest is the pull request's URL; Number its number.
	PullRequest string `json:"pull_request,omitempty"`
	Number      int    `json:"number,omitempty"`
	// Updated: an open pull request existed and was updated.
	Updated bool `json:"updated,omitempty"`
	// NoChange: the branch already held exactly these policies.
	NoChange bool `json:"no_change,omitempty"`
	// Files counts the policies written into files.
	Files int `json:"files"`
	// Unmapped lists "principal policy: why" for policies no file mapping
	// covers; they are not proposed.
	Unmapped []string `json:"unmapped,omitempty"`
	Summary  string   `json:"summary,omitempty"`
	// Error says why the proposal failed; the run's IAM changes stand.
	Error string `json:"error,omitempty"`
}

// NotificationResult is one digest sent (or not) to one channel.
type NotificationResult struct {
	Route   string `json:"route"`
	Channel string `json:"channel"`
	Status  string `json:"status"` // sent or failed
	Error   string `json:"error,omitempty"`
	Items   int    `json:"items"`
	// Attempts is how often the digest was sent, retries included.
	Attempts int `json:"attempts,omitempty"`
}

// Failed reports whether any action, proposal or notice failed or the run
// was refused. A lost notice is a failure: prior notice is what later
// allows a remediation.
func (r *RunResult) Failed() bool {
	if r.Refused != "" {
		return true
	}
	for _, a := range r.Results {
		if a.Status == ResultFailed {
			return true
		}
	}
	for _, p := range r.Proposals {
		if p.Error != "" {
			return true
		}
	}
	for _, n := range r.Notifications {
		if n.Status != NoticeSent {
			return true
		}
	}
	return false
}

// FindingGetter reads one finding as it is now (GetFindingV2, every page),
// so that apply can re-check status and updatedAt just before acting. It
// returns an ENOTFOUND *Error when the finding no longer exists.
type FindingGetter interface {
	Finding(ctx context.Context, id string) (*Finding, error)
}
