package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/iamprune/iamprune"
)

// StartSweep records a sweep and its pending parts in one transaction.
func (s *Store) StartSweep(ctx context.Context, sw iamprune.Sweep, parts []iamprune.SweepPart) error {
	if err := sw.ValidateStart(parts); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: cannot start sweep %s: %w", sw.ID, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sweeps WHERE id = ?`, sw.ID).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: cannot start sweep %s: %w", sw.ID, err)
	}
	if n > 0 {
		return iamprune.Errorf(iamprune.ECONFLICT, "sqlite: sweep %s already exists", sw.ID)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sweeps (id, caller, started_at, expected) VALUES (?, ?, ?, ?)`,
		sw.ID, sw.Caller, formatTime(sw.StartedAt), sw.Expected); err != nil {
		return fmt.Errorf("sqlite: cannot start sweep %s: %w", sw.ID, err)
	}
	for _, p := range parts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sweep_parts (sweep_id, account, page, status) VALUES (?, ?, ?, ?)`,
			sw.ID, p.Account, p.Page, iamprune.SweepPending); err != nil {
			return fmt.Errorf("sqlite: cannot record part %s of sweep %s: %w", p.Key(), sw.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: cannot start sweep %s: %w", sw.ID, err)
	}
	return nil
}

// AddSweepParts records more pending parts of an open sweep in one
// transaction; parts recorded already are left as they are.
func (s *Store) AddSweepParts(ctx context.Context, id string, parts []iamprune.SweepPart) error {
	if err := iamprune.ValidateParts(id, parts); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: cannot add parts to sweep %s: %w", id, err)
	}
	defer tx.Rollback()
	sw, err := readSweep(ctx, tx, id)
	if err != nil {
		return err
	}
	if !sw.Open() {
		return iamprune.Errorf(iamprune.ECONFLICT, "sqlite: sweep %s is sealed at %d part(s): no part can be added", id, sw.Expected)
	}
	for _, p := range parts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sweep_parts (sweep_id, account, page, status) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, id, p.Account, p.Page, iamprune.SweepPending); err != nil {
			return fmt.Errorf("sqlite: cannot record part %s of sweep %s: %w", p.Key(), id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: cannot add parts to sweep %s: %w", id, err)
	}
	return nil
}

// SealSweep fixes an open sweep's number of parts (see iamprune.SweepLog).
func (s *Store) SealSweep(ctx context.Context, id string, expected int) (*iamprune.Sweep, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: cannot seal sweep %s: %w", id, err)
	}
	defer tx.Rollback()
	sw, sealedAt, chained, err := readSweepCounts(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	var enqueued int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sweep_parts WHERE sweep_id = ? AND chained = 0`, id).Scan(&enqueued); err != nil {
		return nil, fmt.Errorf("sqlite: cannot count the parts of sweep %s: %w", id, err)
	}
	sealed, err := sw.ValidateSeal(expected, sealedAt, enqueued, chained)
	if err != nil || sealed {
		return sw, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sweeps SET expected = ? WHERE id = ? AND expected = 0`, expected, id); err != nil {
		return nil, fmt.Errorf("sqlite: cannot seal sweep %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: cannot seal sweep %s: %w", id, err)
	}
	sw.Expected = expected + chained
	return sw, nil
}

