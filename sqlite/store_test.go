package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/storetest"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) iamprune.Store { return openTemp(t) })
}

func TestNoticeLogConformance(t *testing.T) {
	t.Parallel()
	storetest.RunNoticeLog(t, func(t *testing.T) storetest.NoticeStore { return openTemp(t) })
}

func TestSweepLogConformance(t *testing.T) {
	t.Parallel()
	storetest.RunSweepLog(t, func(t *testing.T) storetest.SweepStore { return openTemp(t) })
}

func TestOpenCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"busy_timeout", "10000"},
		{"foreign_keys", "1"},
		{"synchronous", "2"}, // FULL
		{"user_version", strconv.Itoa(len(migrations))},
		{"application_id", strconv.Itoa(applicationID)},
	} {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
	if runtime.GOOS == "windows" {
		return
	}
	for _, tc := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Dir(path), 0o700 | os.ModeDir},
		{filepath.Dir(filepath.Dir(path)), 0o700 | os.ModeDir},
		{path, 0o600},
	} {
		st, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		// The umask may only remove bits, never add them.
		if st.Mode()&^tc.mode != 0 {
			t.Errorf("%s has mode %v, want at most %v", tc.path, st.Mode(), tc.mode)
		}
	}
}

// Names with URI metacharacters must name the file, not become a query.
func TestOpenOddPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "my state?x=1#frag%20.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.CreateRun(context.Background(), iamprune.Run{ID: "r1", Kind: iamprune.RunApply, Account: "1", Status: iamprune.RunRunning, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at the path given: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files in the directory: %q, want only the database", names)
	}
}

func TestReopenDurable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	run := iamprune.Run{ID: "r1", Kind: iamprune.RunApply, Account: "111122223333", Status: iamprune.RunRunning, StartedAt: started}
	if err := s.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2"} {
		rec := iamprune.ActionRecord{RunID: "r1", ActionID: id, Account: "111122223333", Kind: iamprune.KindDeactivateAccessKey,
			Target: "AKIA" + id, PreImage: json.RawMessage(`{"Status":"Active"}`), StartedAt: started}
		if err := s.BeginAction(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.FinishAction(ctx, "r1", "a1", iamprune.ResultDone, "deactivated", nil, started.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, "r1", iamprune.RunInterrupted, "killed", started.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "holder before restart"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.Run(ctx, "r1")
	if err != nil {
		t.Fatalf("run lost on reopen: %v", err)
	}
	if got.Status != iamprune.RunInterrupted || got.Detail != "killed" || got.FinishedAt == nil {
		t.Errorf("run after reopen: %+v", got)
	}
	recs, err := s.Actions(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, r := range recs {
		summary = append(summary, r.ActionID+"="+r.Status+" "+string(r.PreImage))
	}
	want := []string{`a1=done {"Status":"Active"}`, `a2=pending {"Status":"Active"}`}
	if strings.Join(summary, "|") != strings.Join(want, "|") {
		t.Errorf("journal after reopen: %q, want %q", summary, want)
	}
	// A lock is state too: a restart does not free it.
	l, err := s.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "after restart"}, time.Hour)
	if iamprune.ErrorCode(err) != iamprune.ECONFLICT || l != nil {
		t.Errorf("Lock after reopen: %v, want ECONFLICT", err)
	}
}

func TestOpenRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		// make puts the bad file at path; fixtures come from testdata/<name>.
		make func(t *testing.T, path string)
		want string
	}{
		{"not-sqlite", copyFixture, "not a valid iamprune state database"},
		{"corrupt", copyFixture, "not a valid iamprune state database"},
		{"damaged", damage, "not a valid iamprune state database"},
		{"foreign", foreign, "not an iamprune state database"},
		{"newer", newer, "newer than this iamprune supports"},
		{"directory", func(t *testing.T, path string) { os.Mkdir(path, 0o700) }, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			tc.make(t, path)
			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if code := iamprune.ErrorCode(err); code != iamprune.EINVALID {
				t.Errorf("code %s (%v), want %s", code, err, iamprune.EINVALID)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q should name %s and say %q", err, path, tc.want)
			}
		})
	}
}

func copyFixture(t *testing.T, path string) {
	name := strings.TrimPrefix(t.Name(), "TestOpenRejects/")
	b, err := os.ReadFile(filepath.Join("testdata", name, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// damage writes a real state database and then overwrites its schema page.
func damage(t *testing.T, path string) {
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(strings.Repeat("\xff", 3000)), 100); err != nil {
		t.Fatal(err)
	}
}

// rawExec runs statements on path with the bare driver.
func rawExec(t *testing.T, path string, stmts ...string) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func foreign(t *testing.T, path string) {
	rawExec(t, path, `CREATE TABLE contacts (name TEXT)`)
}

func newer(t *testing.T, path string) {
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawExec(t, path, `PRAGMA user_version = 99`)
}

// Two processes starting on a fresh file migrate it once between them.
func TestOpenConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	var wg sync.WaitGroup
	stores := make([]*Store, 8)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(path)
		}()
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		s.Close()
	}
}

// Two Stores on one file stand for two processes: each has its own
// connections, so only SQLite's file locking keeps them apart.
func TestLockTwoStores(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	var stores []iamprune.Store
	for range 2 {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	for range 5 {
		storetest.RaceLock(t, 16, stores...)
	}
	// And a lock taken through one is seen through the other.
	ctx := context.Background()
	l, err := stores[0].Lock(ctx, "111122223333", iamprune.LockOwner{Host: "first store"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].Lock(ctx, "111122223333", iamprune.LockOwner{Host: "second store"}, time.Hour); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("second store: %v, want ECONFLICT", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	l, err = stores[1].Lock(ctx, "111122223333", iamprune.LockOwner{Host: "second store"}, time.Hour)
	if err != nil {
		t.Fatalf("second store after release: %v", err)
	}
	l.Release(ctx)
}

func TestUsageCacheConformance(t *testing.T) {
	storetest.RunUsageCache(t, func(t *testing.T) storetest.UsageStore { return openTemp(t) })
}
