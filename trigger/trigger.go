// Package trigger decodes what starts a run: what the Lambda runtime or the
// SQS worker hands iamprune, classified as an EventBridge event for an IAM
// Access Analyzer unused-access finding, an SQS batch whose message bodies
// are such events, or a scheduled event that asks for a full sweep. It is
// pure: it reads JSON and calls nothing. It is not named events so that it
// does not collide with aws-lambda-go's events package.
//
// It imports only the root; app and cmd import it.
package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// The EventBridge values that identify a finding event and a scheduled rule.
const (
	SourceAccessAnalyzer = "aws.access-analyzer"
	DetailTypeUnused     = "Unused Access Finding for IAM entities"
	SourceEvents         = "aws.events"
	DetailTypeScheduled  = "Scheduled Event"
	// ActionSweep is the "action" of an EventBridge Scheduler payload:
	// {"action": "sweep", ...}. A Scheduler target sends whatever input it
	// is given, so the sweep is asked for explicitly, never inferred from
	// an empty or unknown payload.
	ActionSweep = "sweep"
)

// Kind is what an input asks for.
type Kind string

const (
	KindFinding Kind = "finding" // one finding event
	KindSQS     Kind = "sqs"     // a batch of finding events
	KindSweep   Kind = "sweep"   // a scheduled full sweep
)

// Input is a classified event: exactly one of Finding, Records and Sweep is
// set, as Kind says.
type Input struct {
	Kind    Kind
	Finding *Finding
	Records []Record
	Sweep   *Sweep
}

// Finding is an "Unused Access Finding for IAM entities" event.
type Finding struct {
	EventID     string // the EventBridge event id, not the finding's
	Account     string // the account of the event bus
	Region      string
	Time        time.Time
	AnalyzerARN string // resources[0]
	FindingID   string // detail.findingId
	// Version changes whenever the finding does; with FindingID it
	// identifies one state of one finding (DedupKey).
	Version         string
	IsDeleted       bool
	Status          string // detail.status, as of the event; the live finding decides
	FindingType     string
	Resource        string // the principal's ARN
	ResourceAccount string // detail.accountId, the principal's account
}

// DedupKey identifies this state of the finding.
func (f *Finding) DedupKey() string { return DedupKey(f.FindingID, f.Version) }

// Record is one SQS message: a finding, a fanned-out sweep's message, or
// why its body is unusable.
type Record struct {
	MessageID string
	Finding   *Finding
	Part      *iamprune.SweepMessage
	Err       error // an EINVALID *iamprune.Error naming the field
}

// Sweep is a scheduled request for a full sweep.
type Sweep struct {
	Source string // "rule ARN" or "scheduler ARN", when the event names one
	ID     string // the event or execution id, when given
	Time   time.Time
	// Account is the account the event is for: the EventBridge event's
	// account, else the account of its rule or schedule ARN; "" when it
	// names none. The function must refuse a sweep for another account.
	Account string
}

// DedupKey identifies one version of one finding: events redelivered, by
// EventBridge's at-least-once delivery or an SQS retry, share it.
func DedupKey(findingID, version string) string {
	// The length prefix keeps keys unambiguous whatever the ids contain.
	return fmt.Sprintf("%d:%s@%s", len(findingID), findingID, version)
}

