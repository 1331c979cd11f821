package main

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/config"
	"github.com/iamprune/iamprune/exceptions"
	"github.com/iamprune/iamprune/trigger"
)

// Lambda mode: the binary is the bootstrap of a provided.al2023 function
// when AWS_LAMBDA_RUNTIME_API is set. Each finding event is decided,
// applied and notified exactly as 'iamprune apply --yes' does for that one
// finding, guards included; consent is the deployment itself.

// lambdaDefaultState is the SQLite store used when IAMPRUNE_STATE is unset:
// the only writable place in Lambda, and not durable.
const lambdaDefaultState = "/tmp/iamprune/state.db"

// dedupCapacity bounds the warm process's memory of handled finding versions.
const dedupCapacity = 4096

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
	m    *Main
	mu   sync.Mutex
	seen *lru
	// excs caches S3 exception lists by ETag across warm invocations.
	excs *exceptions.Remote
}

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
	return &lambdaHandler{m: m, seen: newLRU(dedupCapacity)}
}

// lambdaResponse is what an EventBridge or scheduled invocation returns.
type lambdaResponse struct {
	Kind      trigger.Kind        `json:"kind"`
	FindingID string              `json:"finding_id,omitempty"`
	Outcome   string              `json:"outcome"`
	Run       *iamprune.RunResult `json:"run,omitempty"`
}

// Outcomes of one finding event.
const (
	outcomeApplied   = "applied"   // decided and applied (possibly with nothing to change)
	outcomeDeleted   = "deleted"   // isDeleted: ignored
	outcomeDuplicate = "duplicate" // this finding version was handled by this process
	outcomeSwept     = "swept"
)

func (h *lambdaHandler) invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	in, err := trigger.Classify(raw)
	if err != nil {
		h.m.log().Error("malformed event: nothing changed", "error", err.Error())
		return nil, err
	}
	switch in.Kind {
	case trigger.KindFinding:
		return h.finding(ctx, in.Finding)
	case trigger.KindSQS:
		return h.batch(ctx, in.Records)
	default:
		return h.sweep(ctx, in.Sweep)
	}
}

// finding handles one EventBridge event.
func (h *lambdaHandler) finding(ctx context.Context, f *trigger.Finding) (*lambdaResponse, error) {
	if resp := h.skip(f); resp != nil {
		return resp, nil
	}
	run, closeRun, err := h.setup(ctx)
	if err != nil {
		return nil, err
	}
	defer closeRun()
	return h.process(ctx, run, f)
}

// skip answers, without any AWS call, the events that need none.
func (h *lambdaHandler) skip(f *trigger.Finding) *lambdaResponse {
	log := h.m.log().With("finding_id", f.FindingID, "version", f.Version, "event_id", f.EventID)
	switch {
	case f.IsDeleted:
		log.Info("finding deleted: ignored")
		return &lambdaResponse{Kind: trigger.KindFinding, FindingID: f.FindingID, Outcome: outcomeDeleted}
	case h.seen.contains(f.DedupKey()):
		log.Info("finding version already handled by this process: ignored")
		return &lambdaResponse{Kind: trigger.KindFinding, FindingID: f.FindingID, Outcome: outcomeDuplicate}
	}
	return nil
}

// process decides and applies one finding. A failed or refused run is an
// error, so that EventBridge or SQS retries it; apply is idempotent.
func (h *lambdaHandler) process(ctx context.Context, run *lambdaRun, f *trigger.Finding) (*lambdaResponse, error) {
	m := h.m
	sess := newAWSSession(run.aws, run.counter, f.AnalyzerARN)
	// The account's IAM facts are read once per invocation, not once per
	// record of an SQS batch; findings are always read afresh.
	if len(run.changed) > 0 {
		// The live finding names the principal (read once: decide reuses
		// it); its facts are stale if an earlier record changed it.
		if live, err := sess.findings.Finding(ctx, f.FindingID); err == nil && run.changed[live.Resource] {
			run.facts, run.org, run.changed = nil, nil, nil
		}
	}
	if run.facts != nil {
		sess.facts, sess.org = run.facts, run.org
	} else {
		run.facts = sess.facts
	}
	// An analyzer's findings are readable only from its own account: an
	// event from another one was routed here by mistake, and must fail
	// loudly rather than pass as a finding that no longer exists.
	_, acct, err := sess.facts.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if a := arnAccount(f.AnalyzerARN); a != acct {
		return nil, iamprune.Errorf(iamprune.EINVALID, "lambda: event %s names analyzer %s of account %s, but iamprune runs in account %s", f.EventID, f.AnalyzerARN, a, acct)
	}
	org, err := sess.orgFacts(ctx, run.in.cfg.CrossAccount)
	if err != nil {
		return nil, err
	}
	run.org = org
	src := &oneFinding{get: sess.findings, id: f.FindingID, analyzer: f.AnalyzerARN}
	plan, facts, err := m.decide(ctx, src, org, run.in, run.store, fmt.Sprintf("event %s: finding %s of %s", f.EventID, f.FindingID, f.AnalyzerARN))
	if err != nil {
		return nil, err
	}
	res, err := h.apply(ctx, run, &planned{plan: plan, in: run.in, aws: sess, facts: facts, caller: facts.Caller})
	if err != nil {
		return nil, err
	}
	if changedIAM(res) {
		// The cached facts are stale for this principal now: a later
		// record of the batch about it reads IAM afresh.
		if run.changed == nil {
			run.changed = map[string]bool{}
		}
		for _, a := range res.Results {
			run.changed[a.Principal] = true
		}
	}
	resp := &lambdaResponse{Kind: trigger.KindFinding, FindingID: f.FindingID, Outcome: outcomeApplied, Run: res}
	if err := runError(res); err != nil {
		return resp, err
	}
	h.seen.add(f.DedupKey())
	return resp, nil
}

