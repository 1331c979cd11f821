package emulator

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
)

const topicPrefix = "arn:aws:sns:us-east-1:111122223333:"

func stringAttr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

func operations(calls []Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Operation)
	}
	return out
}

func TestSNSTopicLifecycle(t *testing.T) {
	env := newEnv(t, "basic", Options{PageSize: 1, Topics: []string{"seeded"}})
	c := env.sns
	if got := env.srv.TopicARN("alerts"); got != topicPrefix+"alerts" {
		t.Fatalf("TopicARN = %s", got)
	}

	created, err := c.CreateTopic(ctx, &sns.CreateTopicInput{
		Name:       aws.String("alerts"),
		Attributes: map[string]string{"DisplayName": "iamprune"},
		Tags:       []types.Tag{{Key: aws.String("team"), Value: aws.String("sec")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.TopicArn)
	if arn != topicPrefix+"alerts" {
		t.Errorf("CreateTopic ARN = %s", arn)
	}
	// Idempotent by name: the same attributes, or none, give the same topic.
	for _, in := range []*sns.CreateTopicInput{
		{Name: aws.String("alerts"), Attributes: map[string]string{"DisplayName": "iamprune", "FifoTopic": "false"}},
		{Name: aws.String("alerts")},
	} {
		again, err := c.CreateTopic(ctx, in)
		if err != nil || aws.ToString(again.TopicArn) != arn {
			t.Errorf("CreateTopic again = %v, %v; want %s", again, err, arn)
		}
	}
	_, err = c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts"), Attributes: map[string]string{"DisplayName": "other"}})
	wantAPIError(t, err, "InvalidParameter", 400)
	_, err = c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ops")}}})
	wantAPIError(t, err, "InvalidParameter", 400)

	// Page size 1: the paginator needs a page per topic and sees them in ARN order.
	var listed []string
	pages := 0
	for p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{}); p.HasMorePages(); pages++ {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tp := range out.Topics {
			listed = append(listed, aws.ToString(tp.TopicArn))
		}
	}
	if want := []string{topicPrefix + "alerts", topicPrefix + "seeded"}; !slices.Equal(listed, want) || pages != 2 {
		t.Errorf("ListTopics = %v in %d pages, want %v in 2", listed, pages, want)
	}
	_, err = c.ListTopics(ctx, &sns.ListTopicsInput{NextToken: aws.String("bogus")})
	wantAPIError(t, err, "InvalidParameter", 400)

	got, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	a := got.Attributes
	if a["TopicArn"] != arn || a["Owner"] != "111122223333" || a["DisplayName"] != "iamprune" || a["SubscriptionsConfirmed"] != "0" {
		t.Errorf("attributes = %v", a)
	}
	var policy struct{ Statement []struct{ Resource string } }
	if err := json.Unmarshal([]byte(a["Policy"]), &policy); err != nil || len(policy.Statement) != 1 || policy.Statement[0].Resource != arn {
		t.Errorf("Policy = %s (%v)", a["Policy"], err)
	}

	if _, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("GetTopicAttributes of a deleted topic = %v, want NotFoundException", err)
	}
	// DeleteTopic is idempotent.
	if _, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)}); err != nil {
		t.Errorf("second DeleteTopic: %v", err)
	}
	out, err := c.ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil || len(out.Topics) != 1 || aws.ToString(out.Topics[0].TopicArn) != topicPrefix+"seeded" {
		t.Errorf("ListTopics after delete = %+v, %v", out, err)
	}

	want := []string{"CreateTopic", "CreateTopic", "CreateTopic", "CreateTopic", "CreateTopic", "DeleteTopic", "DeleteTopic"}
	if got := operations(env.srv.Writes()); !slices.Equal(got, want) {
		t.Errorf("Writes = %v, want %v", got, want)
	}
}