// Classify parses raw into an Input. A malformed event is an EINVALID
// *iamprune.Error naming the field; an SQS batch is malformed only when its
// envelope is: a bad message body is reported on its Record, so that the
// rest of the batch can proceed.
func Classify(raw json.RawMessage) (Input, error) {
	obj, err := object(raw, "event")
	if err != nil {
		return Input{}, err
	}
	if _, ok := obj["Records"]; ok {
		recs, err := sqsRecords(obj)
		if err != nil {
			return Input{}, err
		}
		return Input{Kind: KindSQS, Records: recs}, nil
	}
	if _, ok := obj["detail-type"]; ok {
		var env envelope
		if err := decode(raw, &env, "event"); err != nil {
			return Input{}, err
		}
		switch {
		case env.DetailType == DetailTypeScheduled && env.Source == SourceEvents:
			src := first(env.Resources)
			return Input{Kind: KindSweep, Sweep: &Sweep{Source: src, ID: env.ID, Time: env.Time, Account: cmpOr(env.Account, arnAccount(src))}}, nil
		case env.DetailType == DetailTypeUnused:
			f, err := finding(env, "")
			if err != nil {
				return Input{}, err
			}
			return Input{Kind: KindFinding, Finding: f}, nil
		}
		return Input{}, invalid("", "detail-type", "%q from source %q is neither %q from %s nor %q from %s",
			env.DetailType, env.Source, DetailTypeUnused, SourceAccessAnalyzer, DetailTypeScheduled, SourceEvents)
	}
	if _, ok := obj["action"]; ok {
		return schedulerPayload(raw)
	}
	return Input{}, invalid("", "event", "not an EventBridge event (no detail-type), an SQS batch (no Records) or a scheduler payload (no action)")
}

// envelope is the EventBridge event structure.
type envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

type findingDetail struct {
	FindingID    *string `json:"findingId"`
	Version      *string `json:"version"`
	IsDeleted    *bool   `json:"isDeleted"`
	Status       string  `json:"status"`
	FindingType  string  `json:"findingType"`
	Resource     string  `json:"resource"`
	AccountID    string  `json:"accountId"`
	ResourceType string  `json:"resourceType"`
}

// finding validates an unused-access event; prefix places its fields in an
// enclosing document (an SQS record's body).
func finding(env envelope, prefix string) (*Finding, error) {
	if env.Source != SourceAccessAnalyzer {
		return nil, invalid(prefix, "source", "%q, want %q for %q", env.Source, SourceAccessAnalyzer, DetailTypeUnused)
	}
	if len(env.Resources) == 0 {
		return nil, invalid(prefix, "resources", "empty; resources[0] must be the analyzer ARN")
	}
	if !isAnalyzerARN(env.Resources[0]) {
		return nil, invalid(prefix, "resources[0]", "%q is not an analyzer ARN (arn:aws:access-analyzer:REGION:ACCOUNT:analyzer/NAME)", env.Resources[0])
	}
	if len(env.Detail) == 0 || string(env.Detail) == "null" {
		return nil, invalid(prefix, "detail", "missing")
	}
	var d findingDetail
	if err := decode(env.Detail, &d, join(prefix, "detail")); err != nil {
		return nil, err
	}
	switch {
	case d.FindingID == nil:
		return nil, invalid(prefix, "detail.findingId", "missing")
	case strings.TrimSpace(*d.FindingID) == "":
		return nil, invalid(prefix, "detail.findingId", "empty")
	case d.Version == nil:
		return nil, invalid(prefix, "detail.version", "missing")
	case *d.Version == "":
		return nil, invalid(prefix, "detail.version", "empty")
	}
	return &Finding{
		EventID:         env.ID,
		Account:         env.Account,
		Region:          env.Region,
		Time:            env.Time,
		AnalyzerARN:     env.Resources[0],
		FindingID:       *d.FindingID,
		Version:         *d.Version,
		IsDeleted:       d.IsDeleted != nil && *d.IsDeleted,
		Status:          d.Status,
		FindingType:     d.FindingType,
		Resource:        d.Resource,
		ResourceAccount: d.AccountID,
	}, nil
}

func isAnalyzerARN(s string) bool {
	a, ok := iamprune.SplitARN(s)
	typ, name, _ := a.ResourceType()
	return ok && a.Partition != "" && a.Service == "access-analyzer" &&
		a.Region != "" && a.Account != "" && typ == "analyzer" && name != ""
}

type sqsMessage struct {
	MessageID   *string `json:"messageId"`
	Body        *string `json:"body"`
	EventSource string  `json:"eventSource"`
}

