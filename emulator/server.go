// Package emulator serves a snapshot as a local AWS endpoint over the real
// wire protocols: IAM, STS and SNS (Query, XML responses), Access Analyzer
// (REST-JSON), S3 (REST-XML, in-memory buckets) and SQS (AWS JSON 1.0,
// in-memory queues with long polling, visibility timeouts and redrive).
// The service is chosen from the SigV4 signing name in the Authorization
// header; any credentials are accepted and signatures are not verified.
// Every request is recorded in a call log so that tests can prove that a
// client never makes the same call twice.
//
// The emulator holds its own copy of the snapshot's IAM state and
// implements the IAM write operations that iamprune's remediations and
// rollbacks use, with IAM's errors and quotas, so that an apply can be run
// and checked end to end; likewise the archive-rule operations,
// UpdateFindings, the S3 object calls that exception sync and its
// readers use, and the SNS topic operations and Publish that notifications
// use, and the SQS queue operations a queue consumer uses. It serves the
// credential report and service-last-accessed jobs (iam_credreport.go,
// iam_last_accessed.go). Test hooks
// (Dump, Mark*, SetFindingStatus, AddArchiveRule, PutObject, Object,
// Published, Messages, FailNext) let tests inspect that state and
// simulate the world changing; faults.go adds seeded throttling, latency
// and write holds, and control.go serves the fault controls, the dump and
// the counters over HTTP under ControlPath (docs/emulator.md).
//
// One emulator can serve an organisation: AddMember adds member accounts,
// each with its own state and hooks, and sts:AssumeRole issues temporary
// credentials that route later requests to the role's account (see
// accounts.go).
//
// It imports the root, snapshot and policy, never the AWS clients it exists
// to test; cmd, demo and tests import it (emulator/emulatortest starts it
// for tests).
package emulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iamprune/iamprune/snapshot"
)

// Options tunes the emulator.
type Options struct {
	// PageSize is the default IAM MaxItems and Access Analyzer maxResults,
	// and the SNS ListTopics page; 0 means AWS's default (100).
	PageSize int
	// ThrottleEvery answers every Nth request with the service's throttling
	// error, to exercise client retries; 0 never throttles.
	ThrottleEvery int
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger
	// Now is the clock for the dates writes record (CreateDate of new
	// policies, versions and login profiles, archive rules, finding
	// updates, S3 objects) and for the expiry of assumed-role credentials;
	// nil means time.Now. SDK credential caches judge expiry by the real
	// clock: a Now fixed in the past makes them assume the role again
	// before every call.
	Now func() time.Time
	// MaxArchiveRules is the analyzer's archive-rule quota; 0 means AWS's
	// default (100).
	MaxArchiveRules int
	// Buckets are S3 buckets that exist from the start, empty. Objects are
	// added with PutObject, over the wire or through the hook.
	Buckets []string
	// S3VirtualHost is the host name under which S3 requests address a
	// bucket by subdomain (BUCKET.S3VirtualHost[:port]); other requests
	// are path-style (/BUCKET/KEY). "" means "localhost".
	S3VirtualHost string
	// Topics are the names of SNS topics that exist from the start, in the
	// snapshot's account and region; a name ending in .fifo makes a FIFO
	// topic. TopicARN gives their ARNs.
	Topics []string
	// Queues are the names of SQS standard queues that exist from the
	// start, empty, with SQS's default attributes. Queues with a redrive
	// policy are made with CreateQueue.
	Queues []string
}

// Call is one request the emulator answered. Params is a canonical rendering
// of the request parameters: the sorted form values without Action and
// Version for Query services; the path, sorted query and canonical JSON body
// for REST services. Two calls with equal fields asked the same thing.
type Call struct {
	Service   string
	Operation string
	Params    string
}

// Server is the emulator. It implements http.Handler.
type Server struct {
	st       *state
	pageSize int
	every    int64
	log      *slog.Logger
	now      func() time.Time
	maxRules int
	s3Host   string
	sqs      *sqsState
	// recsStore holds the finding-recommendation jobs (recommendations.go).
	recsOnce  sync.Once
	recsStore *recStore
	// usage holds the credential report and service-last-accessed jobs.
	usage *usageStore
	// hubStore holds the account's Security Hub findings (securityhub.go).
	hubOnce  sync.Once
	hubStore *hubState

	requests atomic.Int64

	mu          sync.Mutex
	calls       []Call
	invocations []string // the SDK invocation id of each call, for Duplicates
	throttled   []Call
	injected    []Call
	failNext    map[string]injection
	srv         *http.Server

	// opts are the options New was given, for members; org is the
	// organisation this server belongs to (see AddMember).
	opts Options
	org  *org
}

