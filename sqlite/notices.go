package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/iamprune/iamprune"
)

const noticeColumns = `account, item_key, action_id, principal, owner, route, channel, fingerprint,
	status, error, sent_at, run_id`

// RecordNotice appends one notice to the notification log. The log is
// append-only: the same item sent twice is two records.
func (s *Store) RecordNotice(ctx context.Context, n iamprune.NoticeRecord) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("%w", err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO notices (`+noticeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.Account, n.ItemKey, n.ActionID, n.Principal, n.Owner, n.Route, n.Channel, n.Fingerprint,
		n.Status, n.Error, formatTime(n.SentAt), n.RunID)
	if err != nil {
		return fmt.Errorf("cannot record notice of %s to %s: %w", n.ItemKey, n.Channel, err)
	}
	return nil
}

// FindNotices returns the notices that match f, oldest first (by sent
// time, then by write order). Since is inclusive.
func (s *Store) FindNotices(ctx context.Context, f iamprune.NoticeFilter) ([]iamprune.NoticeRecord, error) {
	var (
		where []string
		args  []any
	)
	for _, c := range []struct{ column, value string }{
		{"account", f.Account},
		{"item_key", f.ItemKey},
		{"status", f.Status},
	} {
		if c.value != "" {
			where = append(where, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	if !f.Since.IsZero() {
		// Fixed-width UTC text compares in time order.
		where = append(where, "sent_at >= ?")
		args = append(args, formatTime(f.Since))
	}
	q := `SELECT ` + noticeColumns + ` FROM notices`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY sent_at, seq`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot search the notification log: %w", err)
	}
	defer rows.Close()
	out := []iamprune.NoticeRecord{}
	for rows.Next() {
		var (
			n    iamprune.NoticeRecord
			sent string
		)
		if err := rows.Scan(&n.Account, &n.ItemKey, &n.ActionID, &n.Principal, &n.Owner, &n.Route, &n.Channel,
			&n.Fingerprint, &n.Status, &n.Error, &sent, &n.RunID); err != nil {
			return nil, fmt.Errorf("cannot search the notification log: %w", err)
		}
		if n.SentAt, err = parseTime(sent); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot search the notification log: %w", err)
	}
	return out, nil
}
