package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	sqlite3 "modernc.org/sqlite/lib"
)

const actionColumns = `run_id, action_id, account, finding_id, principal, finding_type, kind, target,
	services, status, detail, pre_image, post_image, rollback_of, started_at, finished_at`

// BeginAction journals an intent with its pre-image, before any AWS call.
// rec.Status is stored as given, pending when empty. A (run, action) pair
// that is already journaled is ECONFLICT, which is what makes an action
// happen at most once per run; an unknown run is ENOTFOUND.
func (s *Store) BeginAction(ctx context.Context, rec iamprune.ActionRecord) error {
	if rec.RunID == "" || rec.ActionID == "" {
		return iamprune.Errorf(iamprune.EINVALID, "action record needs a run id and an action id (got %q, %q)", rec.RunID, rec.ActionID)
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
	status := rec.Status
	if status == "" {
		status = iamprune.ResultPending
	}
	services := rec.Services
	if services == nil {
		services = []string{}
	}
	svc, err := json.Marshal(services)
	if err != nil {
		return fmt.Errorf("cannot encode services of %s/%s: %w", rec.RunID, rec.ActionID, err)
	}
	// The intent and its steps are written together or not at all.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("cannot journal action %s of run %s: %w", rec.ActionID, rec.RunID, err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO actions (`+actionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rec.RunID, rec.ActionID, rec.Account, rec.FindingID, rec.Principal, string(rec.FindingType),
		string(rec.Kind), rec.Target, string(svc), status, rec.Detail,
		blob(rec.PreImage), blob(rec.PostImage), rec.RollbackOf,
		formatTime(rec.StartedAt), formatTimePtr(rec.FinishedAt))
	switch sqliteCode(err) {
	case 0:
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return iamprune.Errorf(iamprune.ECONFLICT, "action %s of run %s is already journaled", rec.ActionID, rec.RunID)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return iamprune.Errorf(iamprune.ENOTFOUND, "cannot journal action %s: run %s not found", rec.ActionID, rec.RunID)
	}
	if err != nil {
		return fmt.Errorf("cannot journal action %s of run %s: %w", rec.ActionID, rec.RunID, err)
	}
	for _, st := range rec.Steps {
		if err := putStep(ctx, tx, rec.RunID, rec.ActionID, st); err != nil {
			return fmt.Errorf("cannot journal step %d of action %s in run %s: %w", st.Seq, rec.ActionID, rec.RunID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cannot journal action %s of run %s: %w", rec.ActionID, rec.RunID, err)
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
	res, err := s.db.ExecContext(ctx, `UPDATE actions SET status = ?, detail = ?, post_image = ?, finished_at = ?
		WHERE run_id = ? AND action_id = ? AND status = ?`,
		status, detail, blob(post), formatTime(at), runID, actionID, iamprune.ResultPending)
	if err != nil {
		return fmt.Errorf("cannot finish action %s of run %s: %w", actionID, runID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("cannot finish action %s of run %s: %w", actionID, runID, err)
	}
	if n == 1 {
		return nil
	}
	// Nothing was pending: say whether the intent is missing or finished.
	var current string
	err = s.db.QueryRowContext(ctx, `SELECT status FROM actions WHERE run_id = ? AND action_id = ?`, runID, actionID).Scan(&current)
	switch {
	case err == sql.ErrNoRows:
		return iamprune.Errorf(iamprune.ENOTFOUND, "action %s of run %s was never journaled", actionID, runID)
	case err != nil:
		return fmt.Errorf("cannot finish action %s of run %s: %w", actionID, runID, err)
	}
	return iamprune.Errorf(iamprune.ECONFLICT, "action %s of run %s already finished as %s", actionID, runID, current)
}

// Actions returns a run's journal in the order it was written; an unknown
// run has none.
func (s *Store) Actions(ctx context.Context, runID string) ([]iamprune.ActionRecord, error) {
	recs, err := s.queryActions(ctx, `SELECT `+actionColumns+` FROM actions WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("cannot read the journal of run %s: %w", runID, err)
	}
	return recs, nil
}

// FindActions returns the journal entries that match f across runs, oldest
// first (by start time, then by write order).
func (s *Store) FindActions(ctx context.Context, f iamprune.ActionFilter) ([]iamprune.ActionRecord, error) {
	var (
		where []string
		args  []any
	)
	for _, c := range []struct{ column, value string }{
		{"account", f.Account},
		{"action_id", f.ActionID},
		{"kind", string(f.Kind)},
		{"target", f.Target},
		{"status", f.Status},
	} {
		if c.value != "" {
			where = append(where, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	q := `SELECT ` + actionColumns + ` FROM actions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY started_at, seq`
	recs, err := s.queryActions(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot search the journal: %w", err)
	}
	return recs, nil
}

func (s *Store) queryActions(ctx context.Context, q string, args ...any) ([]iamprune.ActionRecord, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	recs := []iamprune.ActionRecord{}
	for rows.Next() {
		rec, err := scanAction(rows)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if err := s.attachSteps(ctx, recs); err != nil {
		return nil, err
	}
	return recs, nil
}

func scanAction(rows *sql.Rows) (iamprune.ActionRecord, error) {
	var (
		rec                             iamprune.ActionRecord
		findingType, kind, svc, started string
		pre, post                       []byte
		finished                        sql.NullString
	)
	err := rows.Scan(&rec.RunID, &rec.ActionID, &rec.Account, &rec.FindingID, &rec.Principal, &findingType,
		&kind, &rec.Target, &svc, &rec.Status, &rec.Detail, &pre, &post, &rec.RollbackOf, &started, &finished)
	if err != nil {
		return rec, err
	}
	rec.FindingType = iamprune.FindingType(findingType)
	rec.Kind = iamprune.ActionKind(kind)
	if err := json.Unmarshal([]byte(svc), &rec.Services); err != nil {
		return rec, fmt.Errorf("bad stored services of %s/%s: %w", rec.RunID, rec.ActionID, err)
	}
	if rec.Services == nil {
		rec.Services = []string{}
	}
	// Scan copies BLOBs into fresh slices, so these do not alias the driver.
	if len(pre) > 0 {
		rec.PreImage = pre
	}
	if len(post) > 0 {
		rec.PostImage = post
	}
	if rec.StartedAt, err = parseTime(started); err != nil {
		return rec, err
	}
	if rec.FinishedAt, err = parseTimePtr(finished); err != nil {
		return rec, err
	}
	return rec, nil
}

// checkImage rejects an image that is not JSON: history prints images as
// raw JSON, and one bad byte would make the whole journal unprintable.
func checkImage(runID, actionID, what string, img json.RawMessage) error {
	if len(img) > 0 && !json.Valid(img) {
		return iamprune.Errorf(iamprune.EINVALID, "%s of action %s in run %s is not valid JSON", what, actionID, runID)
	}
	return nil
}

// blob stores an empty image as NULL and any other byte for byte.
func blob(img json.RawMessage) any {
	if len(img) == 0 {
		return nil
	}
	return []byte(img)
}
