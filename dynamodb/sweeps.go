package dynamodb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/iamprune/iamprune"
)

// Sweeps live in one partition each: the sweep item (sk SWEEP) and one
// part item per message (sk PART#<account>#<page, 6 digits>). The sweep
// item's done_parts string set holds the keys of the parts done: adding a
// key on condition that it is not there yet is one atomic write, so a part
// counts once however often its message is redelivered, and exactly one
// writer sees the set reach the expected size.
func sweepPK(id string) string { return "SWEEP#" + esc(id) }

const (
	sweepSK       = "SWEEP"
	attrDoneParts = "done_parts"
	// attrChainedParts holds the keys of the parts ExtendSweep added: a
	// set, so that a retried extension counts once. A sealed sweep
	// expects its "expected" parts and these.
	attrChainedParts = "chained_parts"
	// attrCountToken is the token of the last FinishSweepPart that added
	// to done_parts.
	attrCountToken = "count_token"
)

func partSK(account string, page int) string { return fmt.Sprintf("PART#%s#%06d", esc(account), page) }

// StartSweep records a sweep, then its pending parts.
func (s *Store) StartSweep(ctx context.Context, sw iamprune.Sweep, parts []iamprune.SweepPart) error {
	if err := sw.ValidateStart(parts); err != nil {
		return err
	}
	token, err := newToken()
	if err != nil {
		return err
	}
	it := key(sweepPK(sw.ID), sweepSK)
	it[attrWriteToken] = str(token)
	it["sweep_id"], it["started_at"], it["expected"] = str(sw.ID), str(formatTime(sw.StartedAt)), num(int64(sw.Expected))
	setS(it, "caller", sw.Caller)
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: it, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		ok, _, gerr := s.mine(ctx, key(sweepPK(sw.ID), sweepSK), token)
		if gerr != nil {
			return fmt.Errorf("dynamodb: cannot start sweep %s: %w", sw.ID, gerr)
		}
		if !ok {
			return iamprune.Errorf(iamprune.ECONFLICT, "dynamodb: sweep %s already exists", sw.ID)
		}
	} else if err != nil {
		return fmt.Errorf("dynamodb: cannot start sweep %s: %w", sw.ID, err)
	}
	return s.putParts(ctx, sw.ID, parts)
}

// putParts records pending parts; a part recorded already (by a retried
// call) is left as it is, whatever its status now.
func (s *Store) putParts(ctx context.Context, id string, parts []iamprune.SweepPart) error {
	for _, p := range parts {
		pit := key(sweepPK(id), partSK(p.Account, p.Page))
		pit["account"], pit["page"], pit["status"] = str(p.Account), num(int64(p.Page)), str(iamprune.SweepPending)
		pit["attempts"] = num(0)
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: pit,
			ConditionExpression: aws.String("attribute_not_exists(pk)")})
		if err != nil && !isConditionFailed(err) {
			return fmt.Errorf("dynamodb: cannot record part %s of sweep %s: %w", p.Key(), id, err)
		}
	}
	return nil
}

// AddSweepParts records more pending parts of an open sweep. Only the
// enqueuer adds parts and seals, one after the other, so checking that
// the sweep is open before the writes is enough.
func (s *Store) AddSweepParts(ctx context.Context, id string, parts []iamprune.SweepPart) error {
	if err := iamprune.ValidateParts(id, parts); err != nil {
		return err
	}
	sw, err := s.sweepItem(ctx, id)
	if err != nil {
		return err
	}
	if !sw.Open() {
		return iamprune.Errorf(iamprune.ECONFLICT, "dynamodb: sweep %s is sealed at %d part(s): no part can be added", id, sw.Expected)
	}
	return s.putParts(ctx, id, parts)
}

