package emulator

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SQS (AWS JSON 1.0, as the SDK's query-compatible client speaks it:
// X-Amz-Target: AmazonSQS.Operation): standard queues held in memory,
// with long polling, visibility timeouts, receive counts and redrive to a
// dead-letter queue, which is what a queue consumer needs to be tested
// against. FIFO queues, message attributes, retention expiry and the
// other SQS operations are not implemented.
//
// Queues have their own lock, not the account state's, because a long
// poll waits without holding it. Visibility timeouts and delays run on
// the wall clock (Options.Now does not apply), because long polling
// waits on it.

// sqsOps are the implemented operations by X-Amz-Target suffix.
var sqsOps = map[string]func(*Server, sqsRequest) (any, *apiError){
	"CreateQueue":             (*Server).createQueue,
	"GetQueueUrl":             (*Server).getQueueURL,
	"GetQueueAttributes":      (*Server).getQueueAttributes,
	"SendMessage":             (*Server).sendMessage,
	"SendMessageBatch":        (*Server).sendMessageBatch,
	"ReceiveMessage":          (*Server).receiveMessage,
	"ChangeMessageVisibility": (*Server).changeMessageVisibility,
	"DeleteMessage":           (*Server).deleteMessage,
	"DeleteMessageBatch":      (*Server).deleteMessageBatch,
}

// sqsWrites are the operations that change queues; ReceiveMessage is one,
// since it hides messages and counts receives.
var sqsWrites = map[string]bool{
	"CreateQueue": true, "SendMessage": true, "SendMessageBatch": true, "ReceiveMessage": true,
	"ChangeMessageVisibility": true, "DeleteMessage": true, "DeleteMessageBatch": true,
}

// sqsRequest is one decoded SQS request.
type sqsRequest struct {
	ctx  context.Context
	base string // scheme://host of the request, for queue URLs
	body []byte
}

func (r sqsRequest) decode(v any) *apiError {
	if len(strings.TrimSpace(string(r.body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return sqsError("InvalidParameterValue", "cannot parse request body: %v", err)
	}
	return nil
}

type sqsState struct {
	mu     sync.Mutex
	queues map[string]*sqsQueue // by name
	// wake is closed and replaced whenever a message may have become
	// receivable, to end long polls early.
	wake chan struct{}
}

func newSQSState() *sqsState {
	return &sqsState{queues: map[string]*sqsQueue{}, wake: make(chan struct{})}
}

// notify wakes the long polls. Callers hold mu.
func (q *sqsState) notify() {
	close(q.wake)
	q.wake = make(chan struct{})
}

func (q *sqsState) add(arn, name string, attrs map[string]string, redrive *redrivePolicy) *sqsQueue {
	now := time.Now()
	qu := &sqsQueue{name: name, arn: arn, attrs: attrs, redrive: redrive, created: now, handles: map[string]*sqsMessage{}}
	q.mu.Lock()
	q.queues[name] = qu
	q.mu.Unlock()
	return qu
}

// byARN finds a queue by ARN. Callers hold mu.
func (q *sqsState) byARN(arn string) *sqsQueue {
	for _, qu := range q.queues {
		if qu.arn == arn {
			return qu
		}
	}
	return nil
}

type sqsQueue struct {
	name, arn string
	// attrs are the queue's settable attributes with defaults filled in.
	attrs   map[string]string
	redrive *redrivePolicy
	created time.Time
	// messages are the undeleted messages in send order.
	messages []*sqsMessage
	// handles maps every receipt handle ever issued to its message, so
	// that a stale handle is told from an invalid one.
	handles map[string]*sqsMessage
}

func (qu *sqsQueue) intAttr(name string) int {
	n, _ := strconv.Atoi(qu.attrs[name])
	return n
}

type redrivePolicy struct {
	target string // dead-letter queue ARN
	max    int
}

type sqsMessage struct {
	id, body, md5   string
	sent, firstRecv time.Time
	receives        int
	visibleAt       time.Time
	handle          string // latest receipt handle; "" before the first receive
	deleted         bool
}

func (m *sqsMessage) inFlight(now time.Time) bool {
	return m.handle != "" && now.Before(m.visibleAt)
}

// queueAttrLimits are the numeric attributes CreateQueue accepts, with
// their bounds.
var queueAttrLimits = map[string][2]int{
	"DelaySeconds":                  {0, 900},
	"MaximumMessageSize":            {1024, 1048576},
	"MessageRetentionPeriod":        {60, 1209600},
	"ReceiveMessageWaitTimeSeconds": {0, 20},
	"VisibilityTimeout":             {0, 43200},
}

// opaqueQueueAttrs are accepted and stored as given.
var opaqueQueueAttrs = map[string]bool{
	"Policy": true, "RedrivePolicy": true, "RedriveAllowPolicy": true,
	"KmsMasterKeyId": true, "KmsDataKeyReusePeriodSeconds": true, "SqsManagedSseEnabled": true,
}

func defaultQueueAttrs() map[string]string {
	return map[string]string{
		"DelaySeconds": "0", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
		"ReceiveMessageWaitTimeSeconds": "0", "VisibilityTimeout": "30",
	}
}

var queueNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// sqsQueryCodes are the codes the query-compatible client reports (from
// X-Amzn-Query-Error) for the JSON error types.
var sqsQueryCodes = map[string]string{
	"QueueDoesNotExist":            "AWS.SimpleQueueService.NonExistentQueue",
	"QueueNameExists":              "QueueAlreadyExists",
	"MessageNotInflight":           "AWS.SimpleQueueService.MessageNotInflight",
	"EmptyBatchRequest":            "AWS.SimpleQueueService.EmptyBatchRequest",
	"TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
	"BatchEntryIdsNotDistinct":     "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
	"UnsupportedOperation":         "AWS.SimpleQueueService.UnsupportedOperation",
	"ThrottlingException":          "Throttling",
}

func sqsError(code, format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, code, format, args...)
}

func queueDoesNotExist() *apiError {
	return sqsError("QueueDoesNotExist", "The specified queue does not exist.")
}

// writeSQSError writes the AWS JSON 1.0 error shape, with the Query code
// in X-Amzn-Query-Error as SQS sends it.
func writeSQSError(w http.ResponseWriter, reqID string, e *apiError) {
	fault := "Sender"
	if e.Status >= 500 {
		fault = "Receiver"
	}
	code := sqsQueryCodes[e.Code]
	if code == "" {
		code = e.Code
	}
	w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
	w.Header().Set("X-Amzn-Errortype", e.Code)
	writeJSON(w, e.Status, reqID, map[string]any{"__type": "com.amazonaws.sqs#" + e.Code, "message": e.Message})
}

// serveSQS dispatches on X-Amz-Target. Operations take the queue lock
// themselves.
func (s *Server) serveSQS(w http.ResponseWriter, r *http.Request, body []byte, reqID string) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AmazonSQS.")
	if !ok {
		s.writeUnrouted(w, r, reqID, errorf(http.StatusBadRequest, "UnsupportedProtocol",
			"the iamprune emulator speaks SQS over AWS JSON 1.0 only (X-Amz-Target: AmazonSQS.Operation), got target %q", target))
		return
	}
	call := Call{Service: "sqs", Operation: op, Params: restParams("/", r.URL.Query(), body)}
	if e := s.injectedFailure(call, r); e != nil {
		writeSQSError(w, reqID, e)
		return
	}
	if !s.admit(call, r) {
		writeSQSError(w, reqID, jsonThrottling())
		return
	}
	handler, ok := sqsOps[op]
	if !ok {
		writeSQSError(w, reqID, sqsError("UnsupportedOperation", "the iamprune emulator does not implement SQS %s", op))
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	out, aerr := handler(s, sqsRequest{ctx: r.Context(), base: scheme + "://" + r.Host, body: body})
	if aerr != nil {
		writeSQSError(w, reqID, aerr)
		return
	}
	writeJSON(w, http.StatusOK, reqID, out)
}

func (s *Server) sqsAccount() (account, region, partition string) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	return s.st.meta.AccountID, s.st.region(), s.st.partition()
}

func (s *Server) sqsQueueARN(name string) string {
	account, region, partition := s.sqsAccount()
	return "arn:" + partition + ":sqs:" + region + ":" + account + ":" + name
}

func (s *Server) queueURL(base, name string) string {
	account, _, _ := s.sqsAccount()
	return base + "/" + account + "/" + name
}

// queueName reads the queue name from a queue URL of any host: its last
// path segment, after the account when one is given. A bare name is
// accepted too, for the hooks.
func (s *Server) queueName(queueURL string) (string, *apiError) {
	if queueURL == "" {
		return "", sqsError("MissingParameter", "The request must contain the parameter QueueUrl.")
	}
	path := queueURL
	if u, err := url.Parse(queueURL); err == nil && u.Host != "" {
		path = u.Path
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	account, _, _ := s.sqsAccount()
	switch {
	case len(parts) == 1:
		return parts[0], nil
	case len(parts) == 2 && parts[0] == account:
		return parts[1], nil
	}
	return "", queueDoesNotExist()
}

// lookup finds the queue a request names. Callers hold s.sqs.mu.
func (s *Server) lookupQueue(queueURL string) (*sqsQueue, *apiError) {
	name, e := s.queueName(queueURL)
	if e != nil {
		return nil, e
	}
	qu := s.sqs.queues[name]
	if qu == nil {
		return nil, queueDoesNotExist()
	}
	return qu, nil
}

func (s *Server) createQueue(r sqsRequest) (any, *apiError) {
	var in struct {
		QueueName  string
		Attributes map[string]string
	}
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if !queueNamePattern.MatchString(in.QueueName) {
		if strings.HasSuffix(in.QueueName, ".fifo") || in.Attributes["FifoQueue"] == "true" {
			return nil, sqsError("UnsupportedOperation", "the iamprune emulator does not implement FIFO queues")
		}
		return nil, sqsError("InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	attrs := defaultQueueAttrs()
	for k, v := range in.Attributes {
		if lim, ok := queueAttrLimits[k]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < lim[0] || n > lim[1] {
				return nil, sqsError("InvalidAttributeValue", "Invalid value for the parameter %s.", k)
			}
			attrs[k] = strconv.Itoa(n)
			continue
		}
		if k == "FifoQueue" && v == "true" {
			return nil, sqsError("UnsupportedOperation", "the iamprune emulator does not implement FIFO queues")
		}
		if !opaqueQueueAttrs[k] && k != "FifoQueue" {
			return nil, sqsError("InvalidAttributeName", "Unknown Attribute %s.", k)
		}
		attrs[k] = v
	}
	s.sqs.mu.Lock()
	defer s.sqs.mu.Unlock()
	var redrive *redrivePolicy
	if raw, ok := attrs["RedrivePolicy"]; ok {
		p, e := s.parseRedrive(raw)
		if e != nil {
			return nil, e
		}
		redrive = p
	}
	if qu := s.sqs.queues[in.QueueName]; qu != nil {
		// CreateQueue is idempotent only for the same attributes.
		for k, v := range in.Attributes {
			if qu.attrs[k] != attrs[k] {
				return nil, sqsError("QueueNameExists", "A queue already exists with the same name and a different value for attribute %s (%q)", k, v)
			}
		}
		return map[string]string{"QueueUrl": s.queueURL(r.base, qu.name)}, nil
	}
	qu := &sqsQueue{name: in.QueueName, arn: s.sqsQueueARN(in.QueueName), attrs: attrs, redrive: redrive,
		created: time.Now(), handles: map[string]*sqsMessage{}}
	s.sqs.queues[qu.name] = qu
	return map[string]string{"QueueUrl": s.queueURL(r.base, qu.name)}, nil
}

// parseRedrive checks a RedrivePolicy: the dead-letter queue must exist
// and maxReceiveCount be 1 to 1000. Callers hold s.sqs.mu.
func (s *Server) parseRedrive(raw string) (*redrivePolicy, *apiError) {
	var p struct {
		DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	invalid := func(reason string) *apiError {
		return sqsError("InvalidParameterValue", "Value %s for parameter RedrivePolicy is invalid. Reason: %s", raw, reason)
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return nil, invalid("Invalid JSON: " + err.Error())
	}
	// SQS takes the count as a number or a string of one.
	n, err := strconv.Atoi(strings.Trim(string(p.MaxReceiveCount), `"`))
	if err != nil || n < 1 || n > 1000 {
		return nil, invalid("maxReceiveCount must be an integer from 1 to 1000.")
	}
	if p.DeadLetterTargetArn == "" || s.sqs.byARN(p.DeadLetterTargetArn) == nil {
		return nil, invalid("Dead letter target does not exist.")
	}
	return &redrivePolicy{target: p.DeadLetterTargetArn, max: n}, nil
}

func (s *Server) getQueueURL(r sqsRequest) (any, *apiError) {
	var in struct {
		QueueName              string
		QueueOwnerAWSAccountId string
	}
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	account, _, _ := s.sqsAccount()
	s.sqs.mu.Lock()
	defer s.sqs.mu.Unlock()
	if s.sqs.queues[in.QueueName] == nil || (in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != account) {
		return nil, queueDoesNotExist()
	}
	return map[string]string{"QueueUrl": s.queueURL(r.base, in.QueueName)}, nil
}

func (s *Server) getQueueAttributes(r sqsRequest) (any, *apiError) {
	var in struct {
		QueueUrl       string
		AttributeNames []string
	}
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	s.sqs.mu.Lock()
	defer s.sqs.mu.Unlock()
	qu, e := s.lookupQueue(in.QueueUrl)
	if e != nil {
		return nil, e
	}
	now := time.Now()
	all := maps.Clone(qu.attrs)
	var visible, inFlight, delayed int
	for _, m := range qu.messages {
		switch {
		case m.inFlight(now):
			inFlight++
		case now.Before(m.visibleAt):
			delayed++
		default:
			visible++
		}
	}
	all["ApproximateNumberOfMessages"] = strconv.Itoa(visible)
	all["ApproximateNumberOfMessagesNotVisible"] = strconv.Itoa(inFlight)
	all["ApproximateNumberOfMessagesDelayed"] = strconv.Itoa(delayed)
	all["CreatedTimestamp"] = strconv.FormatInt(qu.created.Unix(), 10)
	all["LastModifiedTimestamp"] = all["CreatedTimestamp"]
	all["QueueArn"] = qu.arn
	out := map[string]string{}
	for _, name := range in.AttributeNames {
		if name == "All" {
			out = all
			break
		}
		v, ok := all[name]
		if !ok {
			if _, settable := queueAttrLimits[name]; !settable && !opaqueQueueAttrs[name] {
				return nil, sqsError("InvalidAttributeName", "Unknown Attribute %s.", name)
			}
			continue // settable but not set, such as RedrivePolicy
		}
		out[name] = v
	}
	return map[string]any{"Attributes": out}, nil
}
