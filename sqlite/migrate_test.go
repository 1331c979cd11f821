package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// testdata/v1/state.db was written by iamprune before the notification log
// (schema version 1): run-1 succeeded with one done action, run-2 running.
// Opening it must add the log and keep everything else.
func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	b, err := os.ReadFile(filepath.Join("testdata", "v1", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if v := userVersion(t, path); v != 1 {
		t.Fatalf("fixture has schema version %d, want 1", v)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open a version 1 database: %v", err)
	}
	defer s.Close()
	var version int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) {
		t.Errorf("user_version = %d after Open, want %d", version, len(migrations))
	}

	// Nothing lost.
	runs, err := s.Runs(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, r.ID+"="+r.Status)
	}
	if want := "run-2=running run-1=succeeded"; strings.Join(got, " ") != want {
		t.Errorf("runs after migration: %q, want %q", got, want)
	}
	recs, err := s.Actions(ctx, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Status != iamprune.ResultDone || recs[0].Target != "AKIAALICE1" || string(recs[0].PreImage) != `{"Status": "Active"}` {
		t.Errorf("journal after migration: %+v", recs)
	}

	// The log works.
	n := iamprune.NoticeRecord{Account: "111122223333", ItemKey: "arn:aws:iam::111122223333:user/alice|UnusedIAMUserAccessKey|AKIAALICE2",
		Channel: "slack", Status: iamprune.NoticeSent, SentAt: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}
	if err := s.RecordNotice(ctx, n); err != nil {
		t.Fatalf("RecordNotice after migration: %v", err)
	}
	if found, err := s.FindNotices(ctx, iamprune.NoticeFilter{Account: n.Account}); err != nil || len(found) != 1 {
		t.Errorf("FindNotices after migration = %+v, %v", found, err)
	}

	// A migrated database has exactly the schema of a fresh one.
	fresh := openTemp(t)
	defer fresh.Close()
	if a, b := schema(t, s), schema(t, fresh); a != b {
		t.Errorf("migrated schema differs from a fresh one:\n%s\nvs\n%s", a, b)
	}
	// And reopening it migrates nothing again.
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s2.Close()
}

// testdata/v2/state.db was written by iamprune before lock owners, steps
// and holds (schema version 2): run-1 is running with one pending action,
// and its lock on 111122223333 (expiring in 2099, token v2-token) is held.
// Opening it must keep the lock, still naming its holder, and add steps
// and holds.
func TestMigrateFromV2(t *testing.T) {
	ctx := context.Background()
	b, err := os.ReadFile(filepath.Join("testdata", "v2", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if v := userVersion(t, path); v != 2 {
		t.Fatalf("fixture has schema version %d, want 2", v)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open a version 2 database: %v", err)
	}
	defer s.Close()
	if v := userVersion(t, path); v != len(migrations) {
		t.Errorf("user_version = %d after Open, want %d", v, len(migrations))
	}

	// The lock held before the upgrade still holds, and still names its
	// holder by the description it was taken with.
	const desc = "alice@build-7 pid 4242 at 2026-11-28T09:00:00Z"
	info, err := s.LockHolder(ctx, "111122223333")
	if err != nil || info == nil {
		t.Fatalf("LockHolder after migration = %+v, %v", info, err)
	}
	if info.Token != "v2-token" || info.Owner.Host != desc || info.Owner.PID != 0 || !info.Owner.StartedAt.IsZero() {
		t.Errorf("LockHolder after migration = %+v", info)
	}
	_, err = s.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "new", PID: 1}, time.Hour)
	if iamprune.ErrorCode(err) != iamprune.ECONFLICT || !strings.Contains(err.Error(), desc) {
		t.Errorf("Lock over the migrated lock = %v, want ECONFLICT naming %q", err, desc)
	}
	if ok, err := s.BreakLock(ctx, "111122223333", "v2-token"); err != nil || !ok {
		t.Fatalf("BreakLock of the migrated lock = %v, %v", ok, err)
	}
	owner := iamprune.LockOwner{Host: "build-8", PID: 99, User: "bob", RunID: "run-2", StartedAt: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	l, err := s.Lock(ctx, "111122223333", owner, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.LockHolder(ctx, "111122223333"); err != nil || info == nil || info.Owner != owner {
		t.Errorf("LockHolder of a new lock after migration = %+v, %v; want owner %+v", info, err, owner)
	}
	if err := l.Renew(ctx, time.Hour); err != nil {
		t.Errorf("Renew after migration: %v", err)
	}

	// The journaled intent takes steps, and holds can be kept.
	st := iamprune.Step{Seq: 1, Op: "PutRolePolicy", Target: "iamprune-quarantine", Status: iamprune.StepDone, At: time.Date(2026, 11, 28, 9, 0, 2, 0, time.UTC)}
	if err := s.RecordStep(ctx, "run-1", "a1", st); err != nil {
		t.Fatalf("RecordStep after migration: %v", err)
	}
	recs, err := s.Actions(ctx, "run-1")
	if err != nil || len(recs) != 1 || len(recs[0].Steps) != 1 || string(recs[0].PreImage) != `{"Tags": []}` {
		t.Fatalf("Actions after migration = %+v, %v", recs, err)
	}
	h := iamprune.Hold{ID: "hold-1", Account: "111122223333", At: st.At, Until: st.At.Add(time.Hour)}
	if err := s.PutHold(ctx, h); err != nil {
		t.Fatalf("PutHold after migration: %v", err)
	}
	if hs, err := s.Holds(ctx, ""); err != nil || len(hs) != 1 {
		t.Errorf("Holds after migration = %+v, %v", hs, err)
	}

	fresh := openTemp(t)
	defer fresh.Close()
	if a, b := schema(t, s), schema(t, fresh); a != b {
		t.Errorf("migrated schema differs from a fresh one:\n%s\nvs\n%s", a, b)
	}
}

func userVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// schema lists the database's tables and indexes as SQLite stores them.
func schema(t *testing.T, s *Store) string {
	t.Helper()
	rows, err := s.db.Query(`SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, name, text string
		if err := rows.Scan(&typ, &name, &text); err != nil {
			t.Fatal(err)
		}
		out = append(out, typ+" "+name+": "+text)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}
