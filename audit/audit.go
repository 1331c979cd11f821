// Package audit writes the audit log of apply and rollback: one JSON object
// per line, one line per event, in a fixed schema a SIEM can ingest.
//
// The log records what iamprune changed and why it skipped what it did not
// change. It never carries secrets: an Event has no field for one, and
// callers must not put one into Detail.
//
// It imports only the root; apply, app and cmd import it.
package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/iamprune/iamprune"
)

// Event names.
const (
	RunStarted  = "run-started"
	RunFinished = "run-finished"
	RunRefused  = "run-refused"
	// RunInterrupted: the run was stopped (a signal, a lost lock), or a
	// later run found it dead and closed it.
	RunInterrupted = "run-interrupted"

	ActionSkipped     = "action-skipped"
	ActionStarted     = "action-started" // the intent is journaled; the change follows
	ActionDone        = "action-done"
	ActionAlreadyDone = "action-already-done"
	ActionFailed      = "action-failed"
	// ActionReconciled: an intent left pending by a dead run was resolved
	// from the live state.
	ActionReconciled = "action-reconciled"

	RollbackStarted     = "rollback-started"
	RollbackDone        = "rollback-done"
	RollbackAlreadyDone = "rollback-already-done"
	RollbackSkipped     = "rollback-skipped"
	RollbackFailed      = "rollback-failed"

	// LockBroken: a run broke the lock of a dead holder (same host, pid
	// gone) or 'iamprune unlock' broke one; LockLost: a run found its lock
	// taken and stopped.
	LockBroken = "lock-broken"
	LockLost   = "lock-lost"
	// HoldSet: rollback held an item; HoldReleased: a hold was ended early.
	HoldSet      = "hold-set"
	HoldReleased = "hold-released"
)

// Event is one audit line. Every key is always written, so that the schema
// is the same on every line; absent values are "" (services: []).
type Event struct {
	Time        time.Time `json:"time"`
	Event       string    `json:"event"`
	RunID       string    `json:"run_id"`
	Account     string    `json:"account"`
	ActionID    string    `json:"action_id"`
	Principal   string    `json:"principal"`
	FindingID   string    `json:"finding_id"`
	FindingType string    `json:"finding_type"`
	Kind        string    `json:"kind"`
	Target      string    `json:"target"`
	Services    []string  `json:"services"`
	Status      string    `json:"status"`
	Detail      string    `json:"detail"`
}

// ForAction returns an event about action a of run runID.
func ForAction(event, runID string, a iamprune.Action, status, detail string) Event {
	return Event{
		Event:       event,
		RunID:       runID,
		Account:     a.Account,
		ActionID:    a.ID,
		Principal:   a.Principal,
		FindingID:   a.FindingID,
		FindingType: string(a.FindingType),
		Kind:        string(a.Kind),
		Target:      a.Target,
		Services:    a.Services,
		Status:      status,
		Detail:      detail,
	}
}

// ForRun returns an event about run r as a whole.
func ForRun(event string, r iamprune.Run) Event {
	return Event{Event: event, RunID: r.ID, Account: r.Account, Kind: string(r.Kind), Status: r.Status, Detail: r.Detail}
}

// Logger writes events to w, one JSON line each. It is safe for concurrent
// use, and a nil *Logger discards everything, so callers need no checks.
type Logger struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
	err error
}

// New returns a Logger writing to w (stderr, or an --audit-log file).
// now stamps events that carry no time; nil means time.Now.
func New(w io.Writer, now func() time.Time) *Logger {
	if now == nil {
		now = time.Now
	}
	return &Logger{w: w, now: now}
}

// Log writes e as one line. Each line is written with a single Write call,
// so concurrent events never interleave.
func (l *Logger) Log(e Event) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Time = e.Time.UTC()
	if e.Services == nil {
		e.Services = []string{}
	}
	line, err := json.Marshal(e)
	if err == nil {
		_, err = l.w.Write(append(line, '\n'))
	}
	if err != nil {
		err = fmt.Errorf("audit: cannot write %s event: %w", e.Event, err)
		if l.err == nil {
			l.err = err
		}
	}
	return err
}

// Err returns the first write error, so that a lost audit line is reported
// even where the caller could not stop for it.
func (l *Logger) Err() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}
