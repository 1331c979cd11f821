package app

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/trigger"
	"github.com/iamprune/iamprune/worker"
)

// Queue processes the queue worker's messages: each body is a fanned-out
// sweep's message (Handler.SweepPart), or an EventBridge finding event, handled by Handler exactly as the Lambda
// function handles one: deleted and already-handled versions are skipped,
// anything else is decided, applied and notified as 'apply --yes' does for
// that finding, with all its guards. A malformed body, a failed or
// refused run is an error, so that the message is retried and at last
// redriven.
//
// Finding events are handled one at a time (they share the cached facts
// of the invocation). Sweep messages are each their own run, in their own
// account, so they run side by side, up to the worker's concurrency: the
// AWS configuration, and with it the process's rate limiters, is shared
// by all of them, and the per-account run lock in the state store keeps
// two messages off one account (the second is put back, RetryLater).
type Queue struct {
	Handler *Handler
	// Invocation holds the AWS configuration and the state store; its
	// inputs are read again for every message.
	Invocation *Invocation
	// Inputs reads the config and exceptions, so that a changed
	// exceptions file counts at once and the clock is not frozen.
	Inputs func(context.Context) (Inputs, error)
	// Metrics, when set, counts the actions of each run.
	Metrics *worker.Metrics
	mu      sync.Mutex
}

// Process handles one message body.
func (q *Queue) Process(ctx context.Context, body []byte) error {
	if _, part, err := trigger.Body(body); part != nil || (err != nil && bytes.Contains(body, []byte(`"iamprune_sweep"`))) {
		if err != nil {
			return err
		}
		return q.sweepPart(ctx, part)
	}
	ev, err := trigger.Classify(json.RawMessage(body))
	if err != nil {
		return err
	}
	if ev.Kind != trigger.KindFinding {
		return iamprune.Errorf(iamprune.EINVALID, "worker: message body is a %s event; the queue must carry %q events", ev.Kind, trigger.DetailTypeUnused)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.Handler.Skip(ev.Finding) != nil {
		return nil
	}
	inv := q.Invocation
	if inv.Inputs, err = q.Inputs(ctx); err != nil {
		return err
	}
	inv.ForgetFacts() // each message is its own run: read IAM afresh
	res, err := q.Handler.HandleFinding(ctx, inv, ev.Finding)
	if q.Metrics != nil && res != nil && res.Run != nil {
		for _, a := range res.Run.Results {
			q.Metrics.Action(string(a.Kind), a.Status)
		}
	}
	return err
}

// sweepPart handles a fanned-out sweep's message (Handler.SweepPart); a
// locked account comes back as a *worker.RetryLater.
func (q *Queue) sweepPart(ctx context.Context, m *iamprune.SweepMessage) error {
	in, err := q.Inputs(ctx)
	if err != nil {
		return err
	}
	// Its own invocation: no facts cached, nothing shared but the AWS
	// configuration (its limiters) and the store.
	inv := &Invocation{Inputs: in, AWS: q.Invocation.AWS, Counter: q.Invocation.Counter, Store: q.Invocation.Store}
	res, err := q.Handler.SweepPart(ctx, inv, m)
	if q.Metrics != nil && res != nil && res.Run != nil {
		for _, a := range res.Run.Results {
			q.Metrics.Action(string(a.Kind), a.Status)
		}
	}
	return err
}
