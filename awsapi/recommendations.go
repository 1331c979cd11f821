package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/smithy-go"

	"github.com/iamprune/iamprune"
)

// Polling defaults of Recommender: recommendations usually take seconds,
// sometimes a minute for principals with many policies.
const (
	DefaultRecommendationTimeout = 60 * time.Second
	defaultRecInitialDelay       = 200 * time.Millisecond
	defaultRecMaxDelay           = 5 * time.Second
)

// Recommender reads Access Analyzer's own recommendations for
// UnusedPermission findings (GenerateFindingRecommendation, then
// GetFindingRecommendation polled until it finishes, every page merged),
// for comparison with iamprune's refinement. Each finding's recommendation
// is asked for once per Recommender, however often and however
// concurrently it is requested. It is safe for concurrent use.
type Recommender struct {
	client   *accessanalyzer.Client
	analyzer string
	opts     recommenderOptions

	mu       sync.Mutex
	cache    map[string]*recCall
	warnings []iamprune.Warning
}

// recCall is one finding's recommendation, shared by every caller.
type recCall struct {
	done chan struct{}
	rec  iamprune.Recommendation
	err  error
}

// RecommenderOption configures NewRecommender.
type RecommenderOption func(*recommenderOptions)

type recommenderOptions struct {
	logger           *slog.Logger
	initial, maxWait time.Duration
	timeout          time.Duration
	now              func() time.Time
	sleep            func(context.Context, time.Duration) error
}

// WithRecommendationTimeout bounds the wait for one recommendation, from
// its GenerateFindingRecommendation call (default 60s). A recommendation
// still running then is returned as IN_PROGRESS, not as an error.
func WithRecommendationTimeout(d time.Duration) RecommenderOption {
	return func(o *recommenderOptions) { o.timeout = d }
}

// WithRecommendationBackoff sets the first wait between polls and its cap
// (defaults 200ms and 5s); each wait doubles the previous one.
func WithRecommendationBackoff(initial, maxWait time.Duration) RecommenderOption {
	return func(o *recommenderOptions) { o.initial, o.maxWait = initial, maxWait }
}

// WithRecommendationClock replaces the clock and the sleep between polls
// (sleep returns early with ctx's error when ctx ends), for tests.
func WithRecommendationClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) RecommenderOption {
	return func(o *recommenderOptions) { o.now, o.sleep = now, sleep }
}

// WithRecommendationLogger receives warnings (unknown step types) and a
// debug line per poll.
func WithRecommendationLogger(l *slog.Logger) RecommenderOption {
	return func(o *recommenderOptions) { o.logger = l }
}

