// Package securityhub sends findings to AWS Security Hub with
// aws-sdk-go-v2's BatchImportFindings: at most 100 findings a request,
// and the findings the service rejects for a transient reason
// (FailedFindings) sent again a bounded number of times with backoff.
// Findings keep their ASFF Id, so sending a finding again updates it
// rather than adding another. The workflow status of a finding that
// exists is set with BatchUpdateFindings, since Security Hub keeps it
// from imports.
//
// It imports only the root package (layers_test.go).
package securityhub

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/iamprune/iamprune"
)

// BatchSize is BatchImportFindings' limit of findings per request.
const BatchSize = 100

// API is the part of the Security Hub client the exporter uses.
type API interface {
	BatchImportFindings(context.Context, *securityhub.BatchImportFindingsInput, ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
	BatchUpdateFindings(context.Context, *securityhub.BatchUpdateFindingsInput, ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error)
	GetFindings(context.Context, *securityhub.GetFindingsInput, ...func(*securityhub.Options)) (*securityhub.GetFindingsOutput, error)
}

// Hub implements iamprune.FindingsHub.
type Hub struct {
	API API
	// Retries is how many times rejected findings are sent again (0: none).
	Retries int
	// Backoff is the wait before the first retry, doubled after each.
	Backoff time.Duration
	// Sleep waits; nil uses a timer that ends early with ctx.
	Sleep func(context.Context, time.Duration) error
}

var _ iamprune.FindingsHub = (*Hub)(nil)

// New returns a Hub on the Security Hub client of cfg, retrying rejected
// findings 3 times from a 1s backoff.
func New(cfg aws.Config) *Hub {
	return &Hub{API: securityhub.NewFromConfig(cfg), Retries: 3, Backoff: time.Second}
}

// Import implements iamprune.FindingsHub.
func (h *Hub) Import(ctx context.Context, findings []json.RawMessage) ([]iamprune.RejectedFinding, error) {
	pending := make([]types.AwsSecurityFinding, 0, len(findings))
	for i, raw := range findings {
		var f types.AwsSecurityFinding
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, iamprune.Errorf(iamprune.EINVALID, "finding %d is not an ASFF finding: %v", i, err)
		}
		pending = append(pending, f)
	}
	return h.importAll(ctx, pending)
}

// Archive implements iamprune.FindingsHub: GetFindings by Id (20 ids a
// request, Security Hub's most filter values), then the ACTIVE ones are
// imported again ARCHIVED.
func (h *Hub) Archive(ctx context.Context, refs []iamprune.FindingRef, at time.Time) (int, []iamprune.RejectedFinding, error) {
	var active []types.AwsSecurityFinding
	for start := 0; start < len(refs); start += 20 {
		var ids []types.StringFilter
		for _, r := range refs[start:min(start+20, len(refs))] {
			ids = append(ids, types.StringFilter{Value: aws.String(r.ID), Comparison: types.StringFilterComparisonEquals})
		}
		p := securityhub.NewGetFindingsPaginator(h.API, &securityhub.GetFindingsInput{Filters: &types.AwsSecurityFindingFilters{Id: ids}, MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, nil, fmt.Errorf("securityhub: GetFindings: %w", err)
			}
			for _, f := range out.Findings {
				if f.RecordState == types.RecordStateActive {
					f.RecordState, f.UpdatedAt = types.RecordStateArchived, aws.String(at.UTC().Format(time.RFC3339Nano))
					// What Security Hub adds itself is not the provider's to send.
					f.ProcessedAt = nil
					maps.DeleteFunc(f.ProductFields, func(k, _ string) bool { return strings.HasPrefix(k, "aws/securityhub/") })
					active = append(active, f)
				}
			}
		}
	}
	rejected, err := h.importAll(ctx, active)
	return len(active) - len(rejected), rejected, err
}

// importAll imports findings, sending again those rejected for a
// transient reason, and returns those still rejected.
func (h *Hub) importAll(ctx context.Context, pending []types.AwsSecurityFinding) ([]iamprune.RejectedFinding, error) {
	var rejected []iamprune.RejectedFinding
	backoff := h.Backoff
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := h.sleep(ctx, backoff); err != nil {
				return nil, err
			}
			backoff *= 2
		}
		var again, failed []iamprune.RejectedFinding
		var err error
		pending, failed, err = h.send(ctx, pending)
		if err != nil {
			return nil, err
		}
		// Final rejections are kept; retried ones are replaced by the
		// outcome of their next attempt.
		for _, r := range rejected {
			if final[r.Code] {
				again = append(again, r)
			}
		}
		rejected = append(again, failed...)
		if attempt >= h.Retries {
			break
		}
	}
	return rejected, nil
}

// send imports findings in batches and returns those rejected, as
// findings to send again and as reasons.
func (h *Hub) send(ctx context.Context, findings []types.AwsSecurityFinding) ([]types.AwsSecurityFinding, []iamprune.RejectedFinding, error) {
	var again []types.AwsSecurityFinding
	var rejected []iamprune.RejectedFinding
	for start := 0; start < len(findings); start += BatchSize {
		batch := findings[start:min(start+BatchSize, len(findings))]
		out, err := h.API.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: batch})
		if err != nil {
			return nil, nil, fmt.Errorf("securityhub: BatchImportFindings: %w", err)
		}
		byID := map[string]types.AwsSecurityFinding{}
		for _, f := range batch {
			byID[aws.ToString(f.Id)] = f
		}
		for _, ff := range out.FailedFindings {
			id := aws.ToString(ff.Id)
			code := aws.ToString(ff.ErrorCode)
			rejected = append(rejected, iamprune.RejectedFinding{ID: id, Code: code, Message: aws.ToString(ff.ErrorMessage)})
			if f, ok := byID[id]; ok && !final[code] {
				again = append(again, f)
			}
		}
	}
	return again, rejected, nil
}

// SetWorkflow implements iamprune.FindingsHub, with BatchUpdateFindings
// (at most 100 findings a request; the SDK retries failed requests).
func (h *Hub) SetWorkflow(ctx context.Context, status string, findings []iamprune.FindingRef) ([]iamprune.RejectedFinding, error) {
	var rejected []iamprune.RejectedFinding
	for start := 0; start < len(findings); start += BatchSize {
		var ids []types.AwsSecurityFindingIdentifier
		for _, f := range findings[start:min(start+BatchSize, len(findings))] {
			ids = append(ids, types.AwsSecurityFindingIdentifier{Id: aws.String(f.ID), ProductArn: aws.String(f.ProductArn)})
		}
		out, err := h.API.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
			FindingIdentifiers: ids, Workflow: &types.WorkflowUpdate{Status: types.WorkflowStatus(status)},
		})
		if err != nil {
			return nil, fmt.Errorf("securityhub: BatchUpdateFindings: %w", err)
		}
		for _, u := range out.UnprocessedFindings {
			var id string
			if u.FindingIdentifier != nil {
				id = aws.ToString(u.FindingIdentifier.Id)
			}
			rejected = append(rejected, iamprune.RejectedFinding{ID: id, Code: aws.ToString(u.ErrorCode), Message: "workflow " + status + ": " + aws.ToString(u.ErrorMessage)})
		}
	}
	return rejected, nil
}

// final are the error codes of rejections that sending again cannot
// change (the finding itself is invalid, or not the caller's to import);
// the others (internal failures, throttling) are retried.
var final = map[string]bool{
	"InvalidInput": true, "InvalidInputException": true, "AccessDenied": true, "AccessDeniedException": true,
	"InvalidAccessException": true, "UnauthorizedException": true,
}

func (h *Hub) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
