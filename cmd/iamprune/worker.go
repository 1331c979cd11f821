package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/worker"
)

// workerOptions are the flags of 'iamprune worker'.
type workerOptions struct {
	queue       string
	listen      string
	concurrency int
	wait        time.Duration
	visibility  time.Duration
	drain       time.Duration
	lockRetry   time.Duration
	probe       bool
	// plan holds the config, exceptions, state and --now flags, as apply
	// has them; the analyzer is the one each event names.
	plan planOptions
}

func (m *Main) workerCommand() *cobra.Command {
	var o workerOptions
	cmd := &cobra.Command{
		Use:   "worker --queue URL",
		Short: "Consume finding events from an SQS queue, for containers instead of Lambda",
		Long: `worker is a long-running SQS consumer, for containers instead of Lambda. A
message is either a fanned-out sweep's (see 'iamprune sweep': that account,
or page of it, is planned and applied under the account's lock; an account
another run holds is put back for --lock-retry, not failed), or an Access
Analyzer finding event, handled as the Lambda function does: the finding is
read as it is now, decided, applied and notified as 'apply --yes' does, with
all its guards. Deleted findings and versions already handled are skipped.
The config and exceptions are read again for every message.

Up to --concurrency messages are received (long polling, --wait) and kept in
flight; sweep messages run side by side, an account's taking turns to apply,
finding events one at a time. While a message is processed its visibility
timeout (--visibility) is renewed every half of it. A message is deleted only
once processed; a failed one becomes visible again after its timeout, and
after the redrive policy's maxReceiveCount SQS moves it to the dead-letter
queue. On SIGTERM or Ctrl-C it stops receiving, lets the messages in flight
finish (at most --drain) and exits 0.

HTTP on --listen: /healthz answers 200 while the receive loop is alive, 503
otherwise; /metrics serves Prometheus metrics (findings processed, actions
by kind and status, errors, AWS calls by operation). The queue's endpoint
follows the AWS SDK settings (--region, --profile, AWS_ENDPOINT_URL_SQS).`,
		Example: `  iamprune worker --queue https://sqs.eu-west-1.amazonaws.com/111122223333/iamprune --config iamprune.yaml --state dynamodb://iamprune
  iamprune worker --queue "$QUEUE_URL" --listen 0.0.0.0:9090 --concurrency 4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.runWorker(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.queue, "queue", "", "URL of the SQS queue to consume (required)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:9090", `address for /healthz and /metrics; "" serves neither`)
	f.IntVar(&o.concurrency, "concurrency", 1, "messages received and kept in flight at once (sweep messages run side by side; one account's take turns)")
	f.DurationVar(&o.wait, "wait", worker.DefaultWait, "long-poll time per receive, 1s to 20s")
	f.DurationVar(&o.visibility, "visibility", worker.DefaultVisibility, "visibility timeout asked for and renewed while a message is processed")
	f.DurationVar(&o.lockRetry, "lock-retry", app.DefaultLockRetry, "a sweep message whose account another run holds comes back after this long")
	f.DurationVar(&o.drain, "drain", worker.DefaultDrain, "on shutdown, how long messages in flight may take to finish")
	f.BoolVar(&o.probe, "probe", false, "check the /healthz of the worker running on --listen, exit 0 if healthy (a container health check)")
	f.StringVar(&o.plan.configPath, "config", "", "YAML config file (default: $IAMPRUNE_CONFIG, else built-in defaults)")
	f.StringVar(&o.plan.exceptions, "exceptions", "", "exceptions file, *.txt or YAML; overrides the config's exceptions")
	f.StringVar(&o.plan.now, "now", "", "evaluate as of this time (RFC 3339 or YYYY-MM-DD), for tests and replays")
	f.StringVar(&o.plan.state, "state", "", "state store: a SQLite file or dynamodb://TABLE (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
	return cmd
}

func (m *Main) runWorker(ctx context.Context, o workerOptions) error {
	if o.probe {
		return worker.Probe(ctx, o.listen)
	}
	s := app.WorkerSettings{Queue: o.queue, Listen: o.listen, Concurrency: o.concurrency, Wait: o.wait, Visibility: o.visibility, Drain: o.drain, Logger: m.log()}
	if err := s.Validate(); err != nil {
		return err
	}
	metrics := worker.NewMetrics()
	cfg, counter, err := m.loadAWS(ctx)
	if err != nil {
		return err
	}
	cfg.APIOptions = append(cfg.APIOptions, metrics.CountAWSCalls)
	// Bad flags or files fail the start; they are read again for every
	// message, as every apply reads them.
	if _, err := m.loadInputs(ctx, o.plan); err != nil {
		return err
	}
	store, err := m.openStore(ctx, o.plan.state, false)
	if err != nil {
		return err
	}
	defer store.Close()
	h := app.NewHandler(m.env(), m.Stderr, lockOwner())
	h.LockRetry = o.lockRetry
	q := &app.Queue{Handler: h, Invocation: &app.Invocation{AWS: cfg, Counter: counter, Store: store}, Metrics: metrics,
		Inputs: func(ctx context.Context) (app.Inputs, error) { return m.loadInputs(ctx, o.plan) }}
	err = app.RunWorker(ctx, s, cfg, q.Process, metrics)
	m.drained = err == nil
	return err
}
