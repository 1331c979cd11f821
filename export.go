package iamprune

import (
	"context"
	"encoding/json"
)

// FindingsHub is where findings are exported: AWS Security Hub, through
// its BatchImportFindings (the securityhub adapter).
type FindingsHub interface {
	// Import sends findings (ASFF JSON objects), retrying those the hub
	// rejects as it allows, and returns those it still rejects. An error
	// means the hub could not be reached or refused the request as a whole.
	Import(ctx context.Context, findings []json.RawMessage) ([]RejectedFinding, error)
}

// RejectedFinding is a finding the hub did not accept, with its reason.
type RejectedFinding struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}