func TestSNSCreateTopicInvalid(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	tests := []struct {
		name  string
		attrs map[string]string
	}{
		{name: ""},
		{name: "has space"},
		{name: "dots.are.not.allowed"},
		{name: strings.Repeat("a", 257)},
		{name: "orders.fifo"}, // a .fifo name needs FifoTopic=true
		{name: "orders", attrs: map[string]string{"FifoTopic": "true"}},
		{name: "orders", attrs: map[string]string{"FifoTopic": "yes"}},
		{name: "orders", attrs: map[string]string{"ContentBasedDeduplication": "true"}},
		{name: "orders", attrs: map[string]string{"Colour": "blue"}},
		{name: "orders", attrs: map[string]string{"Policy": "{not json"}},
	}
	for _, tt := range tests {
		_, err := env.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(tt.name), Attributes: tt.attrs})
		var ip *types.InvalidParameterException
		if !errors.As(err, &ip) {
			t.Errorf("CreateTopic(%.20q, %v) = %v, want InvalidParameterException", tt.name, tt.attrs, err)
		}
	}
	if _, err := env.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(strings.Repeat("a", 256))}); err != nil {
		t.Errorf("a 256-character name was rejected: %v", err)
	}
	if _, err := env.sns.CreateTopic(ctx, &sns.CreateTopicInput{
		Name: aws.String("orders.fifo"), Attributes: map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"},
	}); err != nil {
		t.Errorf("a FIFO topic was rejected: %v", err)
	}
}

func TestSNSPublish(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	env := newEnv(t, "basic", Options{Topics: []string{"alerts", "other"}, Now: func() time.Time { return now }})
	arn := env.srv.TopicARN("alerts")
	before := dump(t, env.srv)

	out, err := env.sns.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(arn),
		Subject:  aws.String("[iamprune] 3 principals: changes on 2026-12-15"),
		Message:  aws.String("Hello owner,\nyour role is unused.\n"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"iamprune.account": stringAttr("111122223333"),
			"count":            {DataType: aws.String("Number"), StringValue: aws.String("3")},
			"blob":             {DataType: aws.String("Binary"), BinaryValue: []byte("raw")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.MessageId)
	if len(id) != 36 || out.SequenceNumber != nil {
		t.Errorf("MessageId = %q, SequenceNumber = %v", id, out.SequenceNumber)
	}
	got := env.srv.Published(arn)
	if len(got) != 1 {
		t.Fatalf("Published = %+v, want one message", got)
	}
	m := got[0]
	wantAttrs := map[string]string{"iamprune.account": "111122223333", "count": "3", "blob": "cmF3"}
	if m.TopicARN != arn || m.MessageID != id || !m.Time.Equal(now) ||
		m.Subject != "[iamprune] 3 principals: changes on 2026-12-15" || m.Message != "Hello owner,\nyour role is unused.\n" ||
		!maps.Equal(m.MessageAttributes, wantAttrs) {
		t.Errorf("Published[0] = %+v", m)
	}
	// Published returns copies.
	got[0].MessageAttributes["count"] = "99"
	if env.srv.Published(arn)[0].MessageAttributes["count"] != "3" {
		t.Error("Published shares its maps with the emulator")
	}
	if other := env.srv.Published(env.srv.TopicARN("other")); len(other) != 0 {
		t.Errorf("another topic received %+v", other)
	}
	if w := operations(env.srv.Writes()); !slices.Equal(w, []string{"Publish"}) {
		t.Errorf("Writes = %v", w)
	}

	after := dump(t, env.srv)
	diff, err := DumpDiff([]byte(before), []byte(after))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(diff, []string{"Published/" + id}) {
		t.Errorf("DumpDiff = %v", diff)
	}
	if !strings.Contains(after, `"Subject": "[iamprune] 3 principals: changes on 2026-12-15"`) || !strings.Contains(before, `"TopicArn": "`+arn+`"`) {
		t.Errorf("dump lacks the topic or the message:\n%s", after)
	}

	// Message ids are the same from one run to the next.
	again := newEnv(t, "basic", Options{Topics: []string{"alerts"}})
	out2, err := again.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("x")})
	if err != nil || aws.ToString(out2.MessageId) != id {
		t.Errorf("second emulator's first MessageId = %v (%v), want %s", aws.ToString(out2.MessageId), err, id)
	}
}

