package emulator

import (
	"crypto/md5"
	"encoding/hex"
	"slices"
	"strconv"
	"time"
)

// SQS message operations: send, receive with long polling and redrive,
// visibility changes and deletes by receipt handle.

func (s *Server) sendMessage(r sqsRequest) (any, *apiError) {
	var in struct {
		QueueUrl          string
		MessageBody       *string
		DelaySeconds      *int
		MessageAttributes map[string]any
	}
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if in.MessageBody == nil || *in.MessageBody == "" {
		return nil, sqsError("MissingParameter", "The request must contain the parameter MessageBody.")
	}
	if len(in.MessageAttributes) > 0 {
		// Their MD5 would have to be computed as SQS does; nothing here
		// sends them.
		return nil, sqsError("UnsupportedOperation", "the iamprune emulator does not implement message attributes")
	}
	s.sqs.mu.Lock()
	defer s.sqs.mu.Unlock()
	qu, e := s.lookupQueue(in.QueueUrl)
	if e != nil {
		return nil, e
	}
	m, e := s.sendLocked(qu, *in.MessageBody, in.DelaySeconds)
	if e != nil {
		return nil, e
	}
	return map[string]string{"MessageId": m.id, "MD5OfMessageBody": m.md5}, nil
}

// sendLocked adds one message to qu; s.sqs.mu is held.
func (s *Server) sendLocked(qu *sqsQueue, body string, delaySeconds *int) (*sqsMessage, *apiError) {
	if limit := qu.intAttr("MaximumMessageSize"); len(body) > limit {
		return nil, sqsError("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", limit)
	}
	delay := qu.intAttr("DelaySeconds")
	if delaySeconds != nil {
		if *delaySeconds < 0 || *delaySeconds > 900 {
			return nil, sqsError("InvalidParameterValue", "Value %d for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.", *delaySeconds)
		}
		delay = *delaySeconds
	}
	sum := md5.Sum([]byte(body))
	now := time.Now()
	m := &sqsMessage{id: newRequestID(), body: body, md5: hex.EncodeToString(sum[:]),
		sent: now, visibleAt: now.Add(time.Duration(delay) * time.Second)}
	qu.messages = append(qu.messages, m)
	s.sqs.notify()
	return m, nil
}

type receiveInput struct {
	QueueUrl                    string
	MaxNumberOfMessages         *int
	WaitTimeSeconds             *int
	VisibilityTimeout           *int
	AttributeNames              []string
	MessageSystemAttributeNames []string
}

// receiveMessage answers at once when a message is receivable, else waits
// up to WaitTimeSeconds for one: a send, a visibility change to zero or
// a visibility timeout running out ends the wait early.
func (s *Server) receiveMessage(r sqsRequest) (any, *apiError) {
	var in receiveInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	count := 1
	if in.MaxNumberOfMessages != nil {
		count = *in.MaxNumberOfMessages
		if count < 1 || count > 10 {
			return nil, sqsError("InvalidParameterValue", "Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", count)
		}
	}
	if in.WaitTimeSeconds != nil && (*in.WaitTimeSeconds < 0 || *in.WaitTimeSeconds > 20) {
		return nil, sqsError("InvalidParameterValue", "Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", *in.WaitTimeSeconds)
	}
	if in.VisibilityTimeout != nil && (*in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200) {
		return nil, sqsError("InvalidParameterValue", "Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", *in.VisibilityTimeout)
	}
	names := append(slices.Clone(in.AttributeNames), in.MessageSystemAttributeNames...)

	var deadline time.Time
	for {
		s.sqs.mu.Lock()
		qu, e := s.lookupQueue(in.QueueUrl)
		if e != nil {
			s.sqs.mu.Unlock()
			return nil, e
		}
		if deadline.IsZero() {
			wait := qu.intAttr("ReceiveMessageWaitTimeSeconds")
			if in.WaitTimeSeconds != nil {
				wait = *in.WaitTimeSeconds
			}
			deadline = time.Now().Add(time.Duration(wait) * time.Second)
		}
		visibility := qu.intAttr("VisibilityTimeout")
		if in.VisibilityTimeout != nil {
			visibility = *in.VisibilityTimeout
		}
		now := time.Now()
		msgs := s.receiveLocked(qu, count, time.Duration(visibility)*time.Second, names, now)
		wake := s.sqs.wake
		next := deadline
		for _, m := range qu.messages {
			if now.Before(m.visibleAt) && m.visibleAt.Before(next) {
				next = m.visibleAt
			}
		}
		s.sqs.mu.Unlock()
		if len(msgs) > 0 || !now.Before(deadline) {
			return map[string]any{"Messages": msgs}, nil
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case <-wake:
		case <-timer.C:
		case <-r.ctx.Done():
			timer.Stop()
			return map[string]any{"Messages": []any{}}, nil
		}
		timer.Stop()
	}
}

