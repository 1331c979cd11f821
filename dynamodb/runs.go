package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/iamprune/iamprune"
)

// Run item attributes beside the keys.
const (
	attrRunSeq    = "run_seq"    // creation order among all runs
	attrActionSeq = "action_seq" // the last action sequence number taken
)

func runPK(runID string) string { return "RUN#" + esc(runID) }

const runSK = "RUN"

// CreateRun records a new run. A run id that already exists is ECONFLICT.
func (s *Store) CreateRun(ctx context.Context, r iamprune.Run) error {
	if r.ID == "" {
		return iamprune.Errorf(iamprune.EINVALID, "run has no id")
	}
	if err := checkKey("run id "+r.ID, runPK(r.ID), runSK); err != nil {
		return err
	}
	token, err := newToken()
	if err != nil {
		return err
	}
	seq, err := s.next(ctx, counterRun)
	if err != nil {
		return err
	}
	order := formatTime(r.StartedAt) + "#" + seqString(seq)
	it := key(runPK(r.ID), runSK)
	it[attrGSI1PK], it[attrGSI1SK] = str("RUNS#"+esc(r.Account)), str(order)
	it[attrGSI2PK], it[attrGSI2SK] = str("RUNS"), str(order)
	it[attrRunSeq], it[attrWriteToken] = num(seq), str(token)
	it["run_id"], it["started_at"] = str(r.ID), str(formatTime(r.StartedAt))
	setS(it, "kind", string(r.Kind))
	setS(it, "account", r.Account)
	setS(it, "caller", r.Caller)
	setS(it, "status", r.Status)
	setS(it, "detail", r.Detail)
	setTime(it, "finished_at", r.FinishedAt)
	setTime(it, "plan_generated_at", r.PlanGeneratedAt)
	counts, err := iamprune.EncodePlanCounts(r.PlanCounts)
	if err != nil {
		return fmt.Errorf("dynamodb: cannot create run %s: %w", r.ID, err)
	}
	setS(it, "plan_counts", counts)
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                it,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		ok, _, gerr := s.mine(ctx, key(runPK(r.ID), runSK), token)
		switch {
		case gerr != nil:
			return fmt.Errorf("cannot create run %s: %w", r.ID, gerr)
		case ok:
			return nil
		}
		return iamprune.Errorf(iamprune.ECONFLICT, "run %s already exists", r.ID)
	}
	if err != nil {
		return fmt.Errorf("cannot create run %s: %w", r.ID, err)
	}
	return nil
}

// FinishRun records a run's final status. An unknown run is ENOTFOUND.
func (s *Store) FinishRun(ctx context.Context, runID, status, detail string, at time.Time) error {
	if !fits(runPK(runID), runSK) {
		return iamprune.Errorf(iamprune.ENOTFOUND, "run %s not found", runID)
	}
	e := newExpr()
	e.assignS("status", status)
	e.assignS("detail", detail)
	e.assign("finished_at", str(formatTime(at)))
	// status and finished_at are idempotent, so a retried update that
	// already happened needs no token: the item exists either way.
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(runPK(runID), runSK),
		UpdateExpression:          aws.String(e.update()),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	})
	if isConditionFailed(err) {
		return iamprune.Errorf(iamprune.ENOTFOUND, "run %s not found", runID)
	}
	if err != nil {
		return fmt.Errorf("cannot finish run %s: %w", runID, err)
	}
	return nil
}

// Run returns one run, or ENOTFOUND.
func (s *Store) Run(ctx context.Context, runID string) (*iamprune.Run, error) {
	if runID == "" || !fits(runPK(runID), runSK) {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "run %q not found", runID)
	}
	it, err := s.get(ctx, key(runPK(runID), runSK))
	if err != nil {
		return nil, fmt.Errorf("cannot read run %s: %w", runID, err)
	}
	if it == nil {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "run %s not found", runID)
	}
	return decodeRun(it)
}

// Runs lists runs newest first (by start time, then by creation order);
// account "" means every account, limit <= 0 no limit.
func (s *Store) Runs(ctx context.Context, account string, limit int) ([]iamprune.Run, error) {
	e := newExpr()
	var in *dynamodb.QueryInput
	if account != "" {
		in = e.input(IndexByAccount, e.cond(attrGSI1PK, "=", str("RUNS#"+esc(account))), false)
	} else {
		in = e.input(IndexByType, e.cond(attrGSI2PK, "=", str("RUNS")), false)
	}
	items, err := s.query(ctx, in, limit)
	if err != nil {
		return nil, fmt.Errorf("cannot list runs: %w", err)
	}
	runs := make([]iamprune.Run, 0, len(items))
	for _, it := range items {
		r, err := decodeRun(it)
		if err != nil {
			return nil, err
		}
		runs = append(runs, *r)
	}
	return runs, nil
}

func decodeRun(it item) (*iamprune.Run, error) {
	r := iamprune.Run{
		ID: getS(it, "run_id"), Kind: iamprune.RunKind(getS(it, "kind")), Account: getS(it, "account"),
		Caller: getS(it, "caller"), Status: getS(it, "status"), Detail: getS(it, "detail"),
	}
	var err error
	if r.StartedAt, err = getTime(it, "started_at"); err != nil {
		return nil, err
	}
	if r.FinishedAt, err = getTimePtr(it, "finished_at"); err != nil {
		return nil, err
	}
	if r.PlanGeneratedAt, err = getTimePtr(it, "plan_generated_at"); err != nil {
		return nil, err
	}
	if r.PlanCounts, err = iamprune.DecodePlanCounts(getS(it, "plan_counts")); err != nil {
		return nil, err
	}
	return &r, nil
}

// claimActionSeq takes the run's next action sequence number; an unknown
// run is ENOTFOUND. It returns the run's own sequence number too, which
// orders actions of equal start times across runs.
func (s *Store) claimActionSeq(ctx context.Context, runID, actionID string) (runSeq, actionSeq int64, err error) {
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(runPK(runID), runSK),
		UpdateExpression:          aws.String("ADD #seq :one"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  map[string]string{"#seq": attrActionSeq},
		ExpressionAttributeValues: item{":one": num(1)},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return 0, 0, iamprune.Errorf(iamprune.ENOTFOUND, "cannot journal action %s: run %s not found", actionID, runID)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("cannot journal action %s of run %s: %w", actionID, runID, err)
	}
	if runSeq, err = getN(out.Attributes, attrRunSeq); err != nil {
		return 0, 0, err
	}
	if actionSeq, err = getN(out.Attributes, attrActionSeq); err != nil {
		return 0, 0, err
	}
	return runSeq, actionSeq, nil
}
