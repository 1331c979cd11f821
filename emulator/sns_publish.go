package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SNS Publish limits (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).
const (
	snsMaxSubject = 100
	// snsMaxMessageBytes bounds the message plus its attributes' names,
	// types and values, in bytes.
	snsMaxMessageBytes = 262144
	// snsDedupWindow is how long a FIFO topic remembers a deduplication id.
	snsDedupWindow = 5 * time.Minute
)

// PublishedMessage is one message a Publish call accepted.
type PublishedMessage struct {
	TopicARN string
	Subject  string
	Message  string
	// MessageAttributes holds each attribute's StringValue (String and
	// Number types), or its BinaryValue in base64 (Binary types).
	MessageAttributes map[string]string
	MessageGroupID    string
	MessageID         string
	Time              time.Time
}

func (m PublishedMessage) clone() PublishedMessage {
	m.MessageAttributes = maps.Clone(m.MessageAttributes)
	return m
}

type publishResult struct {
	MessageId      string `xml:"MessageId"`
	SequenceNumber string `xml:"SequenceNumber,omitempty"`
}

// publish checks the request as SNS does (the parameters first, then the
// topic), and records the message for Published.
func (s *Server) publish(p queryParams) (any, *apiError) {
	if p.get("TopicArn") == "" {
		if p.get("TargetArn") != "" || p.get("PhoneNumber") != "" {
			return nil, snsInvalidParameter("TargetArn and PhoneNumber are not supported by the iamprune emulator, which publishes to topics only")
		}
		return nil, snsInvalidParameter("TopicArn or TargetArn Reason: no value for required parameter")
	}
	msg := p.get("Message")
	if msg == "" {
		return nil, snsInvalidParameter("Empty message")
	}
	if !utf8.ValidString(msg) {
		return nil, snsInvalidParameter("Message Reason: the message must be UTF-8 text")
	}
	subject, hasSubject := p["Subject"]
	if hasSubject {
		if aerr := checkSubject(first(subject)); aerr != nil {
			return nil, aerr
		}
	}
	attrs, attrBytes, aerr := messageAttributes(p)
	if aerr != nil {
		return nil, aerr
	}
	if len(msg)+attrBytes > snsMaxMessageBytes {
		return nil, snsInvalidParameter("Message too long")
	}
	if aerr := checkStructure(p.get("MessageStructure"), msg); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.topicParam(p)
	if aerr != nil {
		return nil, aerr
	}
	group, dedupID := p.get("MessageGroupId"), p.get("MessageDeduplicationId")
	if t.fifo() {
		if group == "" {
			return nil, snsInvalidParameter("The MessageGroupId parameter is required for FIFO topics")
		}
		if dedupID == "" {
			if t.attrs["ContentBasedDeduplication"] != "true" {
				return nil, snsInvalidParameter("The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
			sum := sha256.Sum256([]byte(msg))
			dedupID = hex.EncodeToString(sum[:])
		}
	} else if dedupID != "" {
		return nil, snsInvalidParameter("MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type")
	}

	now := s.stamp()
	if e, ok := t.dedup[dedupID]; ok && dedupID != "" && now.Sub(e.at) < snsDedupWindow {
		// A duplicate within the window is accepted and not delivered again.
		return publishResult{MessageId: e.messageID, SequenceNumber: e.sequence}, nil
	}
	s.st.snsSeq++
	id := messageID(t.arn, s.st.snsSeq)
	out := publishResult{MessageId: id}
	if t.fifo() {
		out.SequenceNumber = fmt.Sprintf("%020d", s.st.snsSeq)
		t.dedup[dedupID] = dedupEntry{messageID: id, sequence: out.SequenceNumber, at: now}
	}
	s.st.published = append(s.st.published, PublishedMessage{
		TopicARN: t.arn, Subject: first(subject), Message: msg, MessageAttributes: attrs,
		MessageGroupID: group, MessageID: id, Time: now,
	})
	return out, nil
}

// messageID is UUID-shaped and derived from the topic and a sequence, so
// that ids are the same from one run of a test to the next.
func messageID(arn string, seq int) string {
	sum := sha256.Sum256([]byte(arn + "\x00" + strconv.Itoa(seq)))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// checkSubject: printable ASCII on one line, at most 100 characters,
// starting with a letter, number or punctuation mark (that is, anything
// printable but a space).
func checkSubject(subj string) *apiError {
	switch {
	case subj == "":
		return snsInvalidParameter("Subject Reason: the subject is empty")
	case len(subj) > snsMaxSubject:
		return snsInvalidParameter("Subject Reason: longer than %d characters", snsMaxSubject)
	case subj[0] == ' ':
		return snsInvalidParameter("Subject Reason: must start with a letter, number or punctuation mark")
	}
	for i := 0; i < len(subj); i++ {
		if c := subj[i]; c < 0x20 || c > 0x7e {
			return snsInvalidParameter("Subject Reason: must be ASCII text without line breaks or control characters (byte %d is %#02x)", i, c)
		}
	}
	return nil
}

// checkStructure: with MessageStructure=json the message is a JSON object
// of strings, one per protocol, with a "default" entry.
func checkStructure(structure, msg string) *apiError {
	switch structure {
	case "":
		return nil
	case "json":
		var per map[string]string
		if err := json.Unmarshal([]byte(msg), &per); err != nil {
			return snsInvalidParameter("Message Structure - JSON message body failed to parse")
		}
		if _, ok := per["default"]; !ok {
			return snsInvalidParameter("Message Structure - No default entry in JSON message body")
		}
		return nil
	default:
		return snsInvalidParameter("MessageStructure Reason: must be json, got %q", structure)
	}
}

// attrNamePattern is SNS's rule for attribute names: letters, digits,
// hyphens, underscores and periods, with no period first, last or twice
// in a row (the last two are checked apart).
var attrNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)

// messageAttributes reads and checks MessageAttributes.entry.N.{Name,
// Value.DataType, Value.StringValue, Value.BinaryValue}, and returns them
// with the bytes they count toward the message size.
func messageAttributes(p queryParams) (map[string]string, int, *apiError) {
	var out map[string]string
	size := 0
	for i := 1; ; i++ {
		prefix := "MessageAttributes.entry." + strconv.Itoa(i) + "."
		names, ok := p[prefix+"Name"]
		if !ok {
			return out, size, nil
		}
		name, typ := first(names), p.get(prefix+"Value.DataType")
		if aerr := checkAttrName(name); aerr != nil {
			return nil, 0, aerr
		}
		if _, dup := out[name]; dup {
			return nil, 0, snsInvalidValue("Message attribute name '%s' is used more than once.", name)
		}
		value, n, aerr := attrValue(name, typ, p.get(prefix+"Value.StringValue"), p.get(prefix+"Value.BinaryValue"))
		if aerr != nil {
			return nil, 0, aerr
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = value
		size += len(name) + len(typ) + n
	}
}

func checkAttrName(name string) *apiError {
	lower := strings.ToLower(name)
	switch {
	case name == "":
		return snsInvalidValue("The message attribute name must not be empty.")
	case !attrNamePattern.MatchString(name), strings.HasPrefix(name, "."), strings.HasSuffix(name, "."), strings.Contains(name, ".."):
		return snsInvalidValue("The message attribute name '%s' is invalid: use up to 256 letters, digits, hyphens, underscores and periods, with no period first, last or twice in a row.", name)
	case strings.HasPrefix(lower, "aws."), strings.HasPrefix(lower, "amazon."):
		return snsInvalidValue("The message attribute name '%s' is reserved: names must not start with AWS. or Amazon.", name)
	}
	return nil
}

// attrValue checks one attribute value by its type (String, Number or
// Binary, each optionally followed by ".custom"; String.Array holds a JSON
// array) and returns its Published form and its size in bytes.
func attrValue(name, typ, str, bin string) (string, int, *apiError) {
	base, _, _ := strings.Cut(typ, ".")
	empty := func() *apiError {
		return snsInvalidValue("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, base)
	}
	switch base {
	case "String":
		if str == "" {
			return "", 0, empty()
		}
		if typ == "String.Array" {
			var arr []any
			if err := json.Unmarshal([]byte(str), &arr); err != nil {
				return "", 0, snsInvalidValue("The message attribute '%s' with type 'String.Array' must hold a JSON array.", name)
			}
		}
		return str, len(str), nil
	case "Number":
		if str == "" {
			return "", 0, empty()
		}
		if _, err := strconv.ParseFloat(str, 64); err != nil {
			return "", 0, snsInvalidValue("Could not cast message attribute '%s' value to number.", name)
		}
		return str, len(str), nil
	case "Binary":
		raw, err := base64.StdEncoding.DecodeString(bin)
		if err != nil {
			return "", 0, snsInvalidValue("The message attribute '%s' has an invalid binary value.", name)
		}
		if len(raw) == 0 {
			return "", 0, empty()
		}
		return bin, len(raw), nil
	}
	return "", 0, snsInvalidValue("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
}
