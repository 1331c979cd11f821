// Package worker is a long-running SQS consumer: it long-polls a queue,
// hands each message body to a processing function, keeps the message
// hidden while the function runs, and deletes the message only when the
// function succeeds. A failed message is left alone, so that it becomes
// visible again after its visibility timeout and, once the queue's
// redrive policy's maxReceiveCount is reached, SQS moves it to the
// dead-letter queue; a poison message therefore never blocks the others.
//
// It imports nothing of the module: what a message means is the caller's
// business. app and cmd import it.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSAPI is the part of the SQS client the worker uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// Defaults for the zero values of Worker's fields.
const (
	DefaultWait       = 20 * time.Second
	DefaultVisibility = 60 * time.Second
	DefaultDrain      = 30 * time.Second
)

// Worker consumes one queue. Set the fields, then call Run once.
type Worker struct {
	Client   SQSAPI
	QueueURL string
	// Process handles one message body. A nil error deletes the message;
	// an error leaves it to be received again (or redriven). ctx is not
	// cancelled by shutdown until Drain has passed.
	Process func(ctx context.Context, body []byte) error
	// Wait is the long-poll time, in whole seconds, from 1 s to 20 s
	// (SQS's limit); 0 means DefaultWait.
	Wait time.Duration
	// Visibility is the visibility timeout asked for on receive and
	// renewed every half of it while Process runs; whole seconds, at
	// least 1 s; 0 means DefaultVisibility.
	Visibility time.Duration
	// Concurrency is how many messages are processed at once; 0 means 1.
	Concurrency int
	// Drain bounds how long shutdown waits for messages in flight before
	// it cancels their context; 0 means DefaultDrain.
	Drain   time.Duration
	Metrics *Metrics
	Logger  *slog.Logger

	// alive is true while the receive loop runs and its last receive did
	// not fail.
	alive atomic.Bool
}

// Run receives and processes messages until ctx is cancelled, then stops
// receiving, lets the messages in flight finish (for at most Drain) and
// returns nil. It returns an error for a misconfigured worker and when
// the queue does not exist; other receive errors are logged, counted and
// retried with backoff, and /healthz reports them.
func (w *Worker) Run(ctx context.Context) error {
	if w.Client == nil || w.QueueURL == "" || w.Process == nil {
		return errors.New("worker: Client, QueueURL and Process must be set")
	}
	wait, visibility, drain, n := w.settings()
	log := w.logger()

	// Processing outlives ctx, so that shutdown lets messages finish;
	// stopProcessing ends it once the drain time is over.
	procCtx, stopProcessing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopProcessing()
	var inFlight sync.WaitGroup
	slots := make(chan struct{}, n)

	w.alive.Store(true)
	defer w.alive.Store(false)
	log.Info("worker: receiving", "queue", w.QueueURL, "concurrency", n, "wait", wait, "visibility", visibility)
	backoff := time.Duration(0)
	var runErr error
	for ctx.Err() == nil {
		free := acquire(ctx, slots, min(n, 10))
		if free == 0 {
			break
		}
		out, err := w.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(w.QueueURL),
			MaxNumberOfMessages:         int32(free),
			WaitTimeSeconds:             int32(wait / time.Second),
			VisibilityTimeout:           int32(visibility / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			release(slots, free)
			if ctx.Err() != nil {
				break
			}
			w.alive.Store(false)
			w.Metrics.Error()
			var missing *types.QueueDoesNotExist
			if errors.As(err, &missing) {
				runErr = fmt.Errorf("worker: queue %s: %w", w.QueueURL, err)
				break
			}
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			log.Error("worker: receive failed", "queue", w.QueueURL, "err", err, "retry_in", backoff)
			sleep(ctx, backoff)
			continue
		}
		backoff = 0
		w.alive.Store(true)
		release(slots, free-len(out.Messages))
		for _, msg := range out.Messages {
			inFlight.Add(1)
			go func() {
				defer inFlight.Done()
				defer release(slots, 1)
				w.handle(procCtx, msg, visibility)
			}()
		}
	}
	w.alive.Store(false)

	done := make(chan struct{})
	go func() { inFlight.Wait(); close(done) }()
	select {
	case <-done:
		return runErr
	case <-time.After(drain):
	}
	log.Warn("worker: drain time over; cancelling messages in flight, which stay in the queue", "drain", drain)
	stopProcessing()
	// A Process that ignores cancellation must not hold shutdown forever;
	// its message is not deleted and comes back after its timeout.
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		log.Error("worker: messages in flight did not stop after cancellation")
	}
	return runErr
}