// NewRecommender returns a Recommender for the analyzer with this ARN
// (resolve "auto" first with FindingSource.AnalyzerARN), called in the
// analyzer's region whatever cfg's region is.
func NewRecommender(cfg aws.Config, analyzerARN string, opts ...RecommenderOption) *Recommender {
	o := recommenderOptions{
		initial: defaultRecInitialDelay, maxWait: defaultRecMaxDelay, timeout: DefaultRecommendationTimeout,
		now: time.Now, sleep: sleepCtx,
	}
	for _, fn := range opts {
		fn(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.initial <= 0 {
		o.initial = defaultRecInitialDelay
	}
	o.maxWait = max(o.maxWait, o.initial)
	region := cfg.Region
	if a, _ := iamprune.SplitARN(analyzerARN); isAnalyzerARN(analyzerARN) && a.Region != "" {
		region = a.Region
	}
	return &Recommender{
		client: accessanalyzer.NewFromConfig(cfg, func(ao *accessanalyzer.Options) {
			ao.Region = region
		}),
		analyzer: analyzerARN,
		opts:     o,
		cache:    map[string]*recCall{},
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Recommendation returns Access Analyzer's recommendation for an
// UnusedPermission finding: SUCCEEDED with its steps, FAILED with the
// service's error, or IN_PROGRESS when it did not finish within the
// timeout (Error then says so). Errors are for calls that failed: a
// finding that does not exist is ENOTFOUND, a finding of another type
// EINVALID. The result, error included, is remembered for the
// Recommender's life, except when ctx ended, so that another call may
// try again.
func (r *Recommender) Recommendation(ctx context.Context, findingID string) (iamprune.Recommendation, error) {
	r.mu.Lock()
	if c, ok := r.cache[findingID]; ok {
		r.mu.Unlock()
		select {
		case <-c.done:
			return cloneRecommendation(c.rec), c.err
		case <-ctx.Done():
			return iamprune.Recommendation{FindingID: findingID}, ctx.Err()
		}
	}
	c := &recCall{done: make(chan struct{})}
	r.cache[findingID] = c
	r.mu.Unlock()

	c.rec, c.err = r.fetch(ctx, findingID)
	if c.err != nil && ctx.Err() != nil {
		r.mu.Lock()
		delete(r.cache, findingID)
		r.mu.Unlock()
	}
	close(c.done)
	return cloneRecommendation(c.rec), c.err
}

// Warnings returns the problems met so far that did not stop a
// recommendation: steps of types this version does not know, unreadable
// recommended documents.
func (r *Recommender) Warnings() []iamprune.Warning {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.warnings)
}

func (r *Recommender) warn(findingID, format string, args ...any) {
	w := iamprune.Warning{Source: "finding " + findingID, Message: fmt.Sprintf(format, args...)}
	r.opts.logger.Warn("access analyzer recommendation: "+w.Message, "finding", findingID)
	r.mu.Lock()
	r.warnings = append(r.warnings, w)
	r.mu.Unlock()
}

func cloneRecommendation(rec iamprune.Recommendation) iamprune.Recommendation {
	rec.Steps = slices.Clone(rec.Steps)
	return rec
}

func (r *Recommender) fetch(ctx context.Context, id string) (iamprune.Recommendation, error) {
	rec := iamprune.Recommendation{FindingID: id}
	if !isAnalyzerARN(r.analyzer) {
		return rec, iamprune.Errorf(iamprune.EINVALID, "accessanalyzer: recommendations need an analyzer ARN, got %q", r.analyzer)
	}
	start := r.opts.now()
	_, err := r.client.GenerateFindingRecommendation(ctx, &accessanalyzer.GenerateFindingRecommendationInput{
		AnalyzerArn: aws.String(r.analyzer), Id: aws.String(id),
	})
	if err != nil && apiCode(err) == "ConflictException" {
		// A job for this finding is already running: wait for it.
		r.opts.logger.Debug("recommendation already being generated", "finding", id)
		err = nil
	}
	if err != nil {
		return rec, r.callError("generate a recommendation for", id, err)
	}
	deadline := start.Add(r.opts.timeout)
	wait := r.opts.initial
	for {
		out, err := r.client.GetFindingRecommendation(ctx, &accessanalyzer.GetFindingRecommendationInput{
			AnalyzerArn: aws.String(r.analyzer), Id: aws.String(id),
		})
		if err != nil {
			return rec, r.callError("get the recommendation for", id, err)
		}
		r.opts.logger.Debug("recommendation polled", "finding", id, "status", out.Status)
		if out.Status != types.StatusInProgress {
			return r.finish(ctx, id, out)
		}
		now := r.opts.now()
		if !now.Before(deadline) {
			rec.Status, rec.Type = string(out.Status), string(out.RecommendationType)
			rec.Error = fmt.Sprintf("not finished after %s", r.opts.timeout)
			return rec, nil
		}
		if err := r.opts.sleep(ctx, min(wait, deadline.Sub(now))); err != nil {
			return rec, fmt.Errorf("accessanalyzer: waiting for the recommendation for finding %s: %w", id, err)
		}
		wait = min(2*wait, r.opts.maxWait)
	}
}

// finish reads the remaining pages of a finished recommendation.
func (r *Recommender) finish(ctx context.Context, id string, out *accessanalyzer.GetFindingRecommendationOutput) (iamprune.Recommendation, error) {
	rec := iamprune.Recommendation{FindingID: id, Status: string(out.Status), Type: string(out.RecommendationType)}
	if e := out.Error; e != nil {
		rec.Error = strings.TrimPrefix(deref(e.Code)+": "+deref(e.Message), ": ")
	}
	seen := map[string]bool{}
	for {
		for i, s := range out.RecommendedSteps {
			if st, ok := r.convertStep(id, len(rec.Steps)+i, s); ok {
				rec.Steps = append(rec.Steps, st)
			}
		}
		token := deref(out.NextToken)
		if token == "" {
			return rec, nil
		}
		if seen[token] {
			return rec, fmt.Errorf("accessanalyzer: recommendation for finding %s: the service repeated page token %q", id, token)
		}
		seen[token] = true
		var err error
		out, err = r.client.GetFindingRecommendation(ctx, &accessanalyzer.GetFindingRecommendationInput{
			AnalyzerArn: aws.String(r.analyzer), Id: aws.String(id), NextToken: aws.String(token),
		})
		if err != nil {
			return rec, r.callError("get the recommendation for", id, err)
		}
	}
}

// convertStep converts one recommendedSteps union value; members this
// version does not know are skipped with a warning.
func (r *Recommender) convertStep(id string, i int, s types.RecommendedStep) (iamprune.RecommendedStep, bool) {
	m, ok := s.(*types.RecommendedStepMemberUnusedPermissionsRecommendedStep)
	if !ok {
		name := fmt.Sprintf("%T", s)
		if u, isUnknown := s.(*types.UnknownUnionMember); isUnknown {
			name = u.Tag
		}
		r.warn(id, "recommendedSteps[%d]: unknown step type %q skipped", i, name)
		return iamprune.RecommendedStep{}, false
	}
	v := m.Value
	st := iamprune.RecommendedStep{
		Action:           string(v.RecommendedAction),
		ExistingPolicyID: deref(v.ExistingPolicyId),
		PolicyUpdatedAt:  utcPtr(v.PolicyUpdatedAt),
	}
	if doc := deref(v.RecommendedPolicy); doc != "" {
		p, err := compactPolicy(doc)
		if err != nil {
			// Kept without a document: the comparison reports it.
			r.warn(id, "recommendedSteps[%d]: recommended policy for %q is unreadable: %v", i, st.ExistingPolicyID, err)
		}
		st.Policy = p
	}
	return st, true
}

// compactPolicy reads a policy document string as compact JSON. The
// service sends JSON text; URL-encoded text, as IAM returns documents, is
// accepted too.
func compactPolicy(doc string) (json.RawMessage, error) {
	text := strings.TrimSpace(doc)
	if !strings.HasPrefix(text, "{") {
		dec, err := url.PathUnescape(text)
		if err != nil {
			return nil, fmt.Errorf("neither JSON nor URL-encoded JSON: %w", err)
		}
		text = dec
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(text)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// isAnalyzerARN: arn:PARTITION:access-analyzer:REGION:ACCOUNT:analyzer/NAME.
func isAnalyzerARN(s string) bool {
	a, ok := iamprune.SplitARN(s)
	return ok && a.Service == "access-analyzer" && strings.HasPrefix(a.Resource, "analyzer/")
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// callError wraps a failed call, keeping the SDK error in the chain; a
// missing finding or analyzer is ENOTFOUND, a finding of another type
// EINVALID.
func (r *Recommender) callError(what, id string, err error) error {
	msg := fmt.Sprintf("accessanalyzer: cannot %s finding %s of %s", what, id, r.analyzer)
	switch apiCode(err) {
	case "ResourceNotFoundException":
		return &iamprune.Error{Code: iamprune.ENOTFOUND, Message: msg, Err: err}
	case "ValidationException":
		return &iamprune.Error{Code: iamprune.EINVALID, Message: msg, Err: err}
	}
	return fmt.Errorf("%s: %w", msg, err)
}