// batch handles an SQS batch: every record is processed, and the failed and
// malformed ones are reported for redelivery (ReportBatchItemFailures).
func (h *lambdaHandler) batch(ctx context.Context, recs []trigger.Record) (lambdaevents.SQSEventResponse, error) {
	var (
		resp     = lambdaevents.SQSEventResponse{BatchItemFailures: []lambdaevents.SQSBatchItemFailure{}}
		run      *lambdaRun
		setupErr error
	)
	fail := func(r trigger.Record, err error) {
		h.m.log().Error("record failed", "message_id", r.MessageID, "error", err.Error())
		resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: r.MessageID})
	}
	defer func() {
		if run != nil {
			run.close()
		}
	}()
	for _, r := range recs {
		if r.Err != nil {
			fail(r, r.Err)
			continue
		}
		if h.skip(r.Finding) != nil {
			continue
		}
		// Set up once, and only when a record needs it.
		if run == nil && setupErr == nil {
			run, setupErr = h.setupRun(ctx)
		}
		if setupErr != nil {
			fail(r, setupErr)
			continue
		}
		if _, err := h.process(ctx, run, r.Finding); err != nil {
			fail(r, err)
		}
	}
	h.m.log().Info("batch done", "records", len(recs), "failed", len(resp.BatchItemFailures))
	return resp, nil
}

// sweep plans every ACTIVE finding of the analyzer and applies the plan:
// reconciliation, reminders, expiring exceptions and delayed deletes.
func (h *lambdaHandler) sweep(ctx context.Context, s *trigger.Sweep) (*lambdaResponse, error) {
	m := h.m
	m.log().Info("sweep", "source", s.Source, "id", s.ID)
	run, closeRun, err := h.setup(ctx)
	if err != nil {
		return nil, err
	}
	defer closeRun()
	analyzer := firstNonEmpty(run.in.cfg.Analyzer, iamprune.AnalyzerAuto)
	sess := newAWSSession(run.aws, run.counter, analyzer)
	// A sweep runs in the function's own account: a schedule of another
	// account routed here must not sweep this one.
	_, acct, err := sess.facts.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if s.Account != "" && s.Account != acct && !slices.Contains(run.in.cfg.Accounts, s.Account) {
		return nil, iamprune.Errorf(iamprune.EINVALID, "lambda: sweep event %s is for account %s, but iamprune runs in account %s (and %s is not in the config's accounts allowlist): nothing done", s.ID, s.Account, acct, s.Account)
	}
	org, err := sess.orgFacts(ctx, run.in.cfg.CrossAccount)
	if err != nil {
		return nil, err
	}
	plan, facts, err := m.decide(ctx, sess.findings, org, run.in, run.store, "analyzer "+analyzer)
	if err != nil {
		return nil, err
	}
	m.logUnreachable(facts)
	m.warnNoChannels(run.in.cfg, plan)
	res, err := h.apply(ctx, run, &planned{plan: plan, in: run.in, aws: sess, facts: facts, caller: facts.Caller})
	if err != nil {
		return nil, err
	}
	resp := &lambdaResponse{Kind: trigger.KindSweep, Outcome: outcomeSwept, Run: res}
	return resp, runError(res)
}

