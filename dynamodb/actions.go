package dynamodb

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/iamprune/iamprune"
)

const attrSeq = "seq" // an action's write order in its run

func actionSK(actionID string) string { return "ACTION#" + esc(actionID) }

// BeginAction journals an intent with its pre-image, before any AWS call.
// rec.Status is stored as given, pending when empty. A (run, action) pair
// that is already journaled is ECONFLICT, which is what makes an action
// happen at most once per run; an unknown run is ENOTFOUND.
func (s *Store) BeginAction(ctx context.Context, rec iamprune.ActionRecord) error {
	if err := checkActionRecord(rec); err != nil {
		return err
	}
	token, err := newToken()
	if err != nil {
		return err
	}
	runSeq, seq, err := s.claimActionSeq(ctx, rec.RunID, rec.ActionID)
	if err != nil {
		return err
	}
	k := key(runPK(rec.RunID), actionSK(rec.ActionID))
	it, chunks := actionItem(rec, token, runSeq, seq)
	// Chunks first: an action item is never seen without its images.
	if err := s.writeChunks(ctx, chunks); err != nil {
		return fmt.Errorf("cannot journal the images of action %s of run %s: %w", rec.ActionID, rec.RunID, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                it,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		ok, _, gerr := s.mine(ctx, k, token)
		switch {
		case gerr != nil:
			return fmt.Errorf("cannot journal action %s of run %s: %w", rec.ActionID, rec.RunID, gerr)
		case ok:
			return s.beginSteps(ctx, rec)
		}
		s.dropChunks(ctx, chunks)
		return iamprune.Errorf(iamprune.ECONFLICT, "action %s of run %s is already journaled", rec.ActionID, rec.RunID)
	}
	if err != nil {
		// The put may have happened: keep the chunks it would refer to.
		return fmt.Errorf("cannot journal action %s of run %s: %w", rec.ActionID, rec.RunID, err)
	}
	return s.beginSteps(ctx, rec)
}

// checkActionRecord checks what BeginAction journals before it writes.
func checkActionRecord(rec iamprune.ActionRecord) error {
	if rec.RunID == "" || rec.ActionID == "" {
		return iamprune.Errorf(iamprune.EINVALID, "action record needs a run id and an action id (got %q, %q)", rec.RunID, rec.ActionID)
	}
	if err := checkKey("action "+rec.RunID+"/"+rec.ActionID, runPK(rec.RunID), chunkSK(rec.ActionID, "0123456789abcdef0123456789abcdef", "post", 0)); err != nil {
		return err
	}
	if err := checkImage(rec.RunID, rec.ActionID, "pre-image", rec.PreImage); err != nil {
		return err
	}
	if err := checkImage(rec.RunID, rec.ActionID, "post-image", rec.PostImage); err != nil {
		return err
	}
	for _, st := range rec.Steps {
		if err := checkStep(rec.RunID, rec.ActionID, st); err != nil {
			return err
		}
	}
	return nil
}

// actionItem is the action's item and the chunks of its images; the item
// refers to the chunks by token.
func actionItem(rec iamprune.ActionRecord, token string, runSeq, seq int64) (item, []item) {
	status := rec.Status
	if status == "" {
		status = iamprune.ResultPending
	}
	order := formatTime(rec.StartedAt) + "#" + seqString(runSeq) + "#" + seqString(seq)
	it := key(runPK(rec.RunID), actionSK(rec.ActionID))
	it[attrGSI1PK], it[attrGSI1SK] = str("ACTIONS#"+esc(rec.Account)), str(order)
	it[attrGSI2PK], it[attrGSI2SK] = str("ACTIONS"), str(order)
	it[attrSeq], it[attrWriteToken] = num(seq), str(token)
	it["run_id"], it["action_id"], it["status"] = str(rec.RunID), str(rec.ActionID), str(status)
	it["started_at"] = str(formatTime(rec.StartedAt))
	setS(it, "account", rec.Account)
	setS(it, "finding_id", rec.FindingID)
	setS(it, "principal", rec.Principal)
	setS(it, "finding_type", string(rec.FindingType))
	setS(it, "kind", string(rec.Kind))
	setS(it, "target", rec.Target)
	setS(it, "detail", rec.Detail)
	setS(it, "rollback_of", rec.RollbackOf)
	setTime(it, "finished_at", rec.FinishedAt)
	it["services"] = strList(rec.Services)

	var chunks []item
	for _, img := range []struct {
		which string
		data  json.RawMessage
	}{{"pre", rec.PreImage}, {"post", rec.PostImage}} {
		attrs, cs := splitImage(rec.RunID, rec.ActionID, img.which, token, img.data)
		for name, v := range attrs {
			it[name] = v
		}
		chunks = append(chunks, cs...)
	}
	return it, chunks
}

// beginSteps writes the steps given to BeginAction, once the action item
// is ours: before it, they could overwrite the steps of an action
// journaled by someone else.
func (s *Store) beginSteps(ctx context.Context, rec iamprune.ActionRecord) error {
	for _, st := range rec.Steps {
		if err := s.putStep(ctx, rec.RunID, rec.ActionID, st); err != nil {
			return fmt.Errorf("cannot journal step %d of action %s in run %s: %w", st.Seq, rec.ActionID, rec.RunID, err)
		}
	}
	return nil
}

// FinishAction records the outcome of a pending intent. No intent is
// ENOTFOUND; an intent that already has an outcome is ECONFLICT, so an
// outcome is never overwritten. A nil post-image stores none.
func (s *Store) FinishAction(ctx context.Context, runID, actionID, status, detail string, post json.RawMessage, at time.Time) error {
	if status == "" || status == iamprune.ResultPending {
		return iamprune.Errorf(iamprune.EINVALID, "action %s of run %s cannot finish with status %q", actionID, runID, status)
	}
	if err := checkImage(runID, actionID, "post-image", post); err != nil {
		return err
	}
	if runID == "" || actionID == "" || !fits(runPK(runID), actionSK(actionID)) {
		return iamprune.Errorf(iamprune.ENOTFOUND, "action %q of run %q was never journaled", actionID, runID)
	}
	token, err := newToken()
	if err != nil {
		return err
	}
	k := key(runPK(runID), actionSK(actionID))
	attrs, chunks := splitImage(runID, actionID, "post", token, post)
	e := newExpr()
	e.assign("status", str(status))
	e.assignS("detail", detail)
	e.assign("finished_at", str(formatTime(at)))
	e.assign(attrWriteToken, str(token))
	for _, suffix := range imageAttrs {
		if v, ok := attrs["post"+suffix]; ok {
			e.assign("post"+suffix, v)
		} else {
			e.unset("post" + suffix)
		}
	}
	cond := e.cond("status", "=", str(iamprune.ResultPending))
	if err := s.writeChunks(ctx, chunks); err != nil {
		return fmt.Errorf("cannot record the post-image of action %s of run %s: %w", actionID, runID, err)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       k,
		UpdateExpression:          aws.String(e.update()),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
		ReturnValues:              types.ReturnValueAllOld,
	})
	if isConditionFailed(err) {
		ok, cur, gerr := s.mine(ctx, k, token)
		switch {
		case gerr != nil:
			return fmt.Errorf("cannot finish action %s of run %s: %w", actionID, runID, gerr)
		case ok:
			return nil
		}
		s.dropChunks(ctx, chunks)
		if cur == nil {
			return iamprune.Errorf(iamprune.ENOTFOUND, "action %s of run %s was never journaled", actionID, runID)
		}
		return iamprune.Errorf(iamprune.ECONFLICT, "action %s of run %s already finished as %s", actionID, runID, getS(cur, "status"))
	}
	if err != nil {
		return fmt.Errorf("cannot finish action %s of run %s: %w", actionID, runID, err)
	}
	// A post-image given to BeginAction is replaced, as in SQLite.
	var old []byte
	if ref, err := imageOf(out.Attributes, "post", &old); err == nil && ref != nil {
		s.dropChunks(ctx, ref.keys())
	}
	return nil
}

