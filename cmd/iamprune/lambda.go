package main

import (
	"cmp"
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/iamprune/iamprune/app"
)

// Lambda mode: the binary is the bootstrap of a provided.al2023 function
// when AWS_LAMBDA_RUNTIME_API is set. Each event is handled by app.Handler,
// as 'iamprune apply --yes' handles its findings; this file only reads the
// function's environment and speaks the runtime's protocol.

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
	// fn reads the function's environment into each invocation.
	fn *app.Function
}

// lambdaResponse is what an EventBridge or scheduled invocation returns.
type lambdaResponse = app.EventResult

func (m *Main) newLambdaHandler() *lambdaHandler {
	// JSON logs: CloudWatch Logs indexes their fields.
	m.logFormat, m.logLevel = "json", cmp.Or(m.Getenv("IAMPRUNE_LOG_LEVEL"), "info")
	if err := m.setupLogging(); err != nil {
		m.logLevel = "info"
		_ = m.setupLogging()
		m.log().Warn("IAMPRUNE_LOG_LEVEL ignored", "error", err.Error())
	}
	// IAMPRUNE_NOW fixes every clock of the run, as the CLI tests fix Main.Now
	// with --now; a bad value is reported by each invocation.
	if now, err := app.FunctionNow(m.Getenv("IAMPRUNE_NOW")); err == nil && !now.IsZero() {
		m.Now = func() time.Time { return now }
	}
	return &lambdaHandler{m: m, h: app.NewHandler(m.env(), m.Stderr, lockOwner()),
		fn: &app.Function{Env: m.env(), ConfigureAWS: m.configureAWS}}
}

func (h *lambdaHandler) invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h.Invoke(ctx, raw, h.fn.Setup)
}