// SealSweep fixes an open sweep's number of parts (see iamprune.SweepLog):
// a write on condition that fewer parts are done than it was checked to
// expect, so that no part counted meanwhile can make every part done
// before the sweep knows its size. Parts finishing meanwhile, as many
// consumers' do, do not fail it: only the one that would complete it
// (and chained parts only add to what it expects).
func (s *Store) SealSweep(ctx context.Context, id string, expected int) (*iamprune.Sweep, error) {
	enqueued, err := s.countParts(ctx, id, "attribute_not_exists(#ch)", "#ch", "chained")
	if err != nil {
		return nil, err
	}
	for range 5 {
		it, err := s.sweepRaw(ctx, id)
		if err != nil {
			return nil, err
		}
		sw, err := decodeSweep(it)
		if err != nil {
			return nil, err
		}
		sealedAt, _ := getN(it, "expected")
		chained := setLen(it, attrChainedParts)
		if sealed, err := sw.ValidateSeal(expected, int(sealedAt), enqueued, chained); err != nil || sealed {
			return sw, err
		}
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: key(sweepPK(id), sweepSK),
			UpdateExpression:         aws.String("SET #ex = :n"),
			ConditionExpression:      aws.String("#ex = :zero AND (attribute_not_exists(#dp) OR size(#dp) < :all)"),
			ExpressionAttributeNames: map[string]string{"#ex": "expected", "#dp": attrDoneParts},
			ExpressionAttributeValues: item{":n": num(int64(expected)), ":zero": num(0),
				":all": num(int64(expected + chained))},
		})
		if isConditionFailed(err) {
			continue // sealed (a retried write), or every part done: check again
		}
		if err != nil {
			return nil, fmt.Errorf("dynamodb: cannot seal sweep %s: %w", id, err)
		}
		sw.Expected = expected + chained
		return sw, nil
	}
	return nil, fmt.Errorf("dynamodb: cannot seal sweep %s: its parts keep changing", id)
}

func setLen(it item, name string) int {
	if set, ok := it[name].(*types.AttributeValueMemberSS); ok {
		return len(set.Value)
	}
	return 0
}

// ExtendSweep records a chained part and claims its message (see
// iamprune.SweepLog): the part item first, then its key in the sweep's
// chained set, so that a part is counted only once it exists; an
// extension stopped between the two is completed by its retry. The key is
// added on condition that the page before is not in done_parts (or that
// it is counted already): in the one item that the last done part is
// counted in, so that a sweep that may be complete never grows.
func (s *Store) ExtendSweep(ctx context.Context, p iamprune.SweepPart) (bool, error) {
	if err := iamprune.ValidateParts(p.SweepID, []iamprune.SweepPart{p}); err != nil {
		return false, err
	}
	if err := s.SweepExists(ctx, p.SweepID); err != nil {
		return false, err
	}
	pk, sk := sweepPK(p.SweepID), partSK(p.Account, p.Page)
	pit := key(pk, sk)
	pit["account"], pit["page"], pit["status"] = str(p.Account), num(int64(p.Page)), str(iamprune.SweepPending)
	pit["attempts"], pit["chained"], pit["sent"] = num(0), &types.AttributeValueMemberBOOL{Value: true}, &types.AttributeValueMemberBOOL{Value: false}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: pit,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		cur, err := s.get(ctx, key(pk, sk))
		if err != nil {
			return false, fmt.Errorf("dynamodb: cannot read part %s of sweep %s: %w", p.Key(), p.SweepID, err)
		}
		if sent, ok := cur["sent"].(*types.AttributeValueMemberBOOL); !ok || sent.Value {
			return false, nil
		}
	} else if err != nil {
		return false, fmt.Errorf("dynamodb: cannot record part %s of sweep %s: %w", p.Key(), p.SweepID, err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(pk, sweepSK),
		UpdateExpression:         aws.String("ADD #cp :k"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND (contains(#cp, :key) OR NOT contains(#dp, :before))"),
		ExpressionAttributeNames: map[string]string{"#cp": attrChainedParts, "#dp": attrDoneParts},
		ExpressionAttributeValues: item{":k": &types.AttributeValueMemberSS{Value: []string{p.Key()}}, ":key": str(p.Key()),
			":before": str(iamprune.SweepPartKey(p.Account, p.Page-1))},
	})
	if isConditionFailed(err) {
		// The page before is done: the part is not counted, and its
		// message never sent (a claim follows the count), so it goes.
		_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(s.table), Key: key(pk, sk),
			ConditionExpression:       aws.String("#sent = :f"),
			ExpressionAttributeNames:  map[string]string{"#sent": "sent"},
			ExpressionAttributeValues: item{":f": &types.AttributeValueMemberBOOL{Value: false}},
		})
		if err != nil && !isConditionFailed(err) {
			return false, fmt.Errorf("dynamodb: cannot drop part %s of sweep %s: %w", p.Key(), p.SweepID, err)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamodb: cannot count part %s of sweep %s: %w", p.Key(), p.SweepID, err)
	}
	return true, nil
}

// SweepPartSent marks a chained part's message sent.
func (s *Store) SweepPartSent(ctx context.Context, p iamprune.SweepPart) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(sweepPK(p.SweepID), partSK(p.Account, p.Page)),
		UpdateExpression:          aws.String("SET #sent = :t"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  map[string]string{"#sent": "sent"},
		ExpressionAttributeValues: item{":t": &types.AttributeValueMemberBOOL{Value: true}},
	})
	if isConditionFailed(err) {
		return iamprune.Errorf(iamprune.ENOTFOUND, "dynamodb: sweep %s has no part %s", p.SweepID, p.Key())
	}
	if err != nil {
		return fmt.Errorf("dynamodb: cannot mark part %s of sweep %s sent: %w", p.Key(), p.SweepID, err)
	}
	return nil
}

