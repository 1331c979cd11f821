package dynamodb

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/iamprune/iamprune"
)

func noticePK(account, itemKey string) string { return "NOTICE#" + esc(account) + "#" + esc(itemKey) }

// RecordNotice appends one notice to the notification log. The log is
// append-only: the same item sent twice is two records, each with its own
// sequence number in its key.
func (s *Store) RecordNotice(ctx context.Context, n iamprune.NoticeRecord) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("%w", err)
	}
	pk := noticePK(n.Account, n.ItemKey)
	if err := checkKey("the account and item key of notice "+n.ItemKey, pk, ""); err != nil {
		return err
	}
	token, err := newToken()
	if err != nil {
		return err
	}
	seq, err := s.next(ctx, counterNotice)
	if err != nil {
		return err
	}
	sk := formatTime(n.SentAt) + "#" + seqString(seq)
	it := key(pk, sk)
	it[attrGSI1PK], it[attrGSI1SK] = str("NOTICES#"+esc(n.Account)), str(sk)
	it[attrGSI2PK], it[attrGSI2SK] = str("NOTICES"), str(sk)
	it[attrWriteToken] = str(token)
	it["account"], it["item_key"], it["status"] = str(n.Account), str(n.ItemKey), str(n.Status)
	it["sent_at"] = str(formatTime(n.SentAt))
	setS(it, "action_id", n.ActionID)
	setS(it, "principal", n.Principal)
	setS(it, "owner", n.Owner)
	setS(it, "route", n.Route)
	setS(it, "channel", n.Channel)
	setS(it, "fingerprint", n.Fingerprint)
	setS(it, "error", n.Error)
	setS(it, "run_id", n.RunID)
	// The key is new by construction; the condition guards history against
	// a counter that was reset.
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                it,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		ok, _, gerr := s.mine(ctx, key(pk, sk), token)
		switch {
		case gerr != nil:
			return fmt.Errorf("cannot record notice of %s to %s: %w", n.ItemKey, n.Channel, gerr)
		case ok:
			return nil
		}
		return fmt.Errorf("cannot record notice of %s to %s: notice sequence number %d is already taken (was the counter item deleted?)", n.ItemKey, n.Channel, seq)
	}
	if err != nil {
		return fmt.Errorf("cannot record notice of %s to %s: %w", n.ItemKey, n.Channel, err)
	}
	return nil
}

// FindNotices returns the notices that match f, oldest first (by sent
// time, then by write order). Since is inclusive.
func (s *Store) FindNotices(ctx context.Context, f iamprune.NoticeFilter) ([]iamprune.NoticeRecord, error) {
	e := newExpr()
	var index, kc, sortAttr string
	switch {
	case f.Account != "" && f.ItemKey != "":
		kc, sortAttr = e.cond(attrPK, "=", str(noticePK(f.Account, f.ItemKey))), attrSK
	case f.Account != "":
		index, sortAttr = IndexByAccount, attrGSI1SK
		kc = e.cond(attrGSI1PK, "=", str("NOTICES#"+esc(f.Account)))
	default:
		index, sortAttr = IndexByType, attrGSI2SK
		kc = e.cond(attrGSI2PK, "=", str("NOTICES"))
		e.eq("item_key", f.ItemKey)
	}
	if !f.Since.IsZero() {
		// Sort keys start with the fixed-width sent time, so every key of a
		// notice sent at Since or later is >= Since's text.
		kc += " AND " + e.cond(sortAttr, ">=", str(formatTime(f.Since)))
	}
	e.eq("status", f.Status)
	items, err := s.query(ctx, e.input(index, kc, true), 0)
	if err != nil {
		return nil, fmt.Errorf("cannot search the notification log: %w", err)
	}
	out := make([]iamprune.NoticeRecord, 0, len(items))
	for _, it := range items {
		n := iamprune.NoticeRecord{
			Account: getS(it, "account"), ItemKey: getS(it, "item_key"), ActionID: getS(it, "action_id"),
			Principal: getS(it, "principal"), Owner: getS(it, "owner"), Route: getS(it, "route"),
			Channel: getS(it, "channel"), Fingerprint: getS(it, "fingerprint"), Status: getS(it, "status"),
			Error: getS(it, "error"), RunID: getS(it, "run_id"),
		}
		if n.SentAt, err = getTime(it, "sent_at"); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
