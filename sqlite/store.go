// Package sqlite is the default iamprune state store: runs, the action
// journal with pre-images and steps, the per-account run lock, holds and
// the notification log, in one SQLite file
// (modernc.org/sqlite, pure Go, so iamprune stays a static binary).
//
// The file is opened in WAL mode with a busy timeout, so several iamprune
// processes can share it: writers queue instead of failing, and the run lock
// (lock.go) holds across processes because it is a row taken inside a
// BEGIN IMMEDIATE transaction.
//
// It is an adapter: it imports only the root, never another adapter; app and
// cmd import it.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	_ iamprune.Store     = (*Store)(nil)
	_ iamprune.NoticeLog = (*Store)(nil)
	_ iamprune.SweepLog  = (*Store)(nil)
)

// applicationID marks the file as an iamprune state database ("iamp"), so
// that Open refuses some other program's SQLite file instead of adding
// tables to it.
const applicationID = 0x69616d70

// busyTimeout is how long a statement waits for another process's write
// transaction before failing. Every write here is short, so a wait this
// long means something is wrong.
const busyTimeout = 10 * time.Second

// migrations are applied in order; PRAGMA user_version records how many
// have run. Never edit an entry that has shipped: append a new one.
var migrations = []string{
	// 1: runs, the action journal and the run lock.
	`CREATE TABLE runs (
		seq               INTEGER PRIMARY KEY AUTOINCREMENT,
		id                TEXT NOT NULL UNIQUE,
		kind              TEXT NOT NULL,
		account           TEXT NOT NULL,
		caller            TEXT NOT NULL DEFAULT '',
		status            TEXT NOT NULL,
		detail            TEXT NOT NULL DEFAULT '',
		started_at        TEXT NOT NULL,
		finished_at       TEXT,
		plan_generated_at TEXT
	);
	CREATE INDEX runs_by_start ON runs (started_at);
	CREATE INDEX runs_by_account ON runs (account, started_at);

	CREATE TABLE actions (
		seq          INTEGER PRIMARY KEY AUTOINCREMENT,
		run_id       TEXT NOT NULL REFERENCES runs (id),
		action_id    TEXT NOT NULL,
		account      TEXT NOT NULL,
		finding_id   TEXT NOT NULL DEFAULT '',
		principal    TEXT NOT NULL DEFAULT '',
		finding_type TEXT NOT NULL DEFAULT '',
		kind         TEXT NOT NULL,
		target       TEXT NOT NULL DEFAULT '',
		services     TEXT NOT NULL DEFAULT '[]',
		status       TEXT NOT NULL,
		detail       TEXT NOT NULL DEFAULT '',
		pre_image    BLOB,
		post_image   BLOB,
		rollback_of  TEXT NOT NULL DEFAULT '',
		started_at   TEXT NOT NULL,
		finished_at  TEXT,
		UNIQUE (run_id, action_id)
	);
	CREATE INDEX actions_by_action ON actions (action_id);
	CREATE INDEX actions_by_target ON actions (target);

	CREATE TABLE locks (
		account     TEXT PRIMARY KEY,
		owner       TEXT NOT NULL,
		token       TEXT NOT NULL,
		acquired_at TEXT NOT NULL,
		expires_at  TEXT NOT NULL
	);`,
	// 2: the notification log (notices.go).
	`CREATE TABLE notices (
		seq         INTEGER PRIMARY KEY AUTOINCREMENT,
		account     TEXT NOT NULL,
		item_key    TEXT NOT NULL,
		action_id   TEXT NOT NULL DEFAULT '',
		principal   TEXT NOT NULL DEFAULT '',
		owner       TEXT NOT NULL DEFAULT '',
		route       TEXT NOT NULL DEFAULT '',
		channel     TEXT NOT NULL DEFAULT '',
		fingerprint TEXT NOT NULL DEFAULT '',
		status      TEXT NOT NULL,
		error       TEXT NOT NULL DEFAULT '',
		sent_at     TEXT NOT NULL,
		run_id      TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX notices_by_item ON notices (account, item_key);
	CREATE INDEX notices_by_time ON notices (account, sent_at);`,
	// 3: who holds a lock, the steps of multi-write actions, and holds.
	`ALTER TABLE locks ADD COLUMN host TEXT NOT NULL DEFAULT '';
	ALTER TABLE locks ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE locks ADD COLUMN user TEXT NOT NULL DEFAULT '';
	ALTER TABLE locks ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE locks ADD COLUMN started_at TEXT;

	CREATE TABLE steps (
		run_id    TEXT NOT NULL,
		action_id TEXT NOT NULL,
		seq       INTEGER NOT NULL,
		op        TEXT NOT NULL DEFAULT '',
		target    TEXT NOT NULL DEFAULT '',
		pre       BLOB,
		post      BLOB,
		status    TEXT NOT NULL DEFAULT '',
		at        TEXT NOT NULL,
		PRIMARY KEY (run_id, action_id, seq),
		FOREIGN KEY (run_id, action_id) REFERENCES actions (run_id, action_id)
	);

	CREATE TABLE holds (
		id              TEXT PRIMARY KEY,
		account         TEXT NOT NULL,
		principal       TEXT NOT NULL DEFAULT '',
		finding_type    TEXT NOT NULL DEFAULT '',
		kind            TEXT NOT NULL DEFAULT '',
		target          TEXT NOT NULL DEFAULT '',
		services        TEXT NOT NULL DEFAULT '[]',
		run_id          TEXT NOT NULL DEFAULT '',
		rollback_run_id TEXT NOT NULL DEFAULT '',
		held_by         TEXT NOT NULL DEFAULT '',
		at              TEXT NOT NULL,
		until           TEXT NOT NULL,
		released_at     TEXT,
		released_by     TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX holds_by_account ON holds (account, at);`,
	// 4: the service-last-accessed cache of source iam (last_accessed.go).
	`CREATE TABLE last_accessed (
		account TEXT NOT NULL,
		arn     TEXT NOT NULL,
		at      TEXT NOT NULL,
		data    TEXT NOT NULL,
		PRIMARY KEY (account, arn)
	);`,
	// 5: the progress of fanned-out sweeps (sweeps.go).
	`CREATE TABLE sweeps (
		id          TEXT PRIMARY KEY,
		caller      TEXT NOT NULL DEFAULT '',
		started_at  TEXT NOT NULL,
		expected    INTEGER NOT NULL,
		done        INTEGER NOT NULL DEFAULT 0,
		finished_at TEXT
	);
	CREATE TABLE sweep_parts (
		sweep_id   TEXT NOT NULL REFERENCES sweeps (id),
		account    TEXT NOT NULL,
		page       INTEGER NOT NULL,
		status     TEXT NOT NULL,
		run_id     TEXT NOT NULL DEFAULT '',
		changes    INTEGER NOT NULL DEFAULT 0,
		failures   INTEGER NOT NULL DEFAULT 0,
		attempts   INTEGER NOT NULL DEFAULT 0,
		detail     TEXT NOT NULL DEFAULT '',
		updated_at TEXT,
		PRIMARY KEY (sweep_id, account, page)
	);`,
	// 6: the applied plan's entries by kind, on each run (Run.PlanCounts).
	`ALTER TABLE runs ADD COLUMN plan_counts TEXT NOT NULL DEFAULT '';`,
	// 7: chained sweep parts (SweepLog.ExtendSweep): how many a sweep has,
	// and whether each part is chained and its message sent.
	`ALTER TABLE sweeps ADD COLUMN chained INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE sweep_parts ADD COLUMN chained INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE sweep_parts ADD COLUMN sent INTEGER NOT NULL DEFAULT 1;`,
}

