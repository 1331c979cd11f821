package dynamodb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/iamprune/iamprune"
)

func holdKey(id string) item { return key("HOLD#"+esc(id), "HOLD") }

// PutHold inserts or replaces a hold by ID: a second rollback of the same
// item replaces its hold.
func (s *Store) PutHold(ctx context.Context, h iamprune.Hold) error {
	if h.ID == "" {
		return iamprune.Errorf(iamprune.EINVALID, "hold has no id")
	}
	it := holdKey(h.ID)
	if err := checkKey("hold "+h.ID, getS(it, attrPK), getS(it, attrSK)); err != nil {
		return err
	}
	order := formatTime(h.At) + "#" + esc(h.ID)
	it[attrGSI1PK], it[attrGSI1SK] = str("HOLDS#"+esc(h.Account)), str(order)
	it[attrGSI2PK], it[attrGSI2SK] = str("HOLDS"), str(order)
	it["id"], it["at"], it["until"] = str(h.ID), str(formatTime(h.At)), str(formatTime(h.Until))
	setS(it, "account", h.Account)
	setS(it, "principal", h.Principal)
	setS(it, "finding_type", string(h.FindingType))
	setS(it, "kind", string(h.Kind))
	setS(it, "target", h.Target)
	setS(it, "run_id", h.RunID)
	setS(it, "rollback_run_id", h.RollbackRunID)
	setS(it, "by", h.By)
	setTime(it, "released_at", h.ReleasedAt)
	setS(it, "released_by", h.ReleasedBy)
	it["services"] = strList(h.Services)
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it})
	if err != nil {
		return fmt.Errorf("cannot record hold %s: %w", h.ID, err)
	}
	return nil
}

// Hold returns one hold; ENOTFOUND when unknown.
func (s *Store) Hold(ctx context.Context, id string) (*iamprune.Hold, error) {
	k := holdKey(id)
	if id == "" || !fits(getS(k, attrPK), "") {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "hold %q not found", id)
	}
	it, err := s.get(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("cannot read hold %s: %w", id, err)
	}
	if it == nil {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "hold %s not found", id)
	}
	return decodeHold(it)
}

// Holds lists holds newest first (by At, then by ID); account "" means
// all. Like Runs it reads an index, which may miss a hold written a moment
// ago.
func (s *Store) Holds(ctx context.Context, account string) ([]iamprune.Hold, error) {
	e := newExpr()
	var kc, index string
	if account != "" {
		index, kc = IndexByAccount, e.cond(attrGSI1PK, "=", str("HOLDS#"+esc(account)))
	} else {
		index, kc = IndexByType, e.cond(attrGSI2PK, "=", str("HOLDS"))
	}
	items, err := s.query(ctx, e.input(index, kc, false), 0)
	if err != nil {
		return nil, fmt.Errorf("cannot list holds: %w", err)
	}
	holds := make([]iamprune.Hold, 0, len(items))
	for _, it := range items {
		h, err := decodeHold(it)
		if err != nil {
			return nil, err
		}
		holds = append(holds, *h)
	}
	slices.SortStableFunc(holds, func(a, b iamprune.Hold) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return holds, nil
}

// ReleaseHold ends a hold early. Releasing it again keeps the first
// release; an unknown hold is ENOTFOUND.
func (s *Store) ReleaseHold(ctx context.Context, id, by string, at time.Time) error {
	k := holdKey(id)
	if id == "" || !fits(getS(k, attrPK), "") {
		return iamprune.Errorf(iamprune.ENOTFOUND, "hold %q not found", id)
	}
	e := newExpr()
	e.assign("released_at", str(formatTime(at)))
	e.assignS("released_by", by)
	cond := "attribute_exists(" + e.name(attrPK) + ") AND attribute_not_exists(" + e.name("released_at") + ")"
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       k,
		UpdateExpression:          aws.String(e.update()),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	})
	if isConditionFailed(err) {
		cur, gerr := s.get(ctx, k)
		switch {
		case gerr != nil:
			return fmt.Errorf("cannot release hold %s: %w", id, gerr)
		case cur == nil:
			return iamprune.Errorf(iamprune.ENOTFOUND, "hold %s not found", id)
		}
		return nil // released already: the first release stands
	}
	if err != nil {
		return fmt.Errorf("cannot release hold %s: %w", id, err)
	}
	return nil
}

func decodeHold(it item) (*iamprune.Hold, error) {
	h := &iamprune.Hold{
		ID: getS(it, "id"), Account: getS(it, "account"), Principal: getS(it, "principal"),
		FindingType: iamprune.FindingType(getS(it, "finding_type")), Kind: iamprune.ActionKind(getS(it, "kind")),
		Target: getS(it, "target"), RunID: getS(it, "run_id"), RollbackRunID: getS(it, "rollback_run_id"),
		By: getS(it, "by"), ReleasedBy: getS(it, "released_by"), Services: []string{},
	}
	var ok bool
	if h.Services, ok = getStrList(it, "services"); !ok {
		return nil, fmt.Errorf("hold %s has a service that is not a string", h.ID)
	}
	var err error
	if h.At, err = getTime(it, "at"); err != nil {
		return nil, err
	}
	if h.Until, err = getTime(it, "until"); err != nil {
		return nil, err
	}
	if h.ReleasedAt, err = getTimePtr(it, "released_at"); err != nil {
		return nil, err
	}
	return h, nil
}