func sqsRecords(obj map[string]json.RawMessage) ([]Record, error) {
	var msgs []json.RawMessage
	if err := decode(obj["Records"], &msgs, "Records"); err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, invalid("", "Records", "empty")
	}
	out := make([]Record, 0, len(msgs))
	seen := map[string]bool{}
	for i, m := range msgs {
		at := fmt.Sprintf("Records[%d]", i)
		var msg sqsMessage
		if err := decode(m, &msg, at); err != nil {
			return nil, err
		}
		// Without a messageId a failure cannot be reported, so the whole
		// batch is malformed.
		if msg.MessageID == nil || *msg.MessageID == "" {
			return nil, invalid(at, "messageId", "missing")
		}
		if seen[*msg.MessageID] {
			return nil, invalid(at, "messageId", "%q repeats an earlier record's", *msg.MessageID)
		}
		seen[*msg.MessageID] = true
		if msg.EventSource != "aws:sqs" {
			return nil, invalid(at, "eventSource", "%q, want \"aws:sqs\"", msg.EventSource)
		}
		rec := Record{MessageID: *msg.MessageID}
		if msg.Body == nil {
			rec.Err = invalid(at+".body", "", "missing")
		} else {
			rec.Finding, rec.Part, rec.Err = body([]byte(*msg.Body), at+".body")
		}
		out = append(out, rec)
	}
	return out, nil
}

// Body reads a queue message's body: an unused-access finding event, or
// a fanned-out sweep's message (iamprune.SweepMessage, told apart by its
// "iamprune_sweep" key). Exactly one of the two is set, else the error
// is EINVALID and names the field.
func Body(raw []byte) (*Finding, *iamprune.SweepMessage, error) {
	return body(raw, "body")
}

func body(raw []byte, at string) (*Finding, *iamprune.SweepMessage, error) {
	obj, err := object(raw, at)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := obj["iamprune_sweep"]; ok {
		var m iamprune.SweepMessage
		if err := decode(raw, &m, at); err != nil {
			return nil, nil, err
		}
		if err := m.Validate(); err != nil {
			return nil, nil, invalid(at, "", "%v", err)
		}
		return nil, &m, nil
	}
	f, err := sqsBody(raw, at)
	return f, nil, err
}

// sqsBody reads a message body: an unused-access finding event.
func sqsBody(raw []byte, at string) (*Finding, error) {
	var env envelope
	if err := decode(raw, &env, at); err != nil {
		return nil, err
	}
	if env.DetailType != DetailTypeUnused {
		return nil, invalid(at, "detail-type", "%q, want %q", env.DetailType, DetailTypeUnused)
	}
	return finding(env, at)
}

type schedulerInput struct {
	Action        string    `json:"action"`
	Schedule      string    `json:"schedule"`
	ExecutionID   string    `json:"executionId"`
	ScheduledTime time.Time `json:"scheduledTime"`
}

func schedulerPayload(raw json.RawMessage) (Input, error) {
	var in schedulerInput
	if err := decode(raw, &in, "event"); err != nil {
		return Input{}, err
	}
	if in.Action != ActionSweep {
		return Input{}, invalid("", "action", "%q, want %q", in.Action, ActionSweep)
	}
	return Input{Kind: KindSweep, Sweep: &Sweep{Source: in.Schedule, ID: in.ExecutionID, Time: in.ScheduledTime, Account: arnAccount(in.Schedule)}}, nil
}

// arnAccount is the account field of an ARN, "" for anything else.
func arnAccount(arn string) string {
	a, _ := iamprune.SplitARN(arn)
	return a.Account
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// object checks that raw is a JSON object and returns its members.
func object(raw []byte, at string) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, invalid(at, "", "not a JSON object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return nil, invalid(at, "", "not valid JSON: %v", err)
	}
	return obj, nil
}

// decode unmarshals, naming the field of a type mismatch.
func decode(raw []byte, v any, at string) error {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return invalid(at, te.Field, "is a JSON %s, want %s", te.Value, te.Type)
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return invalid(at, "", "bad time %q: want RFC 3339", pe.Value)
	}
	return invalid(at, "", "%v", err)
}

func join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

func invalid(prefix, field, format string, args ...any) error {
	return iamprune.Errorf(iamprune.EINVALID, "events: %s: %s", join(prefix, field), fmt.Sprintf(format, args...))
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}