// Store is an iamprune.Store in a SQLite file. It is safe for concurrent
// use, and several Stores (in one process or many) may share one file.
type Store struct {
	db   *sql.DB
	path string
}

// Open opens the state database at path, creating it and its parent
// directories (0700) when missing, and brings its schema up to date. A file
// that is not an iamprune state database gives an EINVALID *iamprune.Error
// naming path.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "state path is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve state path %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the directory of %s: %w", path, err)
	}
	if st, err := os.Stat(abs); err == nil && !st.Mode().IsRegular() {
		return nil, iamprune.Errorf(iamprune.EINVALID, "state path %s is not a regular file", path)
	}
	// Create the file ourselves so that it is private: it holds policy
	// documents. SQLite gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open state file %s: %w", path, err)
	}
	f.Close()

	// Opening a new file switches it to WAL, which needs an exclusive lock;
	// SQLite answers a concurrent opener SQLITE_BUSY there without waiting
	// for busy_timeout, so Open itself waits and tries again.
	deadline := time.Now().Add(busyTimeout)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		db, err := sql.Open("sqlite", dsn(abs))
		if err != nil {
			return nil, fmt.Errorf("cannot open %s: %w", path, err)
		}
		s := &Store{db: db, path: path}
		err = s.init(context.Background())
		if err == nil {
			return s, nil
		}
		db.Close()
		if sqliteCode(err)&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(wait)
	}
}

