package emulator

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/snapshot"
)

// Test and demo hooks: they change the emulator's state directly, to
// simulate what happens in an account between a plan and an apply, and
// inject failures into chosen operations. None of them is an AWS API.

// MarkAccessKeyUsed records that a key was used at at, as a later
// GetAccessKeyLastUsed reports it. It keeps the key's service and region
// when it has them.
func (s *Server) MarkAccessKeyUsed(keyID string, at time.Time) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	k := s.st.keyByID[keyID]
	if k == nil {
		return iamprune.Errorf(iamprune.ENOTFOUND, "emulator: no access key %s", keyID)
	}
	at = at.UTC()
	k.LastUsedDate = &at
	if k.ServiceName == "" {
		k.ServiceName = "iam"
	}
	if k.Region == "" {
		k.Region = s.st.region()
	}
	return nil
}

// MarkRoleUsed records that a role was used at at (RoleLastUsed).
func (s *Server) MarkRoleUsed(roleName string, at time.Time) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	r := s.st.roleByName[fold(roleName)]
	if r == nil {
		return iamprune.Errorf(iamprune.ENOTFOUND, "emulator: no role %s", roleName)
	}
	at = at.UTC()
	r.RoleLastUsed = &snapshot.RoleLastUsed{LastUsedDate: &at, Region: s.st.region()}
	return nil
}

// MarkPasswordUsed records that a user signed in with their password at at
// (PasswordLastUsed). The user must have a login profile.
func (s *Server) MarkPasswordUsed(userName string, at time.Time) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	lp := s.st.logins[fold(userName)]
	if lp == nil {
		return iamprune.Errorf(iamprune.ENOTFOUND, "emulator: user %s has no login profile", userName)
	}
	at = at.UTC()
	lp.PasswordLastUsed = &at
	return nil
}

var findingStatuses = []string{"ACTIVE", "ARCHIVED", "RESOLVED"}

// SetFindingStatus changes a finding's status and updatedAt, as
// ListFindingsV2 and GetFindingV2 then serve them.
func (s *Server) SetFindingStatus(id, status string, updatedAt time.Time) error {
	if !slices.Contains(findingStatuses, status) {
		return iamprune.Errorf(iamprune.EINVALID, "emulator: finding status %q is not one of %v", status, findingStatuses)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	f := s.st.findingByID[id]
	if f == nil {
		return iamprune.Errorf(iamprune.ENOTFOUND, "emulator: no finding %s", id)
	}
	updatedAt = updatedAt.UTC()
	f.Status = status
	f.UpdatedAt = &updatedAt
	return nil
}

// injection is a pending injected failure of one operation.
type injection struct {
	code string
	n    int
	// match, if set, restricts the injection to calls whose Params
	// contain it.
	match string
}

// errorStatus is the HTTP status AWS gives each error code; codes not
// listed are client errors (400).
var errorStatus = map[string]int{
	"ServiceFailure": 500, "InternalFailure": 500, "InternalServerException": 500, "InternalError": 500,
	"ServiceUnavailable": 503, "ServiceUnavailableException": 503,
	"AccessDenied": 403, "AccessDeniedException": 403,
	"NoSuchEntity": 404, "ResourceNotFoundException": 404,
	"LimitExceeded": 409, "EntityAlreadyExists": 409, "DeleteConflict": 409,
	"ConcurrentModification": 409, "EntityTemporarilyUnmodifiable": 409, "ConflictException": 409,
	"ThrottlingException": 429, "ServiceQuotaExceededException": 402,
	"NoSuchKey": 404, "NoSuchBucket": 404, "PreconditionFailed": 412, "SlowDown": 503,
	"NotFound": 404, "AuthorizationError": 403, "Throttled": 429,
}

// FailNext makes the next n calls of operation (an IAM, STS, Access
// Analyzer, S3, SNS or SQS operation name, such as UpdateAccessKey,
// PutObject, Publish or ReceiveMessage) fail with the AWS
// error code, for example ServiceFailure (HTTP 500, which SDK clients
// retry) or AccessDenied (403, which they do not). n <= 0 cancels a
// pending injection. Failed injected calls are not recorded in Calls or
// Writes, only in Injected.
func (s *Server) FailNext(operation, code string, n int) {
	s.FailMatching(operation, "", code, n)
}

// FailMatching is FailNext restricted to the calls of operation whose
// Params (see Call) contain match, so that one write among several of the
// same operation can be failed; "" matches every call. It replaces any
// pending injection of operation.
func (s *Server) FailMatching(operation, match, code string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.failNext, operation)
		return
	}
	if s.failNext == nil {
		s.failNext = map[string]injection{}
	}
	s.failNext[operation] = injection{code: code, n: n, match: match}
}

// Injected returns the calls answered with an injected failure.
func (s *Server) Injected() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.injected...)
}

// injectedFailure applies the faults due before a request is admitted:
// the added latency, a write hold (faults.go), then one pending injection
// for c's operation, which it consumes.
func (s *Server) injectedFailure(c Call, r *http.Request) *apiError {
	if d := s.org.faults.delay(c.Service, c.Operation); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if !s.holdWrite(c, r) {
		e := errorf(http.StatusInternalServerError, "InternalFailure", "write %s dropped by a write hold", c.Operation)
		e.Receiver = true
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inj, ok := s.failNext[c.Operation]
	if !ok || !strings.Contains(c.Params, inj.match) {
		return nil
	}
	if inj.n--; inj.n <= 0 {
		delete(s.failNext, c.Operation)
	} else {
		s.failNext[c.Operation] = inj
	}
	s.injected = append(s.injected, c)
	status, ok := errorStatus[inj.code]
	if !ok {
		status = http.StatusBadRequest
	}
	e := errorf(status, inj.code, "injected failure of %s", c.Operation)
	e.Receiver = status >= 500
	return e
}

// Writes returns the calls of operations that change state (IAM writes,
// archive-rule operations and UpdateFindings, S3 PutObject and
// CreateBucket, SNS CreateTopic, DeleteTopic and Publish, SQS queue and
// message operations other than GetQueueUrl and GetQueueAttributes), in order,
// whatever their outcome.
func (s *Server) Writes() []Call {
	var out []Call
	for _, c := range s.Calls() {
		if isWrite(c) {
			out = append(out, c)
		}
	}
	return out
}

// TopicARN returns the ARN the emulator gives an SNS topic of this name,
// whether or not it exists.
func (s *Server) TopicARN(name string) string {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	return s.st.topicARN(name)
}

// Published returns the messages published to a topic, in order,
// including those published before the topic was deleted.
func (s *Server) Published(topicArn string) []PublishedMessage {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	var out []PublishedMessage
	for _, m := range s.st.published {
		if m.TopicARN == topicArn {
			out = append(out, m.clone())
		}
	}
	return out
}