// Actions returns a run's journal in the order it was written; an unknown
// run has none.
func (s *Store) Actions(ctx context.Context, runID string) ([]iamprune.ActionRecord, error) {
	if runID == "" || !fits(runPK(runID), "") {
		return []iamprune.ActionRecord{}, nil
	}
	e := newExpr()
	kc := e.cond(attrPK, "=", str(runPK(runID))) + " AND " + e.prefix(attrSK, "ACTION#")
	items, err := s.query(ctx, e.input("", kc, true), 0)
	if err != nil {
		return nil, fmt.Errorf("cannot read the journal of run %s: %w", runID, err)
	}
	type ordered struct {
		it  item
		seq int64
	}
	rows := make([]ordered, len(items))
	for i, it := range items {
		seq, err := getN(it, attrSeq)
		if err != nil {
			return nil, err
		}
		rows[i] = ordered{it, seq}
	}
	slices.SortFunc(rows, func(a, b ordered) int { return cmp.Compare(a.seq, b.seq) })
	for i := range rows {
		items[i] = rows[i].it
	}
	recs, err := s.decodeActions(ctx, items)
	if err != nil {
		return nil, fmt.Errorf("cannot read the journal of run %s: %w", runID, err)
	}
	return recs, nil
}

// FindActions returns the journal entries that match f across runs, oldest
// first (by start time, then by write order).
func (s *Store) FindActions(ctx context.Context, f iamprune.ActionFilter) ([]iamprune.ActionRecord, error) {
	e := newExpr()
	var kc, index string
	if f.Account != "" {
		index, kc = IndexByAccount, e.cond(attrGSI1PK, "=", str("ACTIONS#"+esc(f.Account)))
	} else {
		index, kc = IndexByType, e.cond(attrGSI2PK, "=", str("ACTIONS"))
	}
	e.eq("action_id", f.ActionID)
	e.eq("kind", string(f.Kind))
	e.eq("target", f.Target)
	e.eq("status", f.Status)
	items, err := s.query(ctx, e.input(index, kc, true), 0)
	if err != nil {
		return nil, fmt.Errorf("cannot search the journal: %w", err)
	}
	recs, err := s.decodeActions(ctx, items)
	if err != nil {
		return nil, fmt.Errorf("cannot search the journal: %w", err)
	}
	return recs, nil
}

