package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/iamprune/iamprune"
)

// SNS limits (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).
const (
	SNSMaxSubject = 100
	// SNSMaxMessageBytes bounds the message body plus its attributes
	// (names, types and values), in UTF-8 bytes.
	SNSMaxMessageBytes = 262144
)

// SNS message attributes, for subscription filter policies.
const (
	SNSAttrAccount = "iamprune.account"
	SNSAttrRoute   = "iamprune.route"
)

// SNSPublisher is the one SNS call the channel makes; *sns.Client
// implements it.
type SNSPublisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ SNSPublisher = (*sns.Client)(nil)

// SNS publishes the text rendering of a digest to a topic. E-mail
// subscribers read it as is, so it is cut to the SNS limit with a line
// that says what was left out.
type SNS struct {
	Channel iamprune.Channel
	Client  SNSPublisher
}

var _ iamprune.Notifier = (*SNS)(nil)

// Name returns the channel name.
func (s *SNS) Name() string { return s.Channel.Name }

// Send publishes m to the channel's topic.
func (s *SNS) Send(ctx context.Context, m iamprune.Message) error {
	if s.Channel.TopicARN == "" {
		return configError(s.Channel, "topic_arn is required")
	}
	if s.Client == nil {
		return permanent(fmt.Errorf("notify: channel %q: no SNS client configured", s.Channel.Name))
	}
	in := snsInput(s.Channel.TopicARN, m)
	if _, err := s.Client.Publish(ctx, in); err != nil {
		return classifySNS(fmt.Errorf("notify: channel %q: sns publish to %s: %w", s.Channel.Name, s.Channel.TopicARN, err))
	}
	return nil
}

func snsInput(topic string, m iamprune.Message) *sns.PublishInput {
	attrs := map[string]snstypes.MessageAttributeValue{}
	attrBytes := 0
	if d := m.Digest; d != nil {
		for name, v := range map[string]string{SNSAttrAccount: d.Account, SNSAttrRoute: d.Route} {
			// SNS rejects empty attribute values.
			if v != "" {
				attrs[name] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
				attrBytes += len(name) + len("String") + len(v)
			}
		}
	}
	text := m.Text
	if strings.TrimSpace(text) == "" {
		text = m.Subject // SNS rejects an empty message
	}
	if strings.TrimSpace(text) == "" {
		text = "iamprune notification"
	}
	in := &sns.PublishInput{
		TopicArn: aws.String(topic),
		Subject:  aws.String(snsSubject(m.Subject)),
		Message:  aws.String(truncateSNSMessage(text, m.Digest, SNSMaxMessageBytes-attrBytes)),
	}
	if len(attrs) > 0 {
		in.MessageAttributes = attrs
	}
	if strings.HasSuffix(topic, ".fifo") {
		// FIFO topics require a group; one group keeps digests in order,
		// and a content-derived id lets SNS drop a retried duplicate.
		sum := sha256.Sum256([]byte(*in.Subject + "\x00" + *in.Message))
		in.MessageGroupId = aws.String("iamprune")
		in.MessageDeduplicationId = aws.String(hex.EncodeToString(sum[:]))
	}
	return in
}

// snsSubject makes s a valid SNS subject: printable ASCII on one line,
// starting with a letter, number or punctuation mark, at most 100
// characters ("..." marks a cut).
func snsSubject(s string) string {
	s = strings.NewReplacer(
		"…", "...", "—", "-", "–", "-", "‘", "'", "’", "'", "“", `"`, "”", `"`, "·", "-", "•", "-",
	).Replace(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r > unicode.MaxASCII:
			b.WriteByte('?')
		case unicode.IsControl(r) || r == ' ':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	s = strings.Join(strings.Fields(b.String()), " ")
	s = strings.TrimLeftFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsPunct(r)
	})
	if s == "" {
		return "iamprune notification"
	}
	if len(s) > SNSMaxSubject {
		s = strings.TrimRight(s[:SNSMaxSubject-3], " ") + "..."
	}
	return s
}

// truncateSNSMessage cuts text to max UTF-8 bytes at a rune boundary, and
// then appends a line naming how many principals of d were cut (those
// whose ARN the kept text does not show in full).
func truncateSNSMessage(text string, d *iamprune.Digest, max int) string {
	if len(text) <= max {
		return text
	}
	total := 0
	if d != nil {
		total = len(d.Principals)
	}
	// Reserve room for the longest possible note: the count only shrinks.
	budget := max - len(snsCutNote(total, d != nil))
	if budget < 0 {
		budget = 0
	}
	cut := budget
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	kept := text[:cut]
	n := 0
	if d != nil {
		for _, p := range d.Principals {
			if !strings.Contains(kept, p.ARN) {
				n++
			}
		}
	}
	return kept + snsCutNote(n, d != nil)
}

func snsCutNote(principals int, counted bool) string {
	if !counted {
		return "\n\n[message cut to the SNS size limit: run `iamprune plan` for the full list]\n"
	}
	return fmt.Sprintf("\n\n[message cut to the SNS size limit: %s not shown; run `iamprune plan` for the full list]\n",
		plural(principals, "principal"))
}

// throttleCodes are SNS (and KMS) error codes worth retrying although they
// are client faults.
var throttleCodes = map[string]bool{
	"Throttled": true, "Throttling": true, "ThrottlingException": true,
	"KMSThrottling": true, "RequestLimitExceeded": true, "TooManyRequestsException": true,
}

// classifySNS: client faults (bad topic, no permission, invalid parameter)
// are permanent, except throttling; server faults and transport errors are
// temporary. The SDK's own retryer has already retried them.
func classifySNS(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		if throttleCodes[api.ErrorCode()] {
			return err
		}
		if api.ErrorFault() == smithy.FaultClient {
			return permanent(err)
		}
		if api.ErrorFault() == smithy.FaultServer {
			return err
		}
	}
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) {
		c := resp.HTTPStatusCode()
		if c >= 400 && c < 500 && c != 429 && c != 408 {
			return permanent(err)
		}
	}
	return err
}
