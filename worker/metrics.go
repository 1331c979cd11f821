package worker

import (
	"context"
	"net/http"

	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the worker's Prometheus counters, in a registry of their
// own so that nothing global leaks into /metrics or into tests. All
// methods are safe on a nil *Metrics, which counts nothing.
type Metrics struct {
	registry *prometheus.Registry
	findings prometheus.Counter
	actions  *prometheus.CounterVec
	errors   prometheus.Counter
	awsCalls *prometheus.CounterVec
}

// NewMetrics registers the counters in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		findings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "iamprune_findings_processed_total",
			Help: "Finding events processed successfully (their messages deleted).",
		}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iamprune_actions_total",
			Help: "Remediation actions by kind and status.",
		}, []string{"kind", "status"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "iamprune_errors_total",
			Help: "Failed message processing and failed queue calls.",
		}),
		awsCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iamprune_aws_calls_total",
			Help: "AWS API calls by operation, counted once per call (retries included in the call).",
		}, []string{"operation"}),
	}
	m.registry.MustRegister(m.findings, m.actions, m.errors, m.awsCalls)
	return m
}

// FindingProcessed counts one finding event processed.
func (m *Metrics) FindingProcessed() {
	if m != nil {
		m.findings.Inc()
	}
}

// Action counts one remediation action of a kind (for example
// deactivate-access-key) with its status (for example applied, skipped,
// failed).
func (m *Metrics) Action(kind, status string) {
	if m != nil {
		m.actions.WithLabelValues(kind, status).Inc()
	}
}

// Error counts one error.
func (m *Metrics) Error() {
	if m != nil {
		m.errors.Inc()
	}
}

// AWSCall counts one AWS API call of an operation.
func (m *Metrics) AWSCall(operation string) {
	if m != nil {
		m.awsCalls.WithLabelValues(operation).Inc()
	}
}

// CountAWSCalls is an SDK API option (for aws.Config.APIOptions or a
// client's Options.APIOptions) that counts every call the client makes
// by operation name, so that no call site has to.
func (m *Metrics) CountAWSCalls(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("iamprune.CountAWSCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			m.AWSCall(middleware.GetOperationName(ctx))
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// Registry is the registry the counters are in, to add more collectors.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.registry
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