// apply runs what 'apply --yes' runs after its plan, auditing to stderr.
func (h *lambdaHandler) apply(ctx context.Context, run *lambdaRun, p *planned) (*iamprune.RunResult, error) {
	m := h.m
	caller, acct, err := p.aws.facts.Caller(ctx)
	if err != nil {
		return nil, err
	}
	p.caller = caller
	if err := m.proposePreflight(p.in.cfg, p.plan); err != nil {
		return nil, err
	}
	opts := m.applyOptions(p, run.store, acct, caller, m.Stderr)
	res, err := m.applyAndNotify(ctx, p, run.store, opts, acct)
	if err != nil {
		return nil, err
	}
	m.log().Info("run done", "run_id", res.RunID, "account", acct, "results", len(res.Results),
		"refused", res.Refused, "failed", res.Failed(), "aws_calls", run.counter.Total())
	return res, nil
}

// changedIAM reports whether a run changed anything in IAM (or may have).
func changedIAM(res *iamprune.RunResult) bool {
	for _, a := range res.Results {
		if a.Status == iamprune.ResultDone || a.Status == iamprune.ResultFailed {
			return true
		}
	}
	return false
}

// runError makes a failed or refused run an error for the runtime.
func runError(res *iamprune.RunResult) error {
	if res.Refused != "" {
		return fmt.Errorf("apply refused: %s", res.Refused)
	}
	var failed []string
	for _, a := range res.Results {
		if a.Status == iamprune.ResultFailed {
			failed = append(failed, fmt.Sprintf("%s %s: %s", a.Kind, a.Target, a.Detail))
		}
	}
	// A lost notice fails the run too: prior notice is what later allows
	// remediation.
	for _, n := range res.Notifications {
		if n.Status != iamprune.NoticeSent {
			failed = append(failed, fmt.Sprintf("notice to %s (%s): %s", n.Channel, n.Route, n.Error))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("run %s: %d action(s) or notice(s) failed: %s", res.RunID, len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// lambdaRun is what one invocation reads its inputs from and writes to.
type lambdaRun struct {
	in      planInputs
	aws     aws.Config
	counter *awsapi.Counter
	store   iamprune.Store
	// facts and org cache the accounts' IAM facts (and assumed roles) for
	// the invocation.
	facts *awsapi.Facts
	org   *awsapi.OrgFacts
	// changed are the principals this invocation changed: their cached
	// facts are stale.
	changed map[string]bool
}

func (r *lambdaRun) close() { r.store.Close() }

func (h *lambdaHandler) setup(ctx context.Context) (*lambdaRun, func(), error) {
	run, err := h.setupRun(ctx)
	if err != nil {
		return nil, nil, err
	}
	return run, run.close, nil
}

// setupRun loads the AWS configuration, the inputs and the state store.
func (h *lambdaHandler) setupRun(ctx context.Context) (*lambdaRun, error) {
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
	return &lambdaRun{in: in, aws: cfg, counter: counter, store: store}, nil
}

// inputs reads the config (IAMPRUNE_CONFIG_YAML inline, or IAMPRUNE_CONFIG:
// a path or s3://bucket/key), its exceptions and IAMPRUNE_NOW.
func (h *lambdaHandler) inputs(ctx context.Context, awsCfg aws.Config) (planInputs, error) {
	m := h.m
	now, err := lambdaNow(m.Getenv("IAMPRUNE_NOW"))
	if err != nil {
		return planInputs{}, err
	}
	if now.IsZero() {
		now = m.Now().UTC()
	}
	src, inline := m.Getenv("IAMPRUNE_CONFIG"), m.Getenv("IAMPRUNE_CONFIG_YAML")
	cfg := iamprune.DefaultConfig()
	switch {
	case src != "" && inline != "":
		return planInputs{}, iamprune.Errorf(iamprune.EINVALID, "lambda: IAMPRUNE_CONFIG and IAMPRUNE_CONFIG_YAML are both set; set one")
	case inline != "":
		cfg, err = config.Parse([]byte(inline), "IAMPRUNE_CONFIG_YAML")
	case strings.HasPrefix(src, "s3://"):
		var bucket, key string
		if bucket, key, err = awsapi.ParseS3URL(src); err != nil {
			return planInputs{}, err
		}
		body, _, _, gerr := awsapi.NewS3Object(awsCfg).Get(ctx, bucket, key, "")
		if iamprune.ErrorCode(gerr) == iamprune.ENOTFOUND {
			return planInputs{}, iamprune.Errorf(iamprune.EINVALID, "lambda: IAMPRUNE_CONFIG: %s does not exist", src)
		}
		if gerr != nil {
			return planInputs{}, fmt.Errorf("lambda: IAMPRUNE_CONFIG: %w", gerr)
		}
		cfg, err = config.Parse(body, src)
	case src != "":
		cfg, err = config.Load(src)
	}
	if err != nil {
		return planInputs{}, err
	}
	m.configureAWS(cfg.AWS)
	if err := withStackTopic(&cfg.Notifications, m.Getenv("IAMPRUNE_SNS_TOPIC_ARN")); err != nil {
		return planInputs{}, err
	}
	var excs []iamprune.Exception
	if exc := resolveExceptions(cfg.Exceptions, src); strings.HasPrefix(exc, "s3://") {
		if h.excs == nil {
			h.excs = exceptions.NewRemote(awsapi.NewCachedObjects(awsapi.NewS3Object(awsCfg)))
		}
		excs, err = h.excs.Load(ctx, exc)
	} else if exc != "" {
		excs, err = exceptions.Load(exc)
	}
	if err != nil {
		return planInputs{}, err
	}
	excs, warnings := h.m.gateExceptions(excs, cfg, now)
	return planInputs{cfg: cfg, exceptions: excs, now: now, warnings: warnings}, nil
}

// stackTopicChannel names the channel IAMPRUNE_SNS_TOPIC_ARN adds.
const stackTopicChannel = "stack-topic"

// withStackTopic adds the stack's SNS topic (IAMPRUNE_SNS_TOPIC_ARN) as a
// channel, unless the config already publishes to it, and makes it the
// default destination when the config names none: a stack deployed
// without notification settings still tells someone.
func withStackTopic(n *iamprune.Notifications, topic string) error {
	if topic == "" {
		return nil
	}
	for _, c := range n.Channels {
		if c.Type == iamprune.ChannelSNS && c.TopicARN == topic {
			return nil
		}
	}
	n.Channels = append(n.Channels, iamprune.Channel{Name: stackTopicChannel, Type: iamprune.ChannelSNS, TopicARN: topic})
	if len(n.Default) == 0 {
		n.Default = []string{stackTopicChannel}
	}
	if err := n.Validate(); err != nil {
		return iamprune.Errorf(iamprune.EINVALID, "lambda: IAMPRUNE_SNS_TOPIC_ARN: %v", err)
	}
	return nil
}

// resolveExceptions makes the config's relative exceptions path relative to
// the config: its directory, or its S3 prefix.
func resolveExceptions(exc, configSrc string) string {
	if exc == "" || configSrc == "" || strings.Contains(exc, "://") || filepath.IsAbs(exc) {
		return exc
	}
	if rest, ok := strings.CutPrefix(configSrc, "s3://"); ok {
		bucket, key, _ := strings.Cut(rest, "/")
		return "s3://" + bucket + "/" + strings.TrimPrefix(path.Join(path.Dir(key), exc), "/")
	}
	return filepath.Join(filepath.Dir(configSrc), exc)
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

// oneFinding is a FindingSource yielding the one finding an event names,
// read as it is now (GetFindingV2, every page): the event is only a
// trigger. A finding gone since the event yields nothing, with a warning.
type oneFinding struct {
	get      iamprune.FindingGetter
	id       string
	analyzer string
}

var _ iamprune.FindingSource = (*oneFinding)(nil)

func (s *oneFinding) Findings(ctx context.Context) ([]iamprune.Finding, []iamprune.Warning, error) {
	f, err := s.get.Finding(ctx, s.id)
	if iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
		return nil, []iamprune.Warning{{Source: s.analyzer, Message: fmt.Sprintf("finding %s no longer exists: nothing to do", s.id)}}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return []iamprune.Finding{*f}, nil, nil
}

// arnAccount is the account field of an ARN.
func arnAccount(arn string) string {
	if p := strings.SplitN(arn, ":", 6); len(p) == 6 {
		return p[4]
	}
	return ""
}

// lru is a bounded set that forgets the least recently used key first.
type lru struct {
	cap   int
	order *list.List // front: newest
	keys  map[string]*list.Element
}

func newLRU(capacity int) *lru {
	return &lru{cap: capacity, order: list.New(), keys: map[string]*list.Element{}}
}

func (l *lru) contains(k string) bool {
	e, ok := l.keys[k]
	if ok {
		l.order.MoveToFront(e)
	}
	return ok
}

func (l *lru) add(k string) {
	if e, ok := l.keys[k]; ok {
		l.order.MoveToFront(e)
		return
	}
	l.keys[k] = l.order.PushFront(k)
	if l.order.Len() > l.cap {
		old := l.order.Back()
		l.order.Remove(old)
		delete(l.keys, old.Value.(string))
	}
}
