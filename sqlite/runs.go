package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/iamprune/iamprune"
	sqlite3 "modernc.org/sqlite/lib"
)

const runColumns = `id, kind, account, caller, status, detail, started_at, finished_at, plan_generated_at, plan_counts`

// CreateRun records a new run. A run id that already exists is ECONFLICT.
func (s *Store) CreateRun(ctx context.Context, r iamprune.Run) error {
	if r.ID == "" {
		return iamprune.Errorf(iamprune.EINVALID, "run has no id")
	}
	counts, err := iamprune.EncodePlanCounts(r.PlanCounts)
	if err != nil {
		return fmt.Errorf("sqlite: cannot create run %s: %w", r.ID, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO runs (`+runColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, string(r.Kind), r.Account, r.Caller, r.Status, r.Detail,
		formatTime(r.StartedAt), formatTimePtr(r.FinishedAt), formatTimePtr(r.PlanGeneratedAt), counts)
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return iamprune.Errorf(iamprune.ECONFLICT, "run %s already exists", r.ID)
	}
	if err != nil {
		return fmt.Errorf("cannot create run %s: %w", r.ID, err)
	}
	return nil
}

// FinishRun records a run's final status. An unknown run is ENOTFOUND.
func (s *Store) FinishRun(ctx context.Context, runID, status, detail string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET status = ?, detail = ?, finished_at = ? WHERE id = ?`,
		status, detail, formatTime(at), runID)
	if err != nil {
		return fmt.Errorf("cannot finish run %s: %w", runID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("cannot finish run %s: %w", runID, err)
	} else if n == 0 {
		return iamprune.Errorf(iamprune.ENOTFOUND, "run %s not found", runID)
	}
	return nil
}

// Run returns one run, or ENOTFOUND.
func (s *Store) Run(ctx context.Context, runID string) (*iamprune.Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, runID))
	if err == sql.ErrNoRows {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "run %s not found", runID)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read run %s: %w", runID, err)
	}
	return r, nil
}

// Runs lists runs newest first (by start time, then by creation order);
// account "" means every account, limit <= 0 no limit.
func (s *Store) Runs(ctx context.Context, account string, limit int) ([]iamprune.Run, error) {
	q := `SELECT ` + runColumns + ` FROM runs`
	var args []any
	if account != "" {
		q += ` WHERE account = ?`
		args = append(args, account)
	}
	q += ` ORDER BY started_at DESC, seq DESC`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot list runs: %w", err)
	}
	defer rows.Close()
	runs := []iamprune.Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("cannot list runs: %w", err)
		}
		runs = append(runs, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot list runs: %w", err)
	}
	return runs, nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanRun(sc scanner) (*iamprune.Run, error) {
	var (
		r                     iamprune.Run
		kind, started, counts string
		finished, planTime    sql.NullString
	)
	if err := sc.Scan(&r.ID, &kind, &r.Account, &r.Caller, &r.Status, &r.Detail, &started, &finished, &planTime, &counts); err != nil {
		return nil, err
	}
	r.Kind = iamprune.RunKind(kind)
	var err error
	if r.StartedAt, err = parseTime(started); err != nil {
		return nil, err
	}
	if r.FinishedAt, err = parseTimePtr(finished); err != nil {
		return nil, err
	}
	if r.PlanGeneratedAt, err = parseTimePtr(planTime); err != nil {
		return nil, err
	}
	if r.PlanCounts, err = iamprune.DecodePlanCounts(counts); err != nil {
		return nil, err
	}
	return &r, nil
}
