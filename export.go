package iamprune

import (
	"context"
	"encoding/json"
	"time"
)

// FindingsHub is where findings are exported: AWS Security Hub, through
// its BatchImportFindings (the securityhub adapter).
type FindingsHub interface {
	// Import sends findings (ASFF JSON objects), retrying those the hub
	// rejects as it allows, and returns those it still rejects. An error
	// means the hub could not be reached or refused the request as a whole.
	Import(ctx context.Context, findings []json.RawMessage) ([]RejectedFinding, error)
	// SetWorkflow sets the workflow status of findings already imported
	// (BatchUpdateFindings: the hub ignores the workflow of an imported
	// finding once it exists) and returns those it could not update.
	SetWorkflow(ctx context.Context, status string, findings []FindingRef) ([]RejectedFinding, error)
	// Archive imports again, with RecordState ARCHIVED and UpdatedAt at,
	// those of the findings that exist and are ACTIVE; the others are left
	// alone (none is created). It returns how many it archived.
	Archive(ctx context.Context, findings []FindingRef, at time.Time) (int, []RejectedFinding, error)
}

// FindingRef names an imported finding: its id and its product.
type FindingRef struct {
	ID         string
	ProductArn string
}

// RejectedFinding is a finding the hub did not accept, with its reason.
type RejectedFinding struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}