// maxBody bounds request bodies; real requests here are a few kilobytes.
const maxBody = 10 << 20

// New returns an emulator serving a deep copy of snap: writes change the
// emulator's state, never snap.
func New(snap *snapshot.Snapshot, opts Options) *Server {
	s := newServer(snap, opts, nil)
	s.org = newOrg(s)
	return s
}

// newServer builds one account's server in organisation o.
func newServer(snap *snapshot.Snapshot, opts Options, o *org) *Server {
	s := &Server{
		opts:     opts,
		org:      o,
		st:       newState(snap),
		pageSize: opts.PageSize,
		every:    int64(opts.ThrottleEvery),
		log:      opts.Logger,
		now:      opts.Now,
		maxRules: opts.MaxArchiveRules,
		s3Host:   strings.ToLower(opts.S3VirtualHost),
		sqs:      newSQSState(),
		usage:    newUsageStore(snap),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxRules <= 0 {
		s.maxRules = defaultMaxArchiveRules
	}
	if s.s3Host == "" {
		s.s3Host = "localhost"
	}
	for _, b := range opts.Buckets {
		s.st.buckets[b] = &s3Bucket{name: b, created: s.stamp(), objects: map[string]*s3Object{}}
	}
	for _, name := range opts.Topics {
		s.st.addTopic(name, nil, nil)
	}
	for _, name := range opts.Queues {
		s.sqs.add(s.sqsQueueARN(name), name, defaultQueueAttrs(), nil)
	}
	if s.pageSize <= 0 {
		s.pageSize = defaultPageSize
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// stamp is the time a write records, at IAM's precision of one second.
func (s *Server) stamp() time.Time { return s.now().UTC().Truncate(time.Second) }

// Start listens on addr (for example 127.0.0.1:0) and serves in the
// background. It returns the endpoint URL to give clients.
func (s *Server) Start(addr string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return "", errors.New("emulator: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("emulator: cannot listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	s.srv = srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("emulator: serve failed", "err", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// Close stops a started server gracefully, waiting for requests in flight
// until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	// Shutdown treats a client's freshly dialled, still unused connection as
	// busy for five seconds; an emulator has nothing to drain, so give
	// in-flight requests a moment and then close the rest.
	grace, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return srv.Close()
		}
		return fmt.Errorf("emulator: shutdown: %w", err)
	}
	return nil
}

// Calls returns the calls answered so far, in order, throttled ones excluded.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Throttled returns the requests answered with an injected throttling error.
func (s *Server) Throttled() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.throttled...)
}

// ResetCalls empties the call log, the throttled log and the log of
// injected failures of this account (not of the organisation's others).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.invocations, s.throttled, s.injected = nil, nil, nil, nil
}

// Duplicates returns each call that was answered more than once, once, in
// the order of its first occurrence.
func (s *Server) Duplicates() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return duplicates(s.calls, s.invocations)
}

// polls are the operations a client repeats by design until a job is done.
var polls = map[string]bool{"GenerateCredentialReport": true, "GetServiceLastAccessedDetails": true}

// duplicates returns the calls made more than once. A retry of the same SDK
// invocation (same amz-sdk-invocation-id header, after a throttle or a
// transport error) is the same call, not a repeat; polls are not repeats.
func duplicates(calls []Call, invocations []string) []Call {
	ids := make(map[Call]map[string]bool, len(calls))
	var dups []Call
	for i, c := range calls {
		if polls[c.Operation] {
			continue
		}
		id := invocations[i]
		if id == "" {
			id = fmt.Sprintf("#%d", i) // no SDK header: every request counts
		}
		if ids[c] == nil {
			ids[c] = map[string]bool{}
		}
		if ids[c][id] {
			continue
		}
		ids[c][id] = true
		if len(ids[c]) == 2 {
			dups = append(dups, c)
		}
	}
	return dups
}

// DuplicatesSince is Duplicates over the calls after the first n, for a
// caller that only cares about the latest run.
func (s *Server) DuplicatesSince(n int) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > len(s.calls) {
		n = len(s.calls)
	}
	return duplicates(s.calls[n:], s.invocations[n:])
}