// ExtendSweep records a chained part and claims its message (see
// iamprune.SweepLog).
func (s *Store) ExtendSweep(ctx context.Context, p iamprune.SweepPart) (bool, error) {
	if err := iamprune.ValidateParts(p.SweepID, []iamprune.SweepPart{p}); err != nil {
		return false, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: cannot extend sweep %s: %w", p.SweepID, err)
	}
	defer tx.Rollback()
	if _, _, _, err := readSweepCounts(ctx, tx, p.SweepID); err != nil {
		return false, err
	}
	var sent bool
	err = tx.QueryRowContext(ctx, `SELECT sent FROM sweep_parts WHERE sweep_id = ? AND account = ? AND page = ?`, p.SweepID, p.Account, p.Page).Scan(&sent)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var before int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sweep_parts WHERE sweep_id = ? AND account = ? AND page = ? AND status = ?`,
			p.SweepID, p.Account, p.Page-1, iamprune.SweepDone).Scan(&before); err != nil {
			return false, fmt.Errorf("sqlite: cannot read the part before %s of sweep %s: %w", p.Key(), p.SweepID, err)
		}
		if before > 0 {
			return false, nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sweep_parts (sweep_id, account, page, status, chained, sent) VALUES (?, ?, ?, ?, 1, 0)`,
			p.SweepID, p.Account, p.Page, iamprune.SweepPending); err != nil {
			return false, fmt.Errorf("sqlite: cannot record part %s of sweep %s: %w", p.Key(), p.SweepID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sweeps SET chained = chained + 1 WHERE id = ?`, p.SweepID); err != nil {
			return false, fmt.Errorf("sqlite: cannot count part %s of sweep %s: %w", p.Key(), p.SweepID, err)
		}
	case err != nil:
		return false, fmt.Errorf("sqlite: cannot read part %s of sweep %s: %w", p.Key(), p.SweepID, err)
	case sent:
		return false, nil
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: cannot extend sweep %s: %w", p.SweepID, err)
	}
	return true, nil
}

// SweepPartSent marks a chained part's message sent.
func (s *Store) SweepPartSent(ctx context.Context, p iamprune.SweepPart) error {
	res, err := s.db.ExecContext(ctx, `UPDATE sweep_parts SET sent = 1 WHERE sweep_id = ? AND account = ? AND page = ?`, p.SweepID, p.Account, p.Page)
	if err != nil {
		return fmt.Errorf("sqlite: cannot mark part %s of sweep %s sent: %w", p.Key(), p.SweepID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return iamprune.Errorf(iamprune.ENOTFOUND, "sqlite: sweep %s has no part %s", p.SweepID, p.Key())
	}
	return nil
}

// FinishSweepPart records one attempt's outcome; the part and the sweep's
// count change in one write transaction, so exactly one call is last.
func (s *Store) FinishSweepPart(ctx context.Context, p iamprune.SweepPart, at time.Time) (*iamprune.Sweep, bool, error) {
	if err := p.ValidateOutcome(); err != nil {
		return nil, false, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: cannot record part %s of sweep %s: %w", p.Key(), p.SweepID, err)
	}
	defer tx.Rollback()
	var status string
	err = tx.QueryRowContext(ctx, `SELECT status FROM sweep_parts WHERE sweep_id = ? AND account = ? AND page = ?`,
		p.SweepID, p.Account, p.Page).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, iamprune.Errorf(iamprune.ENOTFOUND, "sqlite: sweep %s has no part %s", p.SweepID, p.Key())
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: cannot read part %s of sweep %s: %w", p.Key(), p.SweepID, err)
	}
	last := false
	if status != iamprune.SweepDone {
		if _, err := tx.ExecContext(ctx, `UPDATE sweep_parts SET status = ?, run_id = ?, changes = ?, failures = ?,
			attempts = attempts + 1, detail = ?, updated_at = ? WHERE sweep_id = ? AND account = ? AND page = ?`,
			p.Status, p.RunID, p.Changes, p.Failures, p.Detail, formatTime(at), p.SweepID, p.Account, p.Page); err != nil {
			return nil, false, fmt.Errorf("sqlite: cannot record part %s of sweep %s: %w", p.Key(), p.SweepID, err)
		}
		if p.Status == iamprune.SweepDone {
			var done, expected, chained int
			if err := tx.QueryRowContext(ctx, `UPDATE sweeps SET done = done + 1 WHERE id = ? RETURNING done, expected, chained`, p.SweepID).Scan(&done, &expected, &chained); err != nil {
				return nil, false, fmt.Errorf("sqlite: cannot count part %s of sweep %s: %w", p.Key(), p.SweepID, err)
			}
			if expected > 0 && done == expected+chained {
				last = true
				if _, err := tx.ExecContext(ctx, `UPDATE sweeps SET finished_at = ? WHERE id = ?`, formatTime(at), p.SweepID); err != nil {
					return nil, false, fmt.Errorf("sqlite: cannot finish sweep %s: %w", p.SweepID, err)
				}
			}
		}
	}
	sw, err := readSweep(ctx, tx, p.SweepID)
	if err != nil {
		return nil, false, err
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("sqlite: cannot record part %s of sweep %s: %w", p.Key(), p.SweepID, err)
	}
	return sw, last, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func readSweep(ctx context.Context, q querier, id string) (*iamprune.Sweep, error) {
	sw, _, _, err := readSweepCounts(ctx, q, id)
	return sw, err
}

// readSweepCounts reads a sweep, and the number it was sealed at (0:
// open) and its chained parts; its Expected is their sum once sealed.
func readSweepCounts(ctx context.Context, q querier, id string) (*iamprune.Sweep, int, int, error) {
	var (
		sw                iamprune.Sweep
		started           string
		finished          sql.NullString
		sealedAt, chained int
	)
	err := q.QueryRowContext(ctx, `SELECT id, caller, started_at, expected, chained, done, finished_at FROM sweeps WHERE id = ?`, id).
		Scan(&sw.ID, &sw.Caller, &started, &sealedAt, &chained, &sw.Done, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, 0, iamprune.Errorf(iamprune.ENOTFOUND, "sqlite: sweep %s not found", id)
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("sqlite: cannot read sweep %s: %w", id, err)
	}
	if sealedAt > 0 {
		sw.Expected = sealedAt + chained
	}
	if sw.StartedAt, err = parseTime(started); err != nil {
		return nil, 0, 0, err
	}
	if sw.FinishedAt, err = parseTimePtr(finished); err != nil {
		return nil, 0, 0, err
	}
	return &sw, sealedAt, chained, nil
}

// Sweep returns a sweep and its parts by account and page.
func (s *Store) Sweep(ctx context.Context, id string) (*iamprune.Sweep, []iamprune.SweepPart, error) {
	sw, err := readSweep(ctx, s.db, id)
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT account, page, status, run_id, changes, failures, attempts, detail, updated_at
		FROM sweep_parts WHERE sweep_id = ? ORDER BY account, page`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: cannot read the parts of sweep %s: %w", id, err)
	}
	defer rows.Close()
	parts := []iamprune.SweepPart{}
	for rows.Next() {
		p := iamprune.SweepPart{SweepID: id}
		var updated sql.NullString
		if err := rows.Scan(&p.Account, &p.Page, &p.Status, &p.RunID, &p.Changes, &p.Failures, &p.Attempts, &p.Detail, &updated); err != nil {
			return nil, nil, fmt.Errorf("sqlite: cannot read the parts of sweep %s: %w", id, err)
		}
		if p.UpdatedAt, err = parseTimePtr(updated); err != nil {
			return nil, nil, err
		}
		parts = append(parts, p)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlite: cannot read the parts of sweep %s: %w", id, err)
	}
	return sw, parts, nil
}

// SweepExists implements iamprune.SweepChecker.
func (s *Store) SweepExists(ctx context.Context, id string) error {
	_, err := readSweep(ctx, s.db, id)
	return err
}
