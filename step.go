package iamprune

import (
	"context"
	"encoding/json"
	"time"
)

// Step statuses: a step is journaled as pending (with the pre-image of
// what it is about to write) before its write call, and done after it.
const (
	StepPending = "pending"
	StepDone    = "done"
)

// Step is one write of a multi-write remediation (quarantine: the deny
// policy, then the tags). Executors journal each step, so that a failure
// or a crash between two writes leaves a record of exactly what was made:
// re-apply completes the missing steps, rollback undoes the steps made.
type Step struct {
	// Seq orders the steps of one action, from 1.
	Seq int `json:"seq"`
	// Op names the write, as the IAM operation that makes it
	// (PutRolePolicy, TagRole, CreatePolicy, AttachUserPolicy, ...).
	Op string `json:"op"`
	// Target is what the write changes: a policy name or ARN, tag keys.
	Target string `json:"target"`
	// Pre is the target's state before the write, enough to restore it;
	// absent when the target did not exist.
	Pre json.RawMessage `json:"pre,omitempty"`
	// Post is what the write made (a created policy's ARN, ...).
	Post   json.RawMessage `json:"post,omitempty"`
	Status string          `json:"status"`
	At     time.Time       `json:"at"`
}

// Validate checks what every store requires of a step: a Seq from 1, a
// known status, and images that are JSON. The stores prefix its error with
// their name and the action.
func (s Step) Validate() error {
	if s.Seq < 1 {
		return Errorf(EINVALID, "step has seq %d, want 1 or more", s.Seq)
	}
	if s.Status != StepPending && s.Status != StepDone {
		return Errorf(EINVALID, "step %d has status %q, want %s or %s", s.Seq, s.Status, StepPending, StepDone)
	}
	if len(s.Pre) > 0 && !json.Valid(s.Pre) {
		return Errorf(EINVALID, "step %d pre-image is not JSON", s.Seq)
	}
	if len(s.Post) > 0 && !json.Valid(s.Post) {
		return Errorf(EINVALID, "step %d post-image is not JSON", s.Seq)
	}
	return nil
}

// StepJournal records a step of the action being applied; it is called
// before each write (Status pending) and after it (Status done), with the
// same Seq. An error means the journal cannot be written: the executor
// must stop before its next write.
type StepJournal func(ctx context.Context, s Step) error

type stepJournalKey struct{}

// WithStepJournal returns a context whose executor writes are journaled by
// j. Apply sets one per action.
func WithStepJournal(ctx context.Context, j StepJournal) context.Context {
	return context.WithValue(ctx, stepJournalKey{}, j)
}

// JournalStep records s through the context's journal; without one (a
// test calling an executor directly) it does nothing.
func JournalStep(ctx context.Context, s Step) error {
	j, _ := ctx.Value(stepJournalKey{}).(StepJournal)
	if j == nil {
		return nil
	}
	return j(ctx, s)
}