// dsn is a SQLite URI for path, escaped so that '?', '#' and '%' in a file
// name stay part of it. The pragmas run on every pooled connection, and
// _txlock makes every transaction BEGIN IMMEDIATE: each one here writes, so
// it must take the write lock up front rather than fail to upgrade later.
func dsn(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive path: file:/C:/...
	}
	u := url.URL{Scheme: "file", Path: p, OmitHost: true}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL: a journaled intent must survive a power cut, not just a crash.
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	return u.String() + "?" + q.Encode()
}

// init checks that the file is ours and applies pending migrations.
func (s *Store) init(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return s.openError(err)
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return s.openError(err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("%s: cannot enable WAL (journal mode is %s)", s.path, mode)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.openError(err)
	}
	defer tx.Rollback()
	// Read the version inside the write transaction: another process may be
	// migrating the same file right now.
	var version, appID, objects int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return s.openError(err)
	}
	if err := tx.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return s.openError(err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&objects); err != nil {
		return s.openError(err)
	}
	switch {
	case appID != 0 && appID != applicationID,
		appID == 0 && objects > 0:
		return iamprune.Errorf(iamprune.EINVALID, "%s is a SQLite database but not an iamprune state database", s.path)
	case version > len(migrations):
		return iamprune.Errorf(iamprune.EINVALID, "%s has schema version %d, newer than this iamprune supports (%d): upgrade iamprune", s.path, version, len(migrations))
	case version == len(migrations):
		return nil
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("%s: migration %d failed: %w", s.path, i+1, err)
		}
	}
	// PRAGMA takes no parameters; both values are our own integers.
	pragmas := fmt.Sprintf(`PRAGMA application_id = %d; PRAGMA user_version = %d`, applicationID, len(migrations))
	if _, err := tx.ExecContext(ctx, pragmas); err != nil {
		return fmt.Errorf("%s: cannot record schema version: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: cannot commit migrations: %w", s.path, err)
	}
	return nil
}

// openError turns "this is not a database" into a clear EINVALID error.
func (s *Store) openError(err error) error {
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return &iamprune.Error{
			Code:    iamprune.EINVALID,
			Message: fmt.Sprintf("%s is not a valid iamprune state database (corrupt, or not SQLite); move it aside or pass another --state", s.path),
			Err:     err,
		}
	}
	return fmt.Errorf("cannot read %s: %w", s.path, err)
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("cannot close %s: %w", s.path, err)
	}
	return nil
}

// sqliteCode is the extended SQLite result code in err's chain, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// timeFormat is fixed-width, so stored times sort as text in time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func formatTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func parseTimePtr(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
