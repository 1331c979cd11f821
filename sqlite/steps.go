package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/iamprune/iamprune"
	sqlite3 "modernc.org/sqlite/lib"
)

const stepColumns = `run_id, action_id, seq, op, target, pre, post, status, at`

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// RecordStep inserts or replaces (by Seq) a step of a journaled action:
// the pending record of a write is replaced by its done record. An
// unknown (run, action) is ENOTFOUND.
func (s *Store) RecordStep(ctx context.Context, runID, actionID string, st iamprune.Step) error {
	if err := checkStep(runID, actionID, st); err != nil {
		return err
	}
	err := putStep(ctx, s.db, runID, actionID, st)
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return iamprune.Errorf(iamprune.ENOTFOUND, "cannot record step %d: action %s of run %s was never journaled", st.Seq, actionID, runID)
	}
	if err != nil {
		return fmt.Errorf("cannot record step %d of action %s in run %s: %w", st.Seq, actionID, runID, err)
	}
	return nil
}

func putStep(ctx context.Context, db execer, runID, actionID string, st iamprune.Step) error {
	_, err := db.ExecContext(ctx, `INSERT INTO steps (`+stepColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, action_id, seq) DO UPDATE SET op = excluded.op, target = excluded.target,
			pre = excluded.pre, post = excluded.post, status = excluded.status, at = excluded.at`,
		runID, actionID, st.Seq, st.Op, st.Target, blob(st.Pre), blob(st.Post), st.Status, formatTime(st.At))
	return err
}

func checkStep(runID, actionID string, st iamprune.Step) error {
	if err := st.Validate(); err != nil {
		return iamprune.Errorf(iamprune.EINVALID, "action %s in run %s: %v", actionID, runID, err)
	}
	return nil
}

// attachSteps reads the steps of recs, in Seq order, into them.
func (s *Store) attachSteps(ctx context.Context, recs []iamprune.ActionRecord) error {
	type key struct{ run, action string }
	index := map[key]*iamprune.ActionRecord{}
	var runs []string
	seen := map[string]bool{}
	for i := range recs {
		index[key{recs[i].RunID, recs[i].ActionID}] = &recs[i]
		if !seen[recs[i].RunID] {
			seen[recs[i].RunID] = true
			runs = append(runs, recs[i].RunID)
		}
	}
	for _, run := range runs {
		rows, err := s.db.QueryContext(ctx, `SELECT `+stepColumns+` FROM steps WHERE run_id = ? ORDER BY action_id, seq`, run)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				k         key
				st        iamprune.Step
				pre, post []byte
				at        string
			)
			if err := rows.Scan(&k.run, &k.action, &st.Seq, &st.Op, &st.Target, &pre, &post, &st.Status, &at); err != nil {
				rows.Close()
				return err
			}
			if len(pre) > 0 {
				st.Pre = pre
			}
			if len(post) > 0 {
				st.Post = post
			}
			if st.At, err = parseTime(at); err != nil {
				rows.Close()
				return err
			}
			if rec := index[k]; rec != nil {
				rec.Steps = append(rec.Steps, st)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
