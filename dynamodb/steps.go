package dynamodb

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/iamprune/iamprune"
)

// stepSK keys a step in its run's partition, after its action's items.
func stepSK(actionID string, seq int) string {
	return "STEP#" + esc(actionID) + "#" + seqString(int64(seq))
}

// RecordStep inserts or replaces (by Seq) a step of a journaled action:
// the pending record of a write is replaced by its done record. An
// unknown (run, action) is ENOTFOUND.
func (s *Store) RecordStep(ctx context.Context, runID, actionID string, st iamprune.Step) error {
	if err := checkStep(runID, actionID, st); err != nil {
		return err
	}
	if runID == "" || actionID == "" || !fits(runPK(runID), chunkSK(actionID, "0123456789abcdef0123456789abcdef", "post", 0)) {
		return iamprune.Errorf(iamprune.ENOTFOUND, "cannot record step %d: action %q of run %q was never journaled", st.Seq, actionID, runID)
	}
	// An action item is never deleted, so checking it first is enough.
	cur, err := s.get(ctx, key(runPK(runID), actionSK(actionID)))
	if err != nil {
		return fmt.Errorf("cannot record step %d of action %s in run %s: %w", st.Seq, actionID, runID, err)
	}
	if cur == nil {
		return iamprune.Errorf(iamprune.ENOTFOUND, "cannot record step %d: action %s of run %s was never journaled", st.Seq, actionID, runID)
	}
	if err := s.putStep(ctx, runID, actionID, st); err != nil {
		return fmt.Errorf("cannot record step %d of action %s in run %s: %w", st.Seq, actionID, runID, err)
	}
	return nil
}

// putStep writes a step item, its large images in chunks written first,
// and drops the chunks of the step it replaces.
func (s *Store) putStep(ctx context.Context, runID, actionID string, st iamprune.Step) error {
	token, err := newToken()
	if err != nil {
		return err
	}
	it := key(runPK(runID), stepSK(actionID, st.Seq))
	it["run_id"], it["action_id"], it[attrSeq] = str(runID), str(actionID), num(int64(st.Seq))
	it["at"], it[attrWriteToken] = str(formatTime(st.At)), str(token)
	setS(it, "op", st.Op)
	setS(it, "target", st.Target)
	setS(it, "status", st.Status)
	var chunks []item
	for _, img := range []struct {
		which string
		data  json.RawMessage
	}{{"pre", st.Pre}, {"post", st.Post}} {
		attrs, cs := splitImage(runID, actionID, img.which, token, img.data)
		for name, v := range attrs {
			it[name] = v
		}
		chunks = append(chunks, cs...)
	}
	if err := s.writeChunks(ctx, chunks); err != nil {
		return err
	}
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:    aws.String(s.table),
		Item:         it,
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return err
	}
	// The replaced step's chunks, unless the old item is this very write,
	// retried by the SDK after a lost response.
	if getS(out.Attributes, attrWriteToken) != token {
		for _, which := range []string{"pre", "post"} {
			var old []byte
			if ref, err := imageOf(out.Attributes, which, &old); err == nil && ref != nil {
				s.dropChunks(ctx, ref.keys())
			}
		}
	}
	return nil
}

func checkStep(runID, actionID string, st iamprune.Step) error {
	if err := st.Validate(); err != nil {
		return iamprune.Errorf(iamprune.EINVALID, "action %s in run %s: %v", actionID, runID, err)
	}
	return nil
}

// attachSteps reads the steps of recs, in Seq order, into them: one query
// of each run's partition.
func (s *Store) attachSteps(ctx context.Context, recs []iamprune.ActionRecord) error {
	type key struct{ run, action string }
	index := map[key]*iamprune.ActionRecord{}
	var runs []string
	for i := range recs {
		k := key{recs[i].RunID, recs[i].ActionID}
		if _, ok := index[k]; !ok && !slices.Contains(runs, k.run) {
			runs = append(runs, k.run)
		}
		index[k] = &recs[i]
	}
	for _, run := range runs {
		e := newExpr()
		kc := e.cond(attrPK, "=", str(runPK(run))) + " AND " + e.prefix(attrSK, "STEP#")
		items, err := s.query(ctx, e.input("", kc, true), 0)
		if err != nil {
			return err
		}
		var refs []*chunkRef
		for _, it := range items {
			rec := index[key{getS(it, "run_id"), getS(it, "action_id")}]
			if rec == nil {
				continue
			}
			seq, err := getN(it, attrSeq)
			if err != nil {
				return err
			}
			at, err := getTime(it, "at")
			if err != nil {
				return err
			}
			rec.Steps = append(rec.Steps, iamprune.Step{
				Seq: int(seq), Op: getS(it, "op"), Target: getS(it, "target"), Status: getS(it, "status"), At: at,
			})
		}
		// Images go to the steps' final places, once the slices stop growing.
		for _, it := range items {
			rec := index[key{getS(it, "run_id"), getS(it, "action_id")}]
			if rec == nil {
				continue
			}
			st := stepOf(rec, it)
			for _, img := range []struct {
				which string
				dst   *json.RawMessage
			}{{"pre", &st.Pre}, {"post", &st.Post}} {
				ref, err := imageOf(it, img.which, (*[]byte)(img.dst))
				if err != nil {
					return err
				}
				if ref != nil {
					refs = append(refs, ref)
				}
			}
		}
		if err := s.loadChunks(ctx, refs); err != nil {
			return err
		}
	}
	// The sort key orders them already; this keeps Seq order explicit.
	for _, rec := range index {
		slices.SortFunc(rec.Steps, func(a, b iamprune.Step) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return nil
}

// stepOf finds the step of rec that item it holds.
func stepOf(rec *iamprune.ActionRecord, it item) *iamprune.Step {
	seq, _ := getN(it, attrSeq)
	for i := range rec.Steps {
		if int64(rec.Steps[i].Seq) == seq {
			return &rec.Steps[i]
		}
	}
	return nil
}