// admit decides whether a request is served or throttled, and logs it.
// Throttled requests go to a separate log so that Duplicates is about real
// calls only.
func (s *Server) admit(c Call, r *http.Request) bool {
	n := s.requests.Add(1)
	s.mu.Lock()
	throttle := s.every > 0 && n%s.every == 0
	s.mu.Unlock()
	throttle = s.org.faults.throttle() || throttle
	// A request throttled otherwise takes no token, as AWS's would not.
	throttle = throttle || !s.org.limits.take(s.Account(), c.Service, c.Operation)
	s.mu.Lock()
	if throttle {
		s.throttled = append(s.throttled, c)
	} else {
		s.calls = append(s.calls, c)
		s.invocations = append(s.invocations, r.Header.Get("Amz-Sdk-Invocation-Id"))
	}
	s.mu.Unlock()
	s.log.Debug("emulator request", "service", c.Service, "operation", c.Operation, "throttled", throttle)
	return !throttle
}

// ServeHTTP routes a request to the account its access key acts in (see
// AddMember), then dispatches on the SigV4 signing name.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ControlPath) {
		s.serveControl(w, r)
		return
	}
	r, held := withHoldSlot(r)
	defer held()
	reqID := newRequestID()
	service, akid, aerr := credentialScope(r.Header.Get("Authorization"))
	if aerr != nil {
		s.writeUnrouted(w, r, reqID, aerr)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if service == "s3" {
			writeS3Error(w, r, reqID, errorf(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size of the emulator (%d bytes): %v", maxBody, err))
			return
		}
		s.writeUnrouted(w, r, reqID, errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "request body too large or unreadable: %v", err))
		return
	}
	target, caller, aerr := s.route(akid, r, service)
	if aerr != nil {
		s.writeServiceError(w, r, reqID, service, aerr)
		return
	}
	target.dispatch(w, withCaller(r, caller), body, reqID, service)
}

// dispatch serves a request in this server's account.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, body []byte, reqID, service string) {
	switch service {
	case "iam":
		s.serveQuery(w, r, body, reqID, iamService)
	case "sts":
		s.serveQuery(w, r, body, reqID, stsService)
	case "sns":
		s.serveQuery(w, r, body, reqID, snsService)
	case "access-analyzer":
		s.serveAnalyzer(w, r, body, reqID)
	case "s3":
		s.serveS3(w, r, body, reqID)
	case "sqs":
		s.serveSQS(w, r, body, reqID)
	case "securityhub":
		s.serveSecurityHub(w, r, body, reqID)
	default:
		s.writeUnrouted(w, r, reqID, notImplemented(service))
	}
}

// writeUnrouted answers a request whose service is unknown, in the shape
// its client most likely parses: Query XML for form posts, JSON otherwise.
func (s *Server) writeUnrouted(w http.ResponseWriter, r *http.Request, reqID string, e *apiError) {
	s.log.Debug("emulator request rejected", "method", r.Method, "path", r.URL.Path, "code", e.Code)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		writeQueryError(w, "", reqID, e)
		return
	}
	writeJSONError(w, reqID, e)
}

// signingName extracts the service from
// "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...".
func signingName(auth string) (string, *apiError) {
	service, _, err := credentialScope(auth)
	return service, err
}

// credentialScope extracts the service and the access key id from
// "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...".
func credentialScope(auth string) (service, akid string, _ *apiError) {
	if strings.TrimSpace(auth) == "" {
		return "", "", missingAuth()
	}
	alg, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if alg != "AWS4-HMAC-SHA256" && alg != "AWS4-ECDSA-P256-SHA256" {
		return "", "", incompleteSignature("Authorization header requires a supported signature algorithm, got %q", alg)
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k != "Credential" {
			continue
		}
		scope := strings.Split(v, "/")
		if len(scope) != 5 || scope[0] == "" || scope[3] == "" || scope[4] != "aws4_request" {
			return "", "", incompleteSignature("Authorization header requires a well-formed 'Credential' parameter (AKID/DATE/REGION/SERVICE/aws4_request), got %q", v)
		}
		return scope[3], scope[0], nil
	}
	return "", "", incompleteSignature("Authorization header requires 'Credential' parameter")
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sortedKeys returns m's keys in order, for canonical renderings.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