// decodeActions turns action items into records, in order, with their
// chunked images fetched.
func (s *Store) decodeActions(ctx context.Context, items []item) ([]iamprune.ActionRecord, error) {
	recs := make([]iamprune.ActionRecord, len(items))
	var refs []*chunkRef
	for i, it := range items {
		rec := &recs[i]
		*rec = iamprune.ActionRecord{
			RunID: getS(it, "run_id"), ActionID: getS(it, "action_id"), Account: getS(it, "account"),
			FindingID: getS(it, "finding_id"), Principal: getS(it, "principal"),
			FindingType: iamprune.FindingType(getS(it, "finding_type")), Kind: iamprune.ActionKind(getS(it, "kind")),
			Target: getS(it, "target"), Status: getS(it, "status"), Detail: getS(it, "detail"),
			RollbackOf: getS(it, "rollback_of"), Services: []string{},
		}
		var ok bool
		if rec.Services, ok = getStrList(it, "services"); !ok {
			return nil, fmt.Errorf("action %s/%s has a service that is not a string", rec.RunID, rec.ActionID)
		}
		var err error
		if rec.StartedAt, err = getTime(it, "started_at"); err != nil {
			return nil, err
		}
		if rec.FinishedAt, err = getTimePtr(it, "finished_at"); err != nil {
			return nil, err
		}
		for _, img := range []struct {
			which string
			dst   *json.RawMessage
		}{{"pre", &rec.PreImage}, {"post", &rec.PostImage}} {
			ref, err := imageOf(it, img.which, (*[]byte)(img.dst))
			if err != nil {
				return nil, err
			}
			if ref != nil {
				refs = append(refs, ref)
			}
		}
	}
	if err := s.loadChunks(ctx, refs); err != nil {
		return nil, err
	}
	if err := s.attachSteps(ctx, recs); err != nil {
		return nil, err
	}
	return recs, nil
}

// checkImage rejects an image that is not JSON: history prints images as
// raw JSON, and one bad byte would make the whole journal unprintable.
func checkImage(runID, actionID, what string, img json.RawMessage) error {
	if len(img) > 0 && !json.Valid(img) {
		return iamprune.Errorf(iamprune.EINVALID, "%s of action %s in run %s is not valid JSON", what, actionID, runID)
	}
	return nil
}

// strList is a list of strings as an attribute; never null.
func strList(ss []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(ss))
	for i, v := range ss {
		l[i] = str(v)
	}
	return &types.AttributeValueMemberL{Value: l}
}

// getStrList reads a list of strings, [] when absent; ok is false when an
// element is not a string.
func getStrList(it item, name string) ([]string, bool) {
	out := []string{}
	l, _ := it[name].(*types.AttributeValueMemberL)
	if l == nil {
		return out, true
	}
	for _, v := range l.Value {
		sv, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return nil, false
		}
		out = append(out, sv.Value)
	}
	return out, true
}