// receiveLocked hands out up to count receivable messages, moving those
// received maxReceiveCount times already to the dead-letter queue
// instead, as SQS does. Callers hold s.sqs.mu.
func (s *Server) receiveLocked(qu *sqsQueue, count int, visibility time.Duration, names []string, now time.Time) []map[string]any {
	var dlq *sqsQueue
	if qu.redrive != nil {
		dlq = s.sqs.byARN(qu.redrive.target)
	}
	out := []map[string]any{}
	kept := qu.messages[:0]
	moved := false
	for _, m := range qu.messages {
		receivable := !now.Before(m.visibleAt)
		if receivable && dlq != nil && m.receives >= qu.redrive.max {
			// The message keeps its id, body, sent time and count.
			m.handle, m.visibleAt = "", now
			dlq.messages = append(dlq.messages, m)
			moved = true
			continue
		}
		kept = append(kept, m)
		if !receivable || len(out) == count {
			continue
		}
		m.receives++
		if m.firstRecv.IsZero() {
			m.firstRecv = now
		}
		m.handle = "rh-" + newRequestID() + "-" + newRequestID()
		qu.handles[m.handle] = m
		m.visibleAt = now.Add(visibility)
		out = append(out, messageJSON(m, names))
	}
	clear(qu.messages[len(kept):])
	qu.messages = kept
	if moved {
		s.sqs.notify()
	}
	return out
}

// messageJSON renders a received message with the system attributes
// asked for by name or with "All".
func messageJSON(m *sqsMessage, names []string) map[string]any {
	all := map[string]string{
		"ApproximateReceiveCount":          strconv.Itoa(m.receives),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstRecv.UnixMilli(), 10),
		"SentTimestamp":                    strconv.FormatInt(m.sent.UnixMilli(), 10),
	}
	attrs := map[string]string{}
	for _, n := range names {
		if n == "All" {
			attrs = all
			break
		}
		if v, ok := all[n]; ok {
			attrs[n] = v
		}
	}
	out := map[string]any{"MessageId": m.id, "ReceiptHandle": m.handle, "MD5OfBody": m.md5, "Body": m.body}
	if len(attrs) > 0 {
		out["Attributes"] = attrs
	}
	return out
}

// messageByHandle finds the message a receipt handle was issued for.
// Callers hold s.sqs.mu.
func (s *Server) messageByHandle(queueURL, handle string) (*sqsQueue, *sqsMessage, *apiError) {
	qu, e := s.lookupQueue(queueURL)
	if e != nil {
		return nil, nil, e
	}
	if handle == "" {
		return nil, nil, sqsError("MissingParameter", "The request must contain the parameter ReceiptHandle.")
	}
	m := qu.handles[handle]
	if m == nil {
		return nil, nil, sqsError("ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", handle)
	}
	return qu, m, nil
}

