package main

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/exceptions"
	"github.com/iamprune/iamprune/trigger"
)

// Lambda mode: the binary is the bootstrap of a provided.al2023 function
// when AWS_LAMBDA_RUNTIME_API is set. Each event is handled by app.Handler,
// as 'iamprune apply --yes' handles its findings; this file only reads the
// function's environment and speaks the runtime's protocol.

// lambdaDefaultState is the SQLite store used when IAMPRUNE_STATE is unset:
// the only writable place in Lambda, and not durable.
const lambdaDefaultState = "/tmp/iamprune/state.db"

// serveLambda hands the process to the Lambda runtime; it returns only if
// the runtime cannot start.
func (m *Main) serveLambda(ctx context.Context) {
	h := m.newLambdaHandler()
	// The runtime sends SIGTERM before it stops the sandbox (when an
	// extension is registered): runs are journaled as they go, so there is
	// nothing to flush; say so in the log, so that an interrupted run found
	// by the next one is explained.
	lambda.StartWithOptions(h.invoke, lambda.WithContext(ctx), lambda.WithEnableSIGTERM(func() {
		m.log().Warn("SIGTERM: the Lambda runtime is shutting down this sandbox; a run in progress is reconciled by the next one")
	}))
}

// lambdaHandler serves invocations. The runtime calls it one invocation at
// a time per process; mu makes that true for any caller.
type lambdaHandler struct {
	m  *Main
	mu sync.Mutex
	h  *app.Handler
	// excs caches S3 exception lists by ETag across warm invocations.
	excs *exceptions.Remote
}

// lambdaResponse is what an EventBridge or scheduled invocation returns.
type lambdaResponse = app.EventResult

func (m *Main) newLambdaHandler() *lambdaHandler {
	// JSON logs: CloudWatch Logs indexes their fields.
	m.logFormat, m.logLevel = "json", firstNonEmpty(m.Getenv("IAMPRUNE_LOG_LEVEL"), "info")
	if err := m.setupLogging(); err != nil {
		m.logLevel = "info"
		_ = m.setupLogging()
		m.log().Warn("IAMPRUNE_LOG_LEVEL ignored", "error", err.Error())
	}
	// IAMPRUNE_NOW fixes every clock of the run, as the CLI tests fix Main.Now
	// with --now; a bad value is reported by each invocation.
	if now, err := lambdaNow(m.Getenv("IAMPRUNE_NOW")); err == nil && !now.IsZero() {
		m.Now = func() time.Time { return now }
	}
	return &lambdaHandler{m: m, h: app.NewHandler(m.env(), m.Stderr, lockOwner())}
}

func (h *lambdaHandler) invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	in, err := trigger.Classify(raw)
	if err != nil {
		h.m.log().Error("malformed event: nothing changed", "error", err.Error())
		return nil, err
	}
	if in.Kind == trigger.KindSQS {
		// Every record is handled; the failed and malformed ones are
		// reported for redelivery (ReportBatchItemFailures).
		resp := lambdaevents.SQSEventResponse{BatchItemFailures: []lambdaevents.SQSBatchItemFailure{}}
		for _, id := range h.h.HandleBatch(ctx, in.Records, h.setup) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: id})
		}
		return resp, nil
	}
	// A finding event that needs no AWS call needs no setup either.
	if in.Kind == trigger.KindFinding {
		if res := h.h.Skip(in.Finding); res != nil {
			return res, nil
		}
	}
	inv, err := h.setup(ctx)
	if err != nil {
		return nil, err
	}
	defer inv.Close()
	if in.Kind == trigger.KindFinding {
		return h.h.HandleFinding(ctx, inv, in.Finding)
	}
	return h.h.Sweep(ctx, inv, in.Sweep)
}

// setup loads the AWS configuration, the inputs and the state store.
func (h *lambdaHandler) setup(ctx context.Context) (*app.Invocation, error) {
	m := h.m
	cfg, counter, err := awsapi.LoadConfig(ctx, awsapi.Options{Logger: m.log(), Policy: m.awsPolicy()})
	if err != nil {
		return nil, err
	}
	in, err := h.inputs(ctx, cfg)
	if err != nil {
		return nil, err
	}
	state := m.Getenv("IAMPRUNE_STATE")
	if state == "" {
		state = lambdaDefaultState
		m.log().Warn("IAMPRUNE_STATE is not set: using " + lambdaDefaultState + ", which does not survive the execution environment; the journal, locks and notice log need a durable store: set IAMPRUNE_STATE=dynamodb://TABLE")
	}
	store, err := m.openStore(ctx, state, false)
	if err != nil {
		return nil, err
	}
	return &app.Invocation{Inputs: in, AWS: cfg, Counter: counter, Store: store}, nil
}

// inputs reads the config (IAMPRUNE_CONFIG_YAML inline, or IAMPRUNE_CONFIG:
// a path or s3://bucket/key), its exceptions and IAMPRUNE_NOW.
func (h *lambdaHandler) inputs(ctx context.Context, awsCfg aws.Config) (app.Inputs, error) {
	m := h.m
	now, err := lambdaNow(m.Getenv("IAMPRUNE_NOW"))
	if err != nil {
		return app.Inputs{}, err
	}
	inline := m.Getenv("IAMPRUNE_CONFIG_YAML")
	if m.Getenv("IAMPRUNE_CONFIG") != "" && inline != "" {
		return app.Inputs{}, iamprune.Errorf(iamprune.EINVALID, "lambda: IAMPRUNE_CONFIG and IAMPRUNE_CONFIG_YAML are both set; set one")
	}
	objects := awsapi.NewS3Object(awsCfg)
	if h.excs == nil {
		h.excs = exceptions.NewRemote(awsapi.NewCachedObjects(objects))
	}
	in, err := app.LoadInputs(ctx, app.InputOptions{
		ConfigYAML:     inline,
		ConfigYAMLName: "IAMPRUNE_CONFIG_YAML",
		Now:            now,
		Getenv:         m.Getenv,
		Clock:          m.Now,
		Logger:         m.log(),
		Objects:        func(context.Context) (*awsapi.S3Object, error) { return objects, nil },
		Remote:         h.excs,
		ConfigureAWS:   m.configureAWS,
	})
	if err != nil {
		return app.Inputs{}, err
	}
	if err := app.WithStackTopic(&in.Config.Notifications, m.Getenv("IAMPRUNE_SNS_TOPIC_ARN")); err != nil {
		return app.Inputs{}, err
	}
	return in, nil
}

// lambdaNow reads IAMPRUNE_NOW: RFC 3339, or "" for the real clock (zero).
func lambdaNow(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, iamprune.Errorf(iamprune.EINVALID, "lambda: IAMPRUNE_NOW: %q is not an RFC 3339 time (e.g. 2026-11-28T00:00:00Z)", s)
	}
	return t.UTC(), nil
}
