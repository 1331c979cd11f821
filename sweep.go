package iamprune

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// SweepMessageVersion is the schema version of a fan-out sweep message
// (SweepMessage.Version). A consumer refuses a version it does not know,
// so that an old worker leaves a new message for a new one (or the DLQ)
// rather than misread it.
const SweepMessageVersion = 1

// SweepMessage is one SQS message of a fanned-out sweep: plan and apply
// one account, or one page of its ACTIVE findings. Its JSON form is a
// documented contract (docs/fan-out.md).
type SweepMessage struct {
	// Version is SweepMessageVersion; the key also marks the body as a
	// sweep message.
	Version int    `json:"iamprune_sweep"`
	SweepID string `json:"sweep_id"`
	Account string `json:"account"`
	// Page numbers the account's pages from 1; Pages is how many the
	// account was split into, or 0 when the message was sent before the
	// account's listing ended (messages go out while later pages are
	// still being listed, so that consumers start at once).
	Page  int `json:"page"`
	Pages int `json:"pages"`
	// PageToken is the ListFindingsV2 nextToken that starts this page (""
	// for the first); PageSize its maxResults. PageSize 0 means the
	// account is one message: every page of its findings.
	PageToken string `json:"page_token,omitempty"`
	PageSize  int    `json:"page_size,omitempty"`
	// Chain makes the consumer continue the account: when listing its
	// page gives a next token, it records and sends the next page's
	// message (chained too) before it plans its own. The sweep command
	// lists only an account's first pages; the rest are enqueued this way,
	// each just as the page before is taken up, and each listed once.
	Chain bool `json:"chain,omitempty"`
	// Queue is the queue the next message of a chain goes to.
	Queue string `json:"queue,omitempty"`
	// Analyzer is the analyzer whose findings the page tokens list: a
	// consumer whose config says "auto" uses it rather than discover one.
	Analyzer string `json:"analyzer,omitempty"`
}

// NextPage is the message of the page after m, which token starts.
func (m SweepMessage) NextPage(token string) SweepMessage {
	n := m
	n.Page, n.Pages, n.PageToken = m.Page+1, 0, token
	return n
}

// Part is the sweep part the message covers, pending.
func (m SweepMessage) Part() SweepPart {
	return SweepPart{SweepID: m.SweepID, Account: m.Account, Page: m.Page}
}

var sweepIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// PagesText is "N" of "page P of N", "?" while the count was not known
// when the message was sent.
func (m SweepMessage) PagesText() string {
	if m.Pages == 0 {
		return "?"
	}
	return fmt.Sprint(m.Pages)
}

// Key names the message's part of its sweep: the account, and the page
// when the account is split.
func (m SweepMessage) Key() string { return SweepPartKey(m.Account, m.Page) }

// SweepPartKey is the key of an account's page in a sweep.
func SweepPartKey(account string, page int) string {
	return fmt.Sprintf("%s/%d", account, page)
}

// Validate checks a decoded message; errors are EINVALID and name the field.
func (m SweepMessage) Validate() error {
	switch {
	case m.Version != SweepMessageVersion:
		return Errorf(EINVALID, "sweep message: iamprune_sweep: version %d, this iamprune reads version %d", m.Version, SweepMessageVersion)
	case !sweepIDRE.MatchString(m.SweepID):
		return Errorf(EINVALID, "sweep message: sweep_id: %q is not 1 to 128 letters, digits or ._:-", m.SweepID)
	case !IsAccountID(m.Account):
		return Errorf(EINVALID, "sweep message: account: %q is not a 12-digit account id", m.Account)
	case m.Page < 1 || m.Pages < 0 || m.Pages > 0 && m.Pages < m.Page:
		return Errorf(EINVALID, "sweep message: page: %d of %d", m.Page, m.Pages)
	case m.PageSize < 0 || m.PageSize > 1000:
		return Errorf(EINVALID, "sweep message: page_size: %d is not from 0 to 1000", m.PageSize)
	case m.PageToken != "" && m.PageSize == 0:
		return Errorf(EINVALID, "sweep message: page_token without page_size")
	case m.Chain && m.PageSize == 0:
		return Errorf(EINVALID, "sweep message: chain without page_size")
	case m.Chain && !IsQueueURL(m.Queue):
		return Errorf(EINVALID, "sweep message: chain: queue %q is not an SQS queue URL", m.Queue)
	case m.Analyzer != "" && !strings.HasPrefix(m.Analyzer, "arn:"):
		return Errorf(EINVALID, "sweep message: analyzer: %q is not an analyzer ARN", m.Analyzer)
	}
	return nil
}

// Sweep part statuses.
const (
	SweepPending = "pending" // enqueued, not finished yet
	SweepDone    = "done"    // planned and applied; counts towards completion
	SweepFailed  = "failed"  // the last attempt failed; SQS retries it
)