func (s *Server) changeMessageVisibility(r sqsRequest) (any, *apiError) {
	var in struct {
		QueueUrl, ReceiptHandle string
		VisibilityTimeout       *int
	}
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if in.VisibilityTimeout == nil || *in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200 {
		return nil, sqsError("InvalidParameterValue", "VisibilityTimeout must be given, from 0 to 43200 seconds.")
	}
	s.sqs.mu.Lock()
	defer s.sqs.mu.Unlock()
	_, m, e := s.messageByHandle(in.QueueUrl, in.ReceiptHandle)
	if e != nil {
		return nil, e
	}
	now := time.Now()
	// A stale handle (the message was received again since) or a message
	// deleted or visible again can no longer be extended.
	if m.deleted || m.handle != in.ReceiptHandle || !m.inFlight(now) {
		return nil, sqsError("MessageNotInflight", "Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.", in.ReceiptHandle)
	}
	m.visibleAt = now.Add(time.Duration(*in.VisibilityTimeout) * time.Second)
	if *in.VisibilityTimeout == 0 {
		s.sqs.notify()
	}
	return map[string]any{}, nil
}

func (s *Server) deleteMessage(r sqsRequest) (any, *apiError) {
	var in struct{ QueueUrl, ReceiptHandle string }
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	s.sqs.mu.Lock()
	defer s.sqs.mu.Unlock()
	if e := s.deleteLocked(in.QueueUrl, in.ReceiptHandle); e != nil {
		return nil, e
	}
	return map[string]any{}, nil
}

// deleteLocked deletes the message of a receipt handle. As SQS documents,
// a handle that is not the latest one for its message succeeds without
// deleting it, so a consumer whose visibility timeout ran out cannot
// delete a message another consumer now holds. Callers hold s.sqs.mu.
func (s *Server) deleteLocked(queueURL, handle string) *apiError {
	qu, m, e := s.messageByHandle(queueURL, handle)
	if e != nil {
		return e
	}
	if m.deleted || m.handle != handle {
		return nil
	}
	m.deleted = true
	if i := slices.Index(qu.messages, m); i >= 0 {
		qu.messages = slices.Delete(qu.messages, i, i+1)
	}
	return nil
}

func (s *Server) deleteMessageBatch(r sqsRequest) (any, *apiError) {
	var in struct {
		QueueUrl string
		Entries  []struct{ Id, ReceiptHandle string }
	}
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	ids := make([]string, len(in.Entries))
	for i, en := range in.Entries {
		ids[i] = en.Id
	}
	if e := checkBatchIDs("DeleteMessageBatchRequestEntry", ids); e != nil {
		return nil, e
	}
	s.sqs.mu.Lock()
	defer s.sqs.mu.Unlock()
	if _, e := s.lookupQueue(in.QueueUrl); e != nil {
		return nil, e
	}
	ok, failed := []map[string]any{}, []map[string]any{}
	for _, en := range in.Entries {
		if e := s.deleteLocked(in.QueueUrl, en.ReceiptHandle); e != nil {
			failed = append(failed, map[string]any{"Id": en.Id, "Code": e.Code, "Message": e.Message, "SenderFault": true})
			continue
		}
		ok = append(ok, map[string]any{"Id": en.Id})
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

// QueueMessage is an undeleted message of a queue, as the Messages hook
// reports it.
type QueueMessage struct {
	MessageID string
	Body      string
	// ReceiveCount is SQS's ApproximateReceiveCount.
	ReceiveCount int
	// InFlight is true while the message is received and its visibility
	// timeout has not run out.
	InFlight bool
}

// Messages returns the undeleted messages of a queue, named by URL (of
// any host) or by name, in send order; nil when there is no such queue.
// Messages moved to a dead-letter queue are listed there.
func (s *Server) Messages(queue string) []QueueMessage {
	s.sqs.mu.Lock()
	defer s.sqs.mu.Unlock()
	qu, e := s.lookupQueue(queue)
	if e != nil {
		return nil
	}
	now := time.Now()
	out := []QueueMessage{}
	for _, m := range qu.messages {
		out = append(out, QueueMessage{MessageID: m.id, Body: m.body, ReceiveCount: m.receives, InFlight: m.inFlight(now)})
	}
	return out
}