// Alive reports whether the receive loop is running and healthy.
func (w *Worker) Alive() bool { return w.alive.Load() }

// Handler serves /healthz (200 while the receive loop is alive, 503
// otherwise) and /metrics.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !w.Alive() {
			rw.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(rw, "receive loop not running")
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	mux.Handle("GET /metrics", w.Metrics.Handler())
	return mux
}

// handle processes one message: heartbeat while Process runs, delete on
// success, leave it on failure.
func (w *Worker) handle(ctx context.Context, msg types.Message, visibility time.Duration) {
	log := w.logger().With("message_id", aws.ToString(msg.MessageId), "receive_count", msg.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	var hb sync.WaitGroup
	hb.Add(1)
	go func() {
		defer hb.Done()
		w.heartbeat(hbCtx, msg.ReceiptHandle, visibility, log)
	}()
	err := w.process(ctx, []byte(aws.ToString(msg.Body)))
	stopHeartbeat()
	hb.Wait()
	var later *RetryLater
	if errors.As(err, &later) {
		// Not a failure: the message comes back after the delay asked.
		log.Info("worker: message put back for later", "reason", later.Error(), "visible_in", later.After.String())
		_, cerr := w.Client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(w.QueueURL), ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: int32(max(later.After, 0) / time.Second),
		})
		if cerr != nil {
			log.Warn("worker: cannot shorten the visibility timeout; the message comes back after it", "err", cerr)
		}
		return
	}
	if err != nil {
		w.Metrics.Error()
		log.Error("worker: processing failed; message left for retry or redrive", "err", err)
		return
	}
	if _, err := w.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.QueueURL), ReceiptHandle: msg.ReceiptHandle}); err != nil {
		// Processing is idempotent by contract; the message will be
		// processed again after its timeout.
		w.Metrics.Error()
		log.Error("worker: delete failed after processing", "err", err)
		return
	}
	w.Metrics.FindingProcessed()
	log.Debug("worker: message processed and deleted")
}

// process runs Process, turning a panic into an error so that one bad
// message cannot kill the worker.
func (w *Worker) process(ctx context.Context, body []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("worker: process panicked: %v", r)
		}
	}()
	return w.Process(ctx, body)
}

// heartbeat renews the visibility timeout every half of it until ctx
// ends, so that a slow message is not handed to another consumer.
func (w *Worker) heartbeat(ctx context.Context, handle *string, visibility time.Duration, log *slog.Logger) {
	t := time.NewTicker(visibility / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := w.Client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(w.QueueURL), ReceiptHandle: handle, VisibilityTimeout: int32(visibility / time.Second),
		})
		if err != nil && ctx.Err() == nil {
			w.Metrics.Error()
			log.Warn("worker: cannot extend visibility timeout", "err", err)
		}
	}
}

func (w *Worker) settings() (wait, visibility, drain time.Duration, n int) {
	wait, visibility, drain, n = w.Wait, w.Visibility, w.Drain, w.Concurrency
	if wait <= 0 {
		wait = DefaultWait
	}
	wait = min(max(wait.Truncate(time.Second), time.Second), 20*time.Second)
	if visibility <= 0 {
		visibility = DefaultVisibility
	}
	visibility = max(visibility.Truncate(time.Second), time.Second)
	if drain <= 0 {
		drain = DefaultDrain
	}
	if n <= 0 {
		n = 1
	}
	return wait, visibility, drain, n
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

// acquire takes at least one and at most up to slots, waiting for the
// first; 0 when ctx ends first.
func acquire(ctx context.Context, slots chan struct{}, up int) int {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	got := 1
	for got < up {
		select {
		case slots <- struct{}{}:
			got++
		default:
			return got
		}
	}
	return got
}

func release(slots chan struct{}, k int) {
	for range k {
		<-slots
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// RetryLater is what Process returns for a message that cannot be
// processed now but is not failed (its account is locked by another
// consumer): the message is put back, visible again After from now
// (ChangeMessageVisibility), and no error is counted. SQS still counts the
// receive towards the redrive policy's maxReceiveCount.
type RetryLater struct {
	After time.Duration
	Err   error
}

func (e *RetryLater) Error() string { return e.Err.Error() }
func (e *RetryLater) Unwrap() error { return e.Err }
