package iamprune

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// RunKind says what a run did.
type RunKind string

const (
	RunApply    RunKind = "apply"
	RunRollback RunKind = "rollback"
)

// Run statuses.
const (
	RunRunning     = "running"
	RunSucceeded   = "succeeded"   // every action done, already done or skipped
	RunFailed      = "failed"      // at least one action failed
	RunRefused     = "refused"     // a guard stopped it before any change
	RunInterrupted = "interrupted" // the process died; found and closed by a later run
)

// Run is one apply or rollback, as the state store records it.
type Run struct {
	ID         string     `json:"run_id"`
	Kind       RunKind    `json:"kind"`
	Account    string     `json:"account"`
	Caller     string     `json:"caller,omitempty"`
	Status     string     `json:"status"`
	Detail     string     `json:"detail,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// PlanGeneratedAt is the generated_at of the plan the run applied.
	PlanGeneratedAt *time.Time `json:"plan_generated_at,omitempty"`
	// PlanCounts are the applied plan's entries by kind, without the
	// changes already done (Plan.PendingCounts), so that the open items
	// can be followed from run to run; nil for rollbacks and for runs
	// recorded before iamprune kept them.
	PlanCounts map[ActionKind]int `json:"plan_counts,omitempty"`
}

// Result statuses of one action, as apply and rollback report them.
const (
	ResultPending     = "pending" // journaled intent, outcome not yet known
	ResultDone        = "done"
	ResultAlreadyDone = "already-done"
	ResultSkipped     = "skipped"
	ResultFailed      = "failed"
)

// ActionRecord is the journal entry of one action in one run: written as an
// intent (status pending, with the pre-image) before any AWS call, and
// completed with the outcome after it.
type ActionRecord struct {
	RunID       string      `json:"run_id"`
	ActionID    string      `json:"action_id"`
	Account     string      `json:"account"`
	FindingID   string      `json:"finding_id,omitempty"`
	Principal   string      `json:"principal"`
	FindingType FindingType `json:"finding_type,omitempty"`
	Kind        ActionKind  `json:"kind"`
	Target      string      `json:"target"`
	Services    []string    `json:"services"`
	Status      string      `json:"status"`
	Detail      string      `json:"detail,omitempty"`
	// PreImage is the exact state before the change, enough to undo it.
	// PostImage records what the change created (policy names, ARNs).
	// Both are executor-specific JSON.
	PreImage  json.RawMessage `json:"pre_image,omitempty"`
	PostImage json.RawMessage `json:"post_image,omitempty"`
	// RollbackOf names the "run_id/action_id" a rollback action undoes.
	RollbackOf string `json:"rollback_of,omitempty"`
	// Steps are the writes of a multi-write change, in order (Step).
	Steps      []Step     `json:"steps,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// ActionFilter selects journal entries; zero fields match anything.
type ActionFilter struct {
	Account  string
	ActionID string
	Kind     ActionKind
	Target   string
	Status   string
}

// LockOwner identifies the holder of an account's run lock, so that a lock
// left by a process that died can be recognised: on the same host, a dead
// pid means the lock is stale at once; elsewhere the lease, renewed while
// the holder lives, runs out soon.
type LockOwner struct {
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	User      string    `json:"user,omitempty"`
	RunID     string    `json:"run_id,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// String describes the holder for messages.
func (o LockOwner) String() string {
	s := fmt.Sprintf("pid %d on %s", o.PID, o.Host)
	if o.User != "" {
		s = o.User + ", " + s
	}
	if o.RunID != "" {
		s = "run " + o.RunID + " (" + s + ")"
	}
	return s
}

// LockInfo is an account's lock as the store holds it.
type LockInfo struct {
	Account string    `json:"account"`
	Owner   LockOwner `json:"owner"`
	// Token identifies this holding: breaking a lock names it, so that a
	// lock that changed hands meanwhile is kept.
	Token      string    `json:"-"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Lock is a held per-account run lock.
type Lock interface {
	Release(ctx context.Context) error
	// Renew extends the lease to now+ttl while this holding still has the lock;
	// ECONFLICT once the lock was taken over or broken.
	Renew(ctx context.Context, ttl time.Duration) error
}

// Store is the state store: runs, the action journal with pre-images and
// steps, the per-account lock, and holds. SQLite is the default; DynamoDB scales it out.
type Store interface {
	// Lock takes the account's run lock for owner, or fails with an
	// ECONFLICT *Error naming the holder (owner.String(), since, expires).
	// A lock past its expiry (its holder stopped renewing it) is stale and
	// is taken over.
	Lock(ctx context.Context, account string, owner LockOwner, ttl time.Duration) (Lock, error)
	// LockHolder returns the account's lock as stored, expired or not, or nil when there is none.
	LockHolder(ctx context.Context, account string) (*LockInfo, error)
	// BreakLock removes the account's lock only if its token is still token; reports whether it did.
	BreakLock(ctx context.Context, account, token string) (bool, error)

	CreateRun(ctx context.Context, r Run) error
	FinishRun(ctx context.Context, runID, status, detail string, at time.Time) error
	Run(ctx context.Context, runID string) (*Run, error) // ENOTFOUND when unknown
	// Runs lists runs, newest first; account "" means all, limit <= 0 all.
	Runs(ctx context.Context, account string, limit int) ([]Run, error)

	// BeginAction journals the intent (Status pending) with its pre-image,
	// and its Steps when set. It fails with ECONFLICT if the (run, action)
	// pair already exists.
	BeginAction(ctx context.Context, rec ActionRecord) error
	// FinishAction records the outcome of a journaled intent.
	FinishAction(ctx context.Context, runID, actionID, status, detail string, post json.RawMessage, at time.Time) error
	// Actions returns a run's journal in the order it was written.
	Actions(ctx context.Context, runID string) ([]ActionRecord, error)
	// FindActions returns matching journal entries across runs, oldest first.
	// Actions and FindActions return each record with its Steps in Seq order.
	FindActions(ctx context.Context, f ActionFilter) ([]ActionRecord, error)
	// RecordStep inserts or replaces (by Seq) a step of a journaled action; ENOTFOUND for an unknown (run, action).
	RecordStep(ctx context.Context, runID, actionID string, s Step) error

	// PutHold inserts or replaces a hold by ID.
	PutHold(ctx context.Context, h Hold) error
	// Hold returns one hold; ENOTFOUND when unknown.
	Hold(ctx context.Context, id string) (*Hold, error)
	// Holds lists holds, newest first (by At); account "" means all.
	Holds(ctx context.Context, account string) ([]Hold, error)
	// ReleaseHold ends a hold early; ENOTFOUND when unknown; releasing twice keeps the first release.
	ReleaseHold(ctx context.Context, id, by string, at time.Time) error

	Close() error
}

// Inspection is the live state of an action's target, read just before the
// change.
type Inspection struct {
	// PreImage is the exact current state, recorded before the change.
	PreImage json.RawMessage
	// AlreadyDone: the target is already in the state the action produces.
	AlreadyDone bool
	// Skip, when set, says why the action must not run now (the principal
	// or key is gone, the credential was used since the finding, ...).
	Skip string
	// LastUsed is the credential's last use as read now, if it has one.
	LastUsed *time.Time
}

// Executor carries out one remediation kind against IAM, and undoes it.
// There is one per kind, with its rollback beside it.
type Executor interface {
	Kind() ActionKind
	// Inspect reads the live state just before the change.
	Inspect(ctx context.Context, a Action) (Inspection, error)
	// Apply makes the change; pre is what Inspect returned. It returns a
	// post-image of what it created, for rollback.
	Apply(ctx context.Context, a Action, pre Inspection) (post json.RawMessage, err error)
	// Rollback restores rec's pre-image. It is idempotent: undoing what is
	// already undone reports AlreadyDone and makes no write call.
	Rollback(ctx context.Context, rec ActionRecord) (RollbackOutcome, error)
}

// RollbackOutcome is what undoing one action did.
type RollbackOutcome struct {
	AlreadyDone bool
	Detail      string // recorded in the journal
	// Secret is shown to the user once and never stored or logged (the
	// one-time password of a recreated login profile).
	Secret string
}

// EncodePlanCounts is how the state stores keep Run.PlanCounts: compact
// JSON, "" for none.
func EncodePlanCounts(c map[ActionKind]int) (string, error) {
	if len(c) == 0 {
		return "", nil
	}
	b, err := json.Marshal(c)
	return string(b), err
}

// DecodePlanCounts reads what EncodePlanCounts wrote; "" is nil.
func DecodePlanCounts(s string) (map[ActionKind]int, error) {
	if s == "" {
		return nil, nil
	}
	var c map[ActionKind]int
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return nil, fmt.Errorf("bad plan counts %q: %w", s, err)
	}
	return c, nil
}