// sweepItem reads the sweep item alone, without its parts.
func (s *Store) sweepItem(ctx context.Context, id string) (*iamprune.Sweep, error) {
	it, err := s.sweepRaw(ctx, id)
	if err != nil {
		return nil, err
	}
	return decodeSweep(it)
}

func (s *Store) sweepRaw(ctx context.Context, id string) (item, error) {
	if !sweepIDOK(id) {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "dynamodb: sweep %q not found", id)
	}
	it, err := s.get(ctx, key(sweepPK(id), sweepSK))
	if err != nil {
		return nil, fmt.Errorf("dynamodb: cannot read sweep %s: %w", id, err)
	}
	if it == nil {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "dynamodb: sweep %s not found", id)
	}
	return it, nil
}

// countParts counts the part items of a sweep that match filter
// (Select COUNT: no item is read back).
func (s *Store) countParts(ctx context.Context, id, filter, name, attr string) (int, error) {
	e := newExpr()
	e.names[name] = attr
	in := e.input("", e.cond(attrPK, "=", str(sweepPK(id)))+" AND "+e.prefix(attrSK, "PART#"), true)
	in.TableName, in.Select, in.FilterExpression = aws.String(s.table), types.SelectCount, aws.String(filter)
	n := 0
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("dynamodb: cannot count the parts of sweep %s: %w", id, err)
		}
		n += int(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// FinishSweepPart records one attempt's outcome, then counts a done part
// in the sweep item (see sweepPK). Both writes carry a token, so that one
// that failed its condition only because the SDK retried it after its
// answer was lost is known for this call's own: the attempt counts once,
// and the count that completed the sweep is still last.
func (s *Store) FinishSweepPart(ctx context.Context, p iamprune.SweepPart, at time.Time) (*iamprune.Sweep, bool, error) {
	if err := p.ValidateOutcome(); err != nil {
		return nil, false, err
	}
	token, err := newToken()
	if err != nil {
		return nil, false, err
	}
	pk, sk := sweepPK(p.SweepID), partSK(p.Account, p.Page)
	cur, err := s.get(ctx, key(pk, sk))
	if err != nil {
		return nil, false, fmt.Errorf("dynamodb: cannot read part %s of sweep %s: %w", p.Key(), p.SweepID, err)
	}
	if cur == nil {
		return nil, false, iamprune.Errorf(iamprune.ENOTFOUND, "dynamodb: sweep %s has no part %s", p.SweepID, p.Key())
	}
	done := getS(cur, "status") == iamprune.SweepDone
	if !done {
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: key(pk, sk),
			UpdateExpression:         aws.String("SET #st = :st, run_id = :run, changes = :ch, failures = :fl, detail = :dt, updated_at = :at, #wt = :tok ADD attempts :one"),
			ConditionExpression:      aws.String("#st <> :done AND (attribute_not_exists(#wt) OR #wt <> :tok)"),
			ExpressionAttributeNames: map[string]string{"#st": "status", "#wt": attrWriteToken},
			ExpressionAttributeValues: item{":st": str(p.Status), ":run": str(p.RunID), ":ch": num(int64(p.Changes)),
				":fl": num(int64(p.Failures)), ":dt": str(p.Detail), ":at": str(formatTime(at)), ":one": num(1), ":done": str(iamprune.SweepDone),
				":tok": str(token)},
		})
		switch {
		case isConditionFailed(err):
			// Another consumer finished it meanwhile, or this write did.
			mine, _, err := s.mine(ctx, key(pk, sk), token)
			if err != nil {
				return nil, false, fmt.Errorf("dynamodb: cannot read part %s of sweep %s: %w", p.Key(), p.SweepID, err)
			}
			done = !mine || p.Status == iamprune.SweepDone
		case err != nil:
			return nil, false, fmt.Errorf("dynamodb: cannot record part %s of sweep %s: %w", p.Key(), p.SweepID, err)
		default:
			done = p.Status == iamprune.SweepDone
		}
	}
	if !done {
		sw, _, err := s.readSweep(ctx, p.SweepID)
		return sw, false, err
	}
	// A done part is counted here, also when an earlier attempt recorded
	// it done and stopped before counting it.
	return s.countDone(ctx, p, token, at)
}

