package emulator

// sendMessageBatch sends up to ten messages, each on its own: an entry
// SQS would refuse is reported in Failed and the others are sent.
func (s *Server) sendMessageBatch(r sqsRequest) (any, *apiError) {
	var in struct {
		QueueUrl string
		Entries  []struct {
			Id                string
			MessageBody       *string
			DelaySeconds      *int
			MessageAttributes map[string]any
		}
	}
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	switch {
	case len(in.Entries) == 0:
		return nil, sqsError("EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.")
	case len(in.Entries) > 10:
		return nil, sqsError("TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent %d.", len(in.Entries))
	}
	seen := map[string]bool{}
	for _, en := range in.Entries {
		if seen[en.Id] {
			return nil, sqsError("BatchEntryIdsNotDistinct", "Id %s repeated.", en.Id)
		}
		seen[en.Id] = true
	}
	s.sqs.mu.Lock()
	defer s.sqs.mu.Unlock()
	qu, e := s.lookupQueue(in.QueueUrl)
	if e != nil {
		return nil, e
	}
	ok, failed := []map[string]any{}, []map[string]any{}
	for _, en := range in.Entries {
		var (
			m  *sqsMessage
			fe *apiError
		)
		switch {
		case en.MessageBody == nil || *en.MessageBody == "":
			fe = sqsError("MissingParameter", "The request must contain the parameter MessageBody.")
		case len(en.MessageAttributes) > 0:
			fe = sqsError("UnsupportedOperation", "the iamprune emulator does not implement message attributes")
		default:
			m, fe = s.sendLocked(qu, *en.MessageBody, en.DelaySeconds)
		}
		if fe != nil {
			failed = append(failed, map[string]any{"Id": en.Id, "Code": fe.Code, "Message": fe.Message, "SenderFault": true})
			continue
		}
		ok = append(ok, map[string]any{"Id": en.Id, "MessageId": m.id, "MD5OfMessageBody": m.md5})
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}
