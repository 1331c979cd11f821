package emulator

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func newSQS(t *testing.T, opts Options) (*testEnv, *sqs.Client) {
	t.Helper()
	env := newEnv(t, "basic", opts)
	return env, sqs.NewFromConfig(sdkConfig(3), func(o *sqs.Options) { o.BaseEndpoint = aws.String(env.url) })
}

func send(t *testing.T, c *sqs.Client, url, body string) string {
	t.Helper()
	out, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return aws.ToString(out.MessageId)
}

func receive(t *testing.T, c *sqs.Client, url string, max, wait, visibility int32) []types.Message {
	t.Helper()
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: max, WaitTimeSeconds: wait,
		VisibilityTimeout:           visibility,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func bodies(ms []types.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, aws.ToString(m.Body))
	}
	return out
}

func TestSQSQueues(t *testing.T) {
	env, c := newSQS(t, Options{Queues: []string{"seeded"}})
	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("seeded")})
	if err != nil {
		t.Fatal(err)
	}
	if want := env.url + "/111122223333/seeded"; aws.ToString(got.QueueUrl) != want {
		t.Errorf("GetQueueUrl = %s, want %s", aws.ToString(got.QueueUrl), want)
	}
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	var qdne *types.QueueDoesNotExist
	if !errors.As(err, &qdne) {
		t.Errorf("GetQueueUrl(nope) = %v, want QueueDoesNotExist", err)
	}
	wantAPIError(t, err, "AWS.SimpleQueueService.NonExistentQueue", 400)

	_, err = c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"),
		Attributes: map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:111122223333:missing","maxReceiveCount":2}`}})
	wantAPIError(t, err, "InvalidParameterValue", 400)

	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq")})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{
		"VisibilityTimeout": "5",
		"RedrivePolicy":     `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:111122223333:dlq","maxReceiveCount":"2"}`,
	}
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	// Idempotent with the same attributes, an error with others.
	if again, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: attrs}); err != nil || aws.ToString(again.QueueUrl) != aws.ToString(q.QueueUrl) {
		t.Errorf("CreateQueue again = %v, %v", again, err)
	}
	_, err = c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: map[string]string{"VisibilityTimeout": "6"}})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) {
		t.Errorf("CreateQueue with other attributes = %v, want QueueNameExists", err)
	}
	for _, bad := range []map[string]string{{"VisibilityTimeout": "-1"}, {"Bogus": "1"}} {
		if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bad"), Attributes: bad}); err == nil {
			t.Errorf("CreateQueue(%v) succeeded", bad)
		}
	}

	send(t, c, aws.ToString(q.QueueUrl), "one")
	ga, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"QueueArn": "arn:aws:sqs:us-east-1:111122223333:q", "VisibilityTimeout": "5",
		"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "0",
		"RedrivePolicy": attrs["RedrivePolicy"],
	} {
		if ga.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, ga.Attributes[k], v)
		}
	}
	if got := env.srv.Messages(aws.ToString(dlq.QueueUrl)); len(got) != 0 {
		t.Errorf("dlq messages = %v", got)
	}
}

func TestSQSReceiveDeleteAndVisibility(t *testing.T) {
	t.Parallel()
	env, c := newSQS(t, Options{Queues: []string{"work"}})
	url := env.url + "/111122223333/work"
	send(t, c, url, "a")
	send(t, c, url, "b")
	send(t, c, url, "c")

	got := receive(t, c, url, 2, 0, 1)
	if b := bodies(got); len(b) != 2 || b[0] != "a" || b[1] != "b" {
		t.Fatalf("first receive = %v, want [a b]", b)
	}
	if rc := got[0].Attributes["ApproximateReceiveCount"]; rc != "1" {
		t.Errorf("ApproximateReceiveCount = %q", rc)
	}
	// a and b are in flight; only c is receivable.
	if b := bodies(receive(t, c, url, 10, 0, 30)); len(b) != 1 || b[0] != "c" {
		t.Fatalf("second receive = %v, want [c]", b)
	}
	// Extend a past its 1 s timeout and delete b: a one-second long poll
	// then finds nothing (c is hidden for 30 s) and waits it out.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 30}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: got[1].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if b := bodies(receive(t, c, url, 10, 1, 30)); len(b) != 0 {
		t.Errorf("receive after extension = %v, want none", b)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("empty long poll returned after %v, want about 1s", d)
	}
	msgs := env.srv.Messages(url)
	if len(msgs) != 2 || msgs[0].Body != "a" || !msgs[0].InFlight || msgs[1].Body != "c" {
		t.Errorf("Messages = %+v", msgs)
	}

	// Deleting with a garbage handle is an error; with a deleted
	// message's handle it is not.
	_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("garbage")})
	var invalid *types.ReceiptHandleIsInvalid
	if !errors.As(err, &invalid) {
		t.Errorf("DeleteMessage(garbage) = %v, want ReceiptHandleIsInvalid", err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: got[1].ReceiptHandle}); err != nil {
		t.Errorf("second DeleteMessage = %v", err)
	}
	// The deleted message's visibility cannot be changed.
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: got[1].ReceiptHandle, VisibilityTimeout: 0})
	var notInflight *types.MessageNotInflight
	if !errors.As(err, &notInflight) {
		t.Errorf("ChangeMessageVisibility(deleted) = %v, want MessageNotInflight", err)
	}

	// Visibility 0 makes a visible again at once; its old handle is then
	// stale: deleting with it does nothing.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	again := receive(t, c, url, 10, 0, 30)
	if b := bodies(again); len(b) != 1 || b[0] != "a" || again[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("receive after visibility 0 = %v %v", b, again)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: got[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if n := len(env.srv.Messages(url)); n != 2 {
		t.Errorf("a stale handle deleted a message: %d left", n)
	}
	batch, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("1"), ReceiptHandle: again[0].ReceiptHandle},
		{Id: aws.String("2"), ReceiptHandle: aws.String("garbage")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.Successful) != 1 || aws.ToString(batch.Successful[0].Id) != "1" || len(batch.Failed) != 1 || aws.ToString(batch.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Errorf("DeleteMessageBatch = %+v", batch)
	}
	if msgs := env.srv.Messages(url); len(msgs) != 1 || msgs[0].Body != "c" {
		t.Errorf("Messages after batch delete = %+v", msgs)
	}
	_, err = c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("1"), ReceiptHandle: aws.String("x")}, {Id: aws.String("1"), ReceiptHandle: aws.String("y")},
	}})
	var dup *types.BatchEntryIdsNotDistinct
	if !errors.As(err, &dup) {
		t.Errorf("DeleteMessageBatch with repeated ids = %v", err)
	}
}