// countDone adds a done part's key to done_parts, and finishes the sweep
// when that completed it (last).
func (s *Store) countDone(ctx context.Context, p iamprune.SweepPart, token string, at time.Time) (*iamprune.Sweep, bool, error) {
	pk := sweepPK(p.SweepID)
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(pk, sweepSK),
		UpdateExpression:          aws.String("ADD #dp :k SET #ct = :tok"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND NOT contains(#dp, :key)"),
		ExpressionAttributeNames:  map[string]string{"#dp": attrDoneParts, "#ct": attrCountToken},
		ExpressionAttributeValues: item{":k": &types.AttributeValueMemberSS{Value: []string{p.Key()}}, ":key": str(p.Key()), ":tok": str(token)},
		ReturnValues:              types.ReturnValueAllNew,
	})
	var sw *iamprune.Sweep
	switch {
	case isConditionFailed(err):
		// Counted already: by another call, or by this one. No count can
		// follow the one that completes a sweep (every part is done, and
		// no part is added then), so this call's token still there on a
		// complete sweep means this call completed it.
		it, err := s.sweepRaw(ctx, p.SweepID)
		if err != nil {
			return nil, false, err
		}
		if sw, err = decodeSweep(it); err != nil || getS(it, attrCountToken) != token || !sw.Complete() {
			return sw, false, err
		}
	case err != nil:
		return nil, false, fmt.Errorf("dynamodb: cannot count part %s of sweep %s: %w", p.Key(), p.SweepID, err)
	default:
		if sw, err = decodeSweep(out.Attributes); err != nil || !sw.Complete() {
			return sw, false, err
		}
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(pk, sweepSK),
		UpdateExpression:          aws.String("SET finished_at = :at"),
		ExpressionAttributeValues: item{":at": str(formatTime(at))},
	})
	if err != nil {
		return nil, false, fmt.Errorf("dynamodb: cannot finish sweep %s: %w", p.SweepID, err)
	}
	at = at.UTC()
	sw.FinishedAt = &at
	return sw, true, nil
}