// Sweep is a fanned-out sweep as the state store records it.
type Sweep struct {
	ID        string    `json:"sweep_id"`
	Caller    string    `json:"caller,omitempty"`
	StartedAt time.Time `json:"started_at"`
	// Expected is the number of messages enqueued, 0 while the sweep is
	// open (still being enqueued), and grows as chained accounts enqueue
	// their next pages; Done is how many finished successfully. The sweep
	// is complete when they are equal.
	Expected   int        `json:"expected"`
	Done       int        `json:"done"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Open reports whether the sweep is still being enqueued: its parts are
// being added and its size is not known yet.
func (s Sweep) Open() bool { return s.Expected == 0 }

// Complete reports whether every message finished.
func (s Sweep) Complete() bool { return s.Expected > 0 && s.Done >= s.Expected }

// SweepPart is the progress of one message of a sweep.
type SweepPart struct {
	SweepID string `json:"sweep_id"`
	Account string `json:"account"`
	Page    int    `json:"page"`
	Status  string `json:"status"`
	// RunID is the apply run of the last attempt; Changes and Failures
	// count its changes made and actions failed.
	RunID    string `json:"run_id,omitempty"`
	Changes  int    `json:"changes"`
	Failures int    `json:"failures"`
	// Attempts counts the finished attempts, failed ones included.
	Attempts  int        `json:"attempts"`
	Detail    string     `json:"detail,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// Key is SweepPartKey of the part.
func (p SweepPart) Key() string { return SweepPartKey(p.Account, p.Page) }

// SweepLog is the part of the state store that records the progress of
// fanned-out sweeps. Stores implement it beside Store.
type SweepLog interface {
	// StartSweep records a sweep and its parts, all pending. A sweep id
	// that exists already is ECONFLICT. A sweep started with Expected 0 is
	// open: its parts come with AddSweepParts as its messages are sent,
	// and SealSweep fixes their number.
	StartSweep(ctx context.Context, s Sweep, parts []SweepPart) error
	// AddSweepParts records more pending parts of an open sweep, before
	// their messages are sent. A part recorded already is left as it is,
	// so a retried call is harmless. An unknown sweep is ENOTFOUND, a
	// sealed one ECONFLICT.
	AddSweepParts(ctx context.Context, id string, parts []SweepPart) error
	// SealSweep closes an open sweep at expected parts, which must be the
	// number recorded by StartSweep and AddSweepParts; its Expected is
	// then those and the chained parts (ExtendSweep). Seal before the last
	// message is sent: a sweep whose parts are all done already cannot be
	// sealed (EINVALID), so that the consumer finishing the last part is
	// the one that completes it. Sealing again at the same number changes
	// nothing; at another, or a sweep that was never open, is ECONFLICT.
	SealSweep(ctx context.Context, id string, expected int) (*Sweep, error)
	// ExtendSweep records p, the next page of a chained account, found by
	// the consumer of the page before, open or sealed, and counts it in
	// Expected. Call it before finishing the part before, so that the
	// sweep cannot complete without p. claimed says that the caller is to
	// send p's message: true when p was not recorded yet, or was but its
	// message was never marked sent (its sender stopped); false once it
	// was, so that a message delivered twice does not double the chain.
	// A part not recorded yet whose page before is done already is not
	// recorded (false): the page before chained what it found before it
	// was done, and a sweep that may be complete must not grow (its last
	// part would then be finished twice). An unknown sweep is ENOTFOUND.
	ExtendSweep(ctx context.Context, p SweepPart) (claimed bool, err error)
	// SweepPartSent marks a chained part's message sent.
	SweepPartSent(ctx context.Context, p SweepPart) error
	// FinishSweepPart records the outcome (SweepDone or SweepFailed) of
	// one attempt at a part, and returns the sweep as it is after it.
	// last is true for exactly one call per sweep: the one whose part
	// made it complete. Finishing a part already done changes nothing and
	// is not last. An unknown sweep or part is ENOTFOUND.
	FinishSweepPart(ctx context.Context, p SweepPart, at time.Time) (s *Sweep, last bool, err error)
	// Sweep returns a sweep and its parts ordered by account and page;
	// ENOTFOUND when unknown.
	Sweep(ctx context.Context, id string) (*Sweep, []SweepPart, error)
}

// SweepChecker is a SweepLog that tells cheaply whether a sweep exists,
// without reading its parts (a consumer checks it for every message).
type SweepChecker interface {
	// SweepExists is nil for a known sweep, ENOTFOUND for an unknown one.
	SweepExists(ctx context.Context, id string) error
}

// ValidateStart checks a sweep and its parts before StartSweep stores
// them: an id, one part per expected message (any number for an open
// sweep), no part twice.
func (s Sweep) ValidateStart(parts []SweepPart) error {
	if !sweepIDRE.MatchString(s.ID) {
		return Errorf(EINVALID, "sweep id %q is not 1 to 128 letters, digits or ._:-", s.ID)
	}
	if s.Expected < 0 || s.Expected > 0 && s.Expected != len(parts) {
		return Errorf(EINVALID, "sweep %s: %d part(s) for %d expected message(s)", s.ID, len(parts), s.Expected)
	}
	return ValidateParts(s.ID, parts)
}

// ValidateParts checks parts given to StartSweep or AddSweepParts: each
// with an account and a page, none twice.
func ValidateParts(id string, parts []SweepPart) error {
	seen := map[string]bool{}
	for _, p := range parts {
		if p.Account == "" || p.Page < 1 {
			return Errorf(EINVALID, "sweep %s: part %q has no account or page", id, p.Key())
		}
		if seen[p.Key()] {
			return Errorf(EINVALID, "sweep %s: part %s given twice", id, p.Key())
		}
		seen[p.Key()] = true
	}
	return nil
}

// ValidateSeal checks SealSweep's arguments against the sweep as stored:
// sealedAt is the number it was sealed at (0: open), enqueued the parts
// StartSweep and AddSweepParts recorded and chained those ExtendSweep
// did. nil with sealed true means the sweep is sealed at expected
// already (a retried call).
func (s Sweep) ValidateSeal(expected, sealedAt, enqueued, chained int) (sealed bool, err error) {
	switch {
	case expected < 1:
		return false, Errorf(EINVALID, "sweep %s: cannot seal at %d part(s)", s.ID, expected)
	case sealedAt == expected:
		return true, nil
	case sealedAt != 0:
		return false, Errorf(ECONFLICT, "sweep %s is sealed at %d part(s), not %d", s.ID, sealedAt, expected)
	case enqueued != expected:
		return false, Errorf(EINVALID, "sweep %s: sealing at %d part(s), but %d are recorded", s.ID, expected, enqueued)
	case s.Done >= expected+chained:
		return false, Errorf(EINVALID, "sweep %s: every part is done already; seal before the last message is sent", s.ID)
	}
	return false, nil
}

// ValidateOutcome checks a part given to FinishSweepPart.
func (p SweepPart) ValidateOutcome() error {
	if p.Status != SweepDone && p.Status != SweepFailed {
		return Errorf(EINVALID, "sweep %s part %s: status %q is not %s or %s", p.SweepID, p.Key(), p.Status, SweepDone, SweepFailed)
	}
	return nil
}

// DefaultSweepPageSize is how many findings one sweep message covers at
// most: an account with more is split into messages of this many.
const DefaultSweepPageSize = 1000

// SweepSettings is the config's sweep block: where a scheduled sweep
// enqueues its messages, and how big one message may be.
type SweepSettings struct {
	// QueueURL, when set, makes the Lambda function's scheduled sweep only
	// enqueue one message per account (and page) to this SQS queue; the
	// queue's consumers plan and apply. "" sweeps in the one invocation.
	QueueURL string `json:"queue_url,omitempty"`
	// PageSize is the most findings (ListFindingsV2 maxResults, 1 to
	// 1000) one message covers.
	PageSize int `json:"page_size"`
}

func (s SweepSettings) validate() error {
	if s.PageSize < 1 || s.PageSize > 1000 {
		return Errorf(EINVALID, "sweep.page_size: must be from 1 to 1000, got %d", s.PageSize)
	}
	if s.QueueURL != "" && !IsQueueURL(s.QueueURL) {
		return Errorf(EINVALID, "sweep.queue_url: %q is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", s.QueueURL)
	}
	return nil
}

// IsQueueURL reports whether u has the shape of an SQS queue URL: http(s),
// a host, and a path naming the queue.
func IsQueueURL(u string) bool {
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(u, "http://")
	}
	host, path, _ := strings.Cut(rest, "/")
	return ok && host != "" && strings.Trim(path, "/") != ""
}

// SweepEnqueued is what fanning a sweep out sent (or, dry, would send).
type SweepEnqueued struct {
	SweepID  string         `json:"sweep_id"`
	Queue    string         `json:"queue"`
	Caller   string         `json:"caller"`
	DryRun   bool           `json:"dry_run"`
	Messages int            `json:"messages"`
	Accounts []SweepAccount `json:"accounts"`
	// Sent are the messages, in the order sent.
	Sent []SweepMessage `json:"-"`
}

// SweepAccount is one account's share of a fan-out.
type SweepAccount struct {
	Account  string `json:"account"`
	Findings int    `json:"findings"`
	Messages int    `json:"messages"`
	// Chained: the account's consumers list and enqueue its further
	// pages, so Findings and Messages count only its first pages.
	Chained bool `json:"chained,omitempty"`
}