func TestSQSLongPollReturnsOnSend(t *testing.T) {
	env, c := newSQS(t, Options{Queues: []string{"work"}})
	url := env.url + "/111122223333/work"
	go func() {
		time.Sleep(200 * time.Millisecond)
		c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("late")})
	}()
	start := time.Now()
	got := receive(t, c, url, 1, 10, 30)
	if b := bodies(got); len(b) != 1 || b[0] != "late" {
		t.Fatalf("long poll = %v", b)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("long poll took %v; it should end when the message arrives", d)
	}
}

func TestSQSVisibilityTimeoutAndRedrive(t *testing.T) {
	t.Parallel()
	env, c := newSQS(t, Options{})
	if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq")}); err != nil {
		t.Fatal(err)
	}
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:111122223333:dlq","maxReceiveCount":2}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(q.QueueUrl)
	id := send(t, c, url, "poison")
	for i := 1; i <= 2; i++ {
		// A long poll wakes when the visibility timeout (1 s) runs out.
		got := receive(t, c, url, 1, 5, 1)
		if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != strconv.Itoa(i) {
			t.Fatalf("receive %d = %v", i, got)
		}
	}
	// The third attempt moves it to the dead-letter queue instead.
	if got := receive(t, c, url, 1, 2, 1); len(got) != 0 {
		t.Fatalf("receive after maxReceiveCount = %v", bodies(got))
	}
	if got := env.srv.Messages(url); len(got) != 0 {
		t.Errorf("source queue still holds %+v", got)
	}
	dlq := env.srv.Messages("dlq")
	if len(dlq) != 1 || dlq[0].MessageID != id || dlq[0].Body != "poison" {
		t.Errorf("dlq = %+v", dlq)
	}
	if got := receive(t, c, env.url+"/111122223333/dlq", 1, 0, 30); len(got) != 1 || aws.ToString(got[0].MessageId) != id {
		t.Errorf("receive from dlq = %v", got)
	}
}

func TestSQSUnsupported(t *testing.T) {
	env, c := newSQS(t, Options{Queues: []string{"work"}})
	_, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(env.url + "/111122223333/work")})
	var unsupported *types.UnsupportedOperation
	if !errors.As(err, &unsupported) {
		t.Errorf("PurgeQueue = %v, want UnsupportedOperation", err)
	}
	_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(env.url + "/111122223333/work"), MaxNumberOfMessages: 11})
	wantAPIError(t, err, "InvalidParameterValue", 400)
}

// SendMessageBatch sends each entry on its own: a bad entry is reported in
// Failed, the others are queued in order; a batch of eleven is refused.
func TestSQSSendMessageBatch(t *testing.T) {
	env, c := newSQS(t, Options{Queues: []string{"work"}})
	url := env.url + "/111122223333/work"
	out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("one")},
		{Id: aws.String("b"), MessageBody: aws.String("two"), DelaySeconds: 901},
		{Id: aws.String("c"), MessageBody: aws.String("three")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "b" || aws.ToString(out.Failed[0].Code) != "InvalidParameterValue" {
		t.Errorf("SendMessageBatch = %+v", out)
	}
	if got := bodies(receive(t, c, url, 10, 0, 30)); !slices.Equal(got, []string{"one", "three"}) {
		t.Errorf("received %v, want one and three", got)
	}
	var entries []types.SendMessageBatchRequestEntry
	for i := range 11 {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String("x")})
	}
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	wantAPIError(t, err, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400)
}