func TestSNSPublishLimits(t *testing.T) {
	env := newEnv(t, "basic", Options{Topics: []string{"alerts"}})
	arn := env.srv.TopicARN("alerts")
	const max = 262144
	attrs := map[string]types.MessageAttributeValue{"route": stringAttr("team-a")}
	attrSize := len("route") + len("String") + len("team-a")
	tests := []struct {
		name    string
		subject *string
		message string
		attrs   map[string]types.MessageAttributeValue
		code    string // "" means accepted
	}{
		{name: "subject of 100", subject: aws.String(strings.Repeat("s", 100)), message: "m"},
		{name: "subject of 101", subject: aws.String(strings.Repeat("s", 101)), message: "m", code: "InvalidParameter"},
		{name: "subject starting with punctuation", subject: aws.String("[iamprune] notice"), message: "m"},
		{name: "subject with a newline", subject: aws.String("line one\nline two"), message: "m", code: "InvalidParameter"},
		{name: "subject with a tab", subject: aws.String("a\tb"), message: "m", code: "InvalidParameter"},
		{name: "subject starting with a space", subject: aws.String(" notice"), message: "m", code: "InvalidParameter"},
		{name: "subject not ASCII", subject: aws.String("notice…"), message: "m", code: "InvalidParameter"},
		{name: "empty subject", subject: aws.String(""), message: "m", code: "InvalidParameter"},
		{name: "message of 262144 bytes", message: strings.Repeat("m", max)},
		{name: "message of 262145 bytes", message: strings.Repeat("m", max+1), code: "InvalidParameter"},
		{name: "multi-byte message at the limit", message: strings.Repeat("é", max/2)},
		{name: "multi-byte message over the limit", message: strings.Repeat("é", max/2) + "m", code: "InvalidParameter"},
		{name: "message and attributes at the limit", message: strings.Repeat("m", max-attrSize), attrs: attrs},
		{name: "message and attributes over the limit", message: strings.Repeat("m", max-attrSize+1), attrs: attrs, code: "InvalidParameter"},
		{name: "empty message", message: "", code: "InvalidParameter"},
		{name: "attribute with an unknown type", message: "m", attrs: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("Text"), StringValue: aws.String("v")}}, code: "ParameterValueInvalid"},
		{name: "attribute with an empty value", message: "m", attrs: map[string]types.MessageAttributeValue{"a": stringAttr("")}, code: "ParameterValueInvalid"},
		{name: "number attribute not a number", message: "m", attrs: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("Number"), StringValue: aws.String("ten")}}, code: "ParameterValueInvalid"},
		{name: "reserved attribute name", message: "m", attrs: map[string]types.MessageAttributeValue{"AWS.trace": stringAttr("v")}, code: "ParameterValueInvalid"},
		{name: "attribute name with two periods", message: "m", attrs: map[string]types.MessageAttributeValue{"a..b": stringAttr("v")}, code: "ParameterValueInvalid"},
		{name: "custom string type", message: "m", attrs: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("String.route"), StringValue: aws.String("v")}}},
	}
	accepted := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.sns.Publish(ctx, &sns.PublishInput{
				TopicArn: aws.String(arn), Subject: tt.subject, Message: aws.String(tt.message), MessageAttributes: tt.attrs,
			})
			if tt.code == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				accepted++
				last := env.srv.Published(arn)
				if m := last[len(last)-1]; m.Message != tt.message || m.Subject != aws.ToString(tt.subject) {
					t.Errorf("recorded subject %q and a message of %d bytes", m.Subject, len(m.Message))
				}
				return
			}
			wantAPIError(t, err, tt.code, 400)
			var ip *types.InvalidParameterException
			var iv *types.InvalidParameterValueException
			if tt.code == "InvalidParameter" && !errors.As(err, &ip) || tt.code == "ParameterValueInvalid" && !errors.As(err, &iv) {
				t.Errorf("error is not the SDK's typed exception: %T %v", errors.Unwrap(err), err)
			}
		})
	}
	if n := len(env.srv.Published(arn)); n != accepted {
		t.Errorf("%d messages recorded, want the %d accepted", n, accepted)
	}
}

