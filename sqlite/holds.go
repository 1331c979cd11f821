package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/iamprune/iamprune"
)

const holdColumns = `id, account, principal, finding_type, kind, target, services, run_id, rollback_run_id,
	held_by, at, until, released_at, released_by`

// PutHold inserts or replaces a hold by ID: a second rollback of the same
// item replaces its hold.
func (s *Store) PutHold(ctx context.Context, h iamprune.Hold) error {
	if h.ID == "" {
		return iamprune.Errorf(iamprune.EINVALID, "hold has no id")
	}
	services := h.Services
	if services == nil {
		services = []string{}
	}
	svc, err := json.Marshal(services)
	if err != nil {
		return fmt.Errorf("cannot encode services of hold %s: %w", h.ID, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO holds (`+holdColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET account = excluded.account, principal = excluded.principal,
			finding_type = excluded.finding_type, kind = excluded.kind, target = excluded.target,
			services = excluded.services, run_id = excluded.run_id, rollback_run_id = excluded.rollback_run_id,
			held_by = excluded.held_by, at = excluded.at, until = excluded.until,
			released_at = excluded.released_at, released_by = excluded.released_by`,
		h.ID, h.Account, h.Principal, string(h.FindingType), string(h.Kind), h.Target, string(svc), h.RunID, h.RollbackRunID,
		h.By, formatTime(h.At), formatTime(h.Until), formatTimePtr(h.ReleasedAt), h.ReleasedBy)
	if err != nil {
		return fmt.Errorf("cannot record hold %s: %w", h.ID, err)
	}
	return nil
}

// Hold returns one hold; ENOTFOUND when unknown.
func (s *Store) Hold(ctx context.Context, id string) (*iamprune.Hold, error) {
	holds, err := s.queryHolds(ctx, `SELECT `+holdColumns+` FROM holds WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("cannot read hold %s: %w", id, err)
	}
	if len(holds) == 0 {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "hold %s not found", id)
	}
	return &holds[0], nil
}

// Holds lists holds newest first (by At, then by ID); account "" means all.
func (s *Store) Holds(ctx context.Context, account string) ([]iamprune.Hold, error) {
	q, args := `SELECT `+holdColumns+` FROM holds`, []any{}
	if account != "" {
		q += ` WHERE account = ?`
		args = append(args, account)
	}
	holds, err := s.queryHolds(ctx, q+` ORDER BY at DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot list holds: %w", err)
	}
	return holds, nil
}

// ReleaseHold ends a hold early. Releasing it again keeps the first
// release; an unknown hold is ENOTFOUND.
func (s *Store) ReleaseHold(ctx context.Context, id, by string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE holds SET released_at = coalesce(released_at, ?),
		released_by = CASE WHEN released_at IS NULL THEN ? ELSE released_by END WHERE id = ?`,
		formatTime(at), by, id)
	if err != nil {
		return fmt.Errorf("cannot release hold %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("cannot release hold %s: %w", id, err)
	}
	if n == 0 {
		return iamprune.Errorf(iamprune.ENOTFOUND, "hold %s not found", id)
	}
	return nil
}

func (s *Store) queryHolds(ctx context.Context, q string, args ...any) ([]iamprune.Hold, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	holds := []iamprune.Hold{}
	for rows.Next() {
		var (
			h                      iamprune.Hold
			findingType, kind, svc string
			held, until            string
			released               sql.NullString
		)
		if err := rows.Scan(&h.ID, &h.Account, &h.Principal, &findingType, &kind, &h.Target, &svc, &h.RunID,
			&h.RollbackRunID, &h.By, &held, &until, &released, &h.ReleasedBy); err != nil {
			return nil, err
		}
		h.FindingType, h.Kind = iamprune.FindingType(findingType), iamprune.ActionKind(kind)
		if err := json.Unmarshal([]byte(svc), &h.Services); err != nil {
			return nil, fmt.Errorf("bad stored services of hold %s: %w", h.ID, err)
		}
		if h.Services == nil {
			h.Services = []string{}
		}
		if h.At, err = parseTime(held); err != nil {
			return nil, err
		}
		if h.Until, err = parseTime(until); err != nil {
			return nil, err
		}
		if h.ReleasedAt, err = parseTimePtr(released); err != nil {
			return nil, err
		}
		holds = append(holds, h)
	}
	return holds, rows.Err()
}