func decodeSweep(it item) (*iamprune.Sweep, error) {
	sw := &iamprune.Sweep{ID: getS(it, "sweep_id"), Caller: getS(it, "caller")}
	expected, err := getN(it, "expected")
	if err != nil {
		return nil, err
	}
	if expected > 0 { // sealed
		sw.Expected = int(expected) + setLen(it, attrChainedParts)
	}
	sw.Done = setLen(it, attrDoneParts)
	if sw.StartedAt, err = getTime(it, "started_at"); err != nil {
		return nil, err
	}
	if sw.FinishedAt, err = getTimePtr(it, "finished_at"); err != nil {
		return nil, err
	}
	return sw, nil
}

func (s *Store) readSweep(ctx context.Context, id string) (*iamprune.Sweep, []item, error) {
	if !sweepIDOK(id) {
		return nil, nil, iamprune.Errorf(iamprune.ENOTFOUND, "dynamodb: sweep %q not found", id)
	}
	e := newExpr()
	items, err := s.query(ctx, e.input("", e.cond(attrPK, "=", str(sweepPK(id))), true), 0)
	if err != nil {
		return nil, nil, fmt.Errorf("dynamodb: cannot read sweep %s: %w", id, err)
	}
	var sw *iamprune.Sweep
	var parts []item
	for _, it := range items {
		if getS(it, attrSK) == sweepSK {
			if sw, err = decodeSweep(it); err != nil {
				return nil, nil, err
			}
		} else if strings.HasPrefix(getS(it, attrSK), "PART#") {
			parts = append(parts, it)
		}
	}
	if sw == nil {
		return nil, nil, iamprune.Errorf(iamprune.ENOTFOUND, "dynamodb: sweep %s not found", id)
	}
	return sw, parts, nil
}

func sweepIDOK(id string) bool { return id != "" && fits(sweepPK(id), sweepSK) }

// Sweep returns a sweep and its parts by account and page (the sort key).
func (s *Store) Sweep(ctx context.Context, id string) (*iamprune.Sweep, []iamprune.SweepPart, error) {
	sw, items, err := s.readSweep(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	parts := make([]iamprune.SweepPart, 0, len(items))
	for _, it := range items {
		p := iamprune.SweepPart{SweepID: id, Account: getS(it, "account"), Status: getS(it, "status"), RunID: getS(it, "run_id"), Detail: getS(it, "detail")}
		for name, dst := range map[string]*int{"page": &p.Page, "changes": &p.Changes, "failures": &p.Failures, "attempts": &p.Attempts} {
			if v, ok := it[name].(*types.AttributeValueMemberN); ok {
				n, err := strconv.Atoi(v.Value)
				if err != nil {
					return nil, nil, fmt.Errorf("dynamodb: sweep %s: bad %s %q", id, name, v.Value)
				}
				*dst = n
			}
		}
		if p.UpdatedAt, err = getTimePtr(it, "updated_at"); err != nil {
			return nil, nil, err
		}
		parts = append(parts, p)
	}
	return sw, parts, nil
}

// SweepExists implements iamprune.SweepChecker: one GetItem of the sweep's
// own key, projected to the key (not its done parts).
func (s *Store) SweepExists(ctx context.Context, id string) error {
	if !sweepIDOK(id) {
		return iamprune.Errorf(iamprune.ENOTFOUND, "dynamodb: sweep %q not found", id)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(sweepPK(id), sweepSK),
		ProjectionExpression: aws.String("#k"), ExpressionAttributeNames: map[string]string{"#k": attrPK}})
	if err != nil {
		return fmt.Errorf("dynamodb: cannot read sweep %s: %w", id, err)
	}
	if len(out.Item) == 0 {
		return iamprune.Errorf(iamprune.ENOTFOUND, "dynamodb: sweep %s not found", id)
	}
	return nil
}