func TestSNSPublishToUnknownTopic(t *testing.T) {
	env := newEnv(t, "basic", Options{Topics: []string{"alerts"}})
	_, err := env.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topicPrefix + "missing"), Message: aws.String("m")})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("Publish to an unknown topic = %v, want NotFoundException", err)
	}
	if nf.ErrorMessage() != "Topic does not exist" {
		t.Errorf("message = %q", nf.ErrorMessage())
	}
	wantAPIError(t, err, "NotFound", 404)

	for _, bad := range []string{"alerts", "arn:aws:sqs:us-east-1:111122223333:alerts", "arn:aws:sns:us-east-1::alerts"} {
		_, err := env.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(bad), Message: aws.String("m")})
		var ip *types.InvalidParameterException
		if !errors.As(err, &ip) {
			t.Errorf("Publish to %q = %v, want InvalidParameterException", bad, err)
		}
	}
	if n := len(env.srv.Published(topicPrefix + "missing")); n != 0 {
		t.Errorf("%d messages recorded for an unknown topic", n)
	}
}

func TestSNSPublishFIFO(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	env := newEnv(t, "basic", Options{Topics: []string{"digests.fifo"}, Now: func() time.Time { return now }})
	arn := env.srv.TopicARN("digests.fifo")
	publish := func(group, dedup string) (*sns.PublishOutput, error) {
		in := &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("digest")}
		if group != "" {
			in.MessageGroupId = aws.String(group)
		}
		if dedup != "" {
			in.MessageDeduplicationId = aws.String(dedup)
		}
		return env.sns.Publish(ctx, in)
	}
	_, err := publish("", "d1")
	wantAPIError(t, err, "InvalidParameter", 400)
	_, err = publish("iamprune", "") // the seeded topic has no content-based deduplication
	wantAPIError(t, err, "InvalidParameter", 400)

	first, err := publish("iamprune", "d1")
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(first.SequenceNumber) == "" {
		t.Error("no SequenceNumber from a FIFO topic")
	}
	dup, err := publish("iamprune", "d1")
	if err != nil || aws.ToString(dup.MessageId) != aws.ToString(first.MessageId) {
		t.Errorf("duplicate within the window = %v, %v; want message %s again", dup, err, aws.ToString(first.MessageId))
	}
	now = now.Add(snsDedupWindow)
	later, err := publish("iamprune", "d1")
	if err != nil || aws.ToString(later.MessageId) == aws.ToString(first.MessageId) {
		t.Errorf("after the window = %v, %v; want a new message", later, err)
	}
	got := env.srv.Published(arn)
	if len(got) != 2 || got[0].MessageGroupID != "iamprune" {
		t.Errorf("Published = %+v, want two messages in group iamprune", got)
	}

	// A standard topic refuses a deduplication id.
	env.srv.st.mu.Lock()
	env.srv.st.addTopic("plain", nil, nil)
	env.srv.st.mu.Unlock()
	_, err = env.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(env.srv.TopicARN("plain")), Message: aws.String("m"), MessageDeduplicationId: aws.String("d")})
	wantAPIError(t, err, "InvalidParameter", 400)
}

func TestSNSPublishInjectedFailures(t *testing.T) {
	env := newEnv(t, "basic", Options{Topics: []string{"alerts"}})
	arn := env.srv.TopicARN("alerts")
	in := &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m")}

	env.srv.FailNext("Publish", "AuthorizationError", 1)
	_, err := env.sns.Publish(ctx, in)
	var ae *types.AuthorizationErrorException
	if !errors.As(err, &ae) {
		t.Errorf("injected AuthorizationError = %v", err)
	}
	wantAPIError(t, err, "AuthorizationError", 403)

	// A server fault is retried by the SDK (3 attempts here) and succeeds.
	env.srv.FailNext("Publish", "InternalError", 2)
	if _, err := env.sns.Publish(ctx, in); err != nil {
		t.Errorf("Publish after two server faults: %v", err)
	}
	if n := len(env.srv.Published(arn)); n != 1 {
		t.Errorf("%d messages recorded, want 1", n)
	}
	if n := len(env.srv.Injected()); n != 3 {
		t.Errorf("%d injected failures, want 3", n)
	}
}
