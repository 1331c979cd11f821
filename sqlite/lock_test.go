package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// helperEnv makes the test binary act as a second iamprune process that
// takes the lock on the database it names and then waits to be killed.
const helperEnv = "IAMPRUNE_SQLITE_LOCK_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		os.Exit(lockHelper(path))
	}
	os.Exit(m.Run())
}

func lockHelper(path string) int {
	s, err := Open(path)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	if _, err := s.Lock(context.Background(), "111122223333", iamprune.LockOwner{Host: fmt.Sprintf("helper pid %d", os.Getpid())}, 3*time.Second); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("locked")
	// Hold the lock, like a run in progress, until killed.
	select {}
}

// The lock holds across processes, and a holder that dies without
// releasing blocks others only until its ttl runs out.
func TestLockAcrossProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper: %q", line)
	}
	holder := fmt.Sprintf("helper pid %d", cmd.Process.Pid)

	s := openAt(t, path)
	ctx := context.Background()
	if _, err := s.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "this process"}, time.Hour); iamprune.ErrorCode(err) != iamprune.ECONFLICT || !strings.Contains(err.Error(), holder) {
		t.Fatalf("Lock while another process holds it: %v, want ECONFLICT naming %q", err, holder)
	}
	// Another account is free.
	other, err := s.Lock(ctx, "444455556666", iamprune.LockOwner{Host: "this process"}, time.Hour)
	if err != nil {
		t.Fatalf("Lock of another account: %v", err)
	}
	other.Release(ctx)

	// The holder crashes: its lock stays until it goes stale.
	cmd.Process.Kill()
	cmd.Wait()
	killed = true
	if _, err := s.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "this process"}, time.Hour); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Fatalf("Lock right after the holder died: %v, want ECONFLICT until the ttl runs out", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := s.Lock(ctx, "111122223333", iamprune.LockOwner{Host: "this process"}, time.Hour)
		if err == nil {
			l.Release(ctx)
			return
		}
		if iamprune.ErrorCode(err) != iamprune.ECONFLICT || time.Now().After(deadline) {
			t.Fatalf("stale lock of a dead process not taken over: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
