package app

import (
	"context"
	"encoding/json"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/iamprune/iamprune/trigger"
)

// Invoke handles one Lambda invocation: a finding event, an SQS batch
// (finding events and fanned-out sweep messages; the failed, malformed
// and busy records are reported for redelivery, ReportBatchItemFailures)
// or a scheduled sweep. setup opens the invocation when an event needs
// AWS; it is closed on return.
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage, setup func(context.Context) (*Invocation, error)) (any, error) {
	in, err := trigger.Classify(raw)
	if err != nil {
		h.Env.log().Error("malformed event: nothing changed", "error", err.Error())
		return nil, err
	}
	if in.Kind == trigger.KindSQS {
		resp := lambdaevents.SQSEventResponse{BatchItemFailures: []lambdaevents.SQSBatchItemFailure{}}
		for _, id := range h.HandleBatch(ctx, in.Records, setup) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: id})
		}
		return resp, nil
	}
	// A finding event that needs no AWS call needs no setup either.
	if in.Kind == trigger.KindFinding {
		if res := h.Skip(in.Finding); res != nil {
			return res, nil
		}
	}
	inv, err := setup(ctx)
	if err != nil {
		return nil, err
	}
	defer inv.Close()
	if in.Kind == trigger.KindFinding {
		return h.HandleFinding(ctx, inv, in.Finding)
	}
	return h.Sweep(ctx, inv, in.Sweep)
}
