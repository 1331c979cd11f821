package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/worker"
)

// WorkerSettings are the settings of the SQS worker ('iamprune worker').
type WorkerSettings struct {
	Queue, Listen           string
	Concurrency             int
	Wait, Visibility, Drain time.Duration
	Logger                  *slog.Logger
}

// Validate checks the settings against SQS's limits; bad ones are EINVALID.
func (s WorkerSettings) Validate() error {
	switch {
	case s.Queue == "":
		return iamprune.Errorf(iamprune.EINVALID, "--queue is required")
	case !iamprune.IsQueueURL(s.Queue):
		return iamprune.Errorf(iamprune.EINVALID, "--queue: %q is not a queue URL (%s)", s.Queue, queueURLExample)
	case s.Concurrency < 1:
		return iamprune.Errorf(iamprune.EINVALID, "--concurrency: %d is not a positive number", s.Concurrency)
	case s.Wait < time.Second || s.Wait > 20*time.Second:
		return iamprune.Errorf(iamprune.EINVALID, "--wait: %s is not from 1s to 20s (SQS's long-poll limit)", s.Wait)
	case s.Visibility < 2*time.Second || s.Visibility > 12*time.Hour:
		return iamprune.Errorf(iamprune.EINVALID, "--visibility: %s is not from 2s to 12h", s.Visibility)
	case s.Drain <= 0:
		return iamprune.Errorf(iamprune.EINVALID, "--drain: %s is not positive", s.Drain)
	}
	return nil
}

// RunWorker consumes the queue with process until ctx ends, serving
// /healthz and /metrics on s.Listen unless it is "".
func RunWorker(ctx context.Context, s WorkerSettings, cfg aws.Config, process func(context.Context, []byte) error, metrics *worker.Metrics) error {
	log := logger(s.Logger)
	w := &worker.Worker{
		Client:      sqs.NewFromConfig(cfg),
		QueueURL:    s.Queue,
		Process:     process,
		Wait:        s.Wait,
		Visibility:  s.Visibility,
		Concurrency: s.Concurrency,
		Drain:       s.Drain,
		Metrics:     metrics,
		Logger:      log,
	}
	if s.Listen != "" {
		addr, stop, err := w.ServeHTTP(s.Listen)
		if err != nil {
			return err
		}
		defer stop(ctx)
		log.Info("worker: serving /healthz and /metrics", "addr", addr.String())
	}
	if err := w.Run(ctx); err != nil {
		return err
	}
	log.Info("worker: stopped")
	return nil
}

// queueURLExample is what iamprune.IsQueueURL wants.
const queueURLExample = "https://sqs.REGION.amazonaws.com/ACCOUNT/NAME"
