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
	ids := make([]string, len(in.Entries))
	for i, en := range in.Entries {
		ids[i] = en.Id
	}
	if e := checkBatchIDs("SendMessageBatchRequestEntry", ids); e != nil {
		return nil, e
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

// checkBatchIDs refuses a batch as SQS does: no entries, more than ten, or
// an id repeated. entry names the entry type in the message.
func checkBatchIDs(entry string, ids []string) *apiError {
	switch {
	case len(ids) == 0:
		return sqsError("EmptyBatchRequest", "There should be at least one %s in the request.", entry)
	case len(ids) > 10:
		return sqsError("TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent %d.", len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return sqsError("BatchEntryIdsNotDistinct", "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}
