package emulator

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/snapshot"
)

// An organisation: the home account (the snapshot given to New) and member
// accounts added with AddMember. Each account is a full *Server with its own
// state, call log and failure injections; the servers share one org, which
// holds the sessions sts:AssumeRole issued. Any of them can take a request:
// ServeHTTP routes it by the access key id in its SigV4 credential scope to
// the account the key was issued for, so one endpoint serves them all.

// org is shared by the home server and its members.
type org struct {
	mu       sync.Mutex
	home     *Server
	accounts map[string]*Server // by account id, the home included
	members  []string           // member account ids, in the order added
	sessions map[string]*session
	assumed  []AssumedRole
	faults   *faults // faults.go
	limits   *limits // ratelimit.go
}

// session is one set of temporary credentials AssumeRole issued.
type session struct {
	account string
	arn     string // arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION
	token   string
	expires time.Time
}

// AssumedRole is one successful sts:AssumeRole.
type AssumedRole struct {
	// Account is the account of the role, where the credentials act.
	Account     string
	RoleArn     string
	SessionName string
	// ExternalId is the one the caller passed, "" if none.
	ExternalId string
	// Caller is the ARN of the identity that assumed the role.
	Caller string
	// Arn is the assumed-role session ARN the credentials act as.
	Arn         string
	AccessKeyId string
	Expiration  time.Time
}

func newOrg(home *Server) *org {
	return &org{
		home:     home,
		accounts: map[string]*Server{home.st.meta.AccountID: home},
		sessions: map[string]*session{},
		faults:   &faults{},
		limits:   &limits{now: time.Now},
	}
}

// AddMember serves snap as a member account of the organisation: its own
// IAM state (users, roles, policies, keys, login profiles, findings), call
// log, Dump, Writes, Duplicates and FailNext. It is reached with credentials
// that sts:AssumeRole issued for one of its roles. The member is built with
// the home server's options, except Buckets, Topics and Queues, which are
// the home account's resources. An account id already served is an error.
func (s *Server) AddMember(snap *snapshot.Snapshot) (*Server, error) {
	account := snap.Meta.AccountID
	if account == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "emulator: member snapshot %s has no account_id", snap.Name)
	}
	opts := s.opts
	opts.Buckets, opts.Topics, opts.Queues = nil, nil, nil
	m := newServer(snap, opts, s.org)
	o := s.org
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.accounts[account] != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "emulator: account %s (snapshot %s) is already served", account, snap.Name)
	}
	o.accounts[account] = m
	o.members = append(o.members, account)
	return m, nil
}

// Member returns the server of an account of the organisation, the home
// account included, or nil if the emulator does not serve that account.
func (s *Server) Member(account string) *Server {
	s.org.mu.Lock()
	defer s.org.mu.Unlock()
	return s.org.accounts[account]
}

// Members returns the member account ids, in the order they were added; the
// home account is not among them.
func (s *Server) Members() []string {
	s.org.mu.Lock()
	defer s.org.mu.Unlock()
	return slices.Clone(s.org.members)
}

// Account returns the id of the account this server serves.
func (s *Server) Account() string { return s.st.meta.AccountID }

// Assumed returns every successful sts:AssumeRole of the organisation, in
// order, whichever server answered it.
func (s *Server) Assumed() []AssumedRole {
	s.org.mu.Lock()
	defer s.org.mu.Unlock()
	return slices.Clone(s.org.assumed)
}

// callerKey carries the calling identity of a request routed to an
// assumed-role session; requests without it act as the snapshot's caller.
type callerKey struct{}

// route picks the server that answers a request signed with akid and the
// identity it acts as ("" for the snapshot's caller). Keys the emulator did
// not issue act in this server's account, as any credentials always have.
func (s *Server) route(akid string, r *http.Request, service string) (*Server, string, *apiError) {
	o := s.org
	o.mu.Lock()
	sess := o.sessions[akid]
	var target *Server
	if sess != nil {
		target = o.accounts[sess.account]
	}
	o.mu.Unlock()
	if sess == nil {
		return s, "", nil
	}
	if r.Header.Get("X-Amz-Security-Token") != sess.token {
		return nil, "", invalidToken(service)
	}
	if !s.now().Before(sess.expires) {
		return nil, "", expiredToken(service)
	}
	return target, sess.arn, nil
}

// withCaller records the identity a routed request acts as.
func withCaller(r *http.Request, caller string) *http.Request {
	if caller == "" {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), callerKey{}, caller))
}

// caller is the ARN of the identity a Query request acts as: the session
// it was signed with, or the snapshot's caller.
func (s *Server) caller(p queryParams) string {
	if c := p.get(callerParam); c != "" {
		return c
	}
	return s.st.meta.Caller()
}

// callerParam is the key under which serveQuery hands the routed caller to
// Query handlers. No form field can have it: serveQuery drops any that a
// client sends.
const callerParam = "\x00caller"

// invalidToken and expiredToken are what each protocol answers to a
// session token that does not match its key, or has expired.
func invalidToken(service string) *apiError {
	switch service {
	case "s3":
		return errorf(http.StatusBadRequest, "InvalidToken", "The provided token is malformed or otherwise invalid.")
	case "access-analyzer", "sqs":
		return errorf(http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	return errorf(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
}

func expiredToken(service string) *apiError {
	switch service {
	case "s3":
		return errorf(http.StatusBadRequest, "ExpiredToken", "The provided token has expired.")
	case "access-analyzer", "sqs":
		return errorf(http.StatusForbidden, "ExpiredTokenException", "The security token included in the request is expired")
	}
	return errorf(http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired")
}

// writeServiceError answers a request that failed before its service ran,
// in that service's error shape.
func (s *Server) writeServiceError(w http.ResponseWriter, r *http.Request, reqID, service string, e *apiError) {
	switch service {
	case "iam":
		writeQueryError(w, iamService.Xmlns, reqID, e)
	case "sts":
		writeQueryError(w, stsService.Xmlns, reqID, e)
	case "sns":
		writeQueryError(w, snsService.Xmlns, reqID, e)
	case "access-analyzer":
		writeJSONError(w, reqID, e)
	case "sqs":
		writeSQSError(w, reqID, e)
	case "s3":
		writeS3Error(w, r, reqID, e)
	default:
		s.writeUnrouted(w, r, reqID, e)
	}
}
