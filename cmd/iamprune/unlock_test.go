package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/sqlite"
)

func TestUnlock(t *testing.T) {
	t.Parallel()
	noAWS(t)
	state := filepath.Join(t.TempDir(), "state.db")
	const acct = "111122223333"
	args := func(extra ...string) []string {
		return append(append([]string{"unlock", acct, "--state", state}, extra...), "--audit-log", filepath.Join(filepath.Dir(state), "audit.jsonl"))
	}
	if r := runCLI(t, args()...); r.code != 0 || !strings.Contains(r.stdout, "not locked") {
		t.Errorf("no store: exit %d %s", r.code, r.stdout)
	}
	st, err := sqlite.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if r := runCLI(t, args()...); r.code != 0 || !strings.Contains(r.stdout, "not locked: nothing to do") {
		t.Errorf("no lock: exit %d %s", r.code, r.stdout)
	}
	owner := iamprune.LockOwner{Host: "build-7", PID: 4242, User: "ops", RunID: "R-dead", StartedAt: time.Now()}
	if _, err := st.Lock(ctx, acct, owner, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Without a terminal, --yes is required: nothing is broken.
	r := runCLI(t, args()...)
	if r.code != 2 || !strings.Contains(r.stderr, "run R-dead (ops, pid 4242 on build-7)") {
		t.Errorf("without --yes: exit %d\n%s", r.code, r.stderr)
	}
	if info, _ := st.LockHolder(ctx, acct); info == nil {
		t.Fatal("the lock was broken without consent")
	}
	r = runCLI(t, args("--yes")...)
	if r.code != 0 || !strings.Contains(r.stdout, "Broke the lock of account "+acct) || !strings.Contains(r.stdout, "resolves what run R-dead left pending from the live state and closes it as interrupted") {
		t.Errorf("--yes: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if info, err := st.LockHolder(ctx, acct); info != nil || err != nil {
		t.Errorf("lock after unlock: %+v %v", info, err)
	}
	if r := runCLI(t, "unlock", "12345", "--state", state); r.code != 2 {
		t.Errorf("bad account: exit %d", r.code)
	}
}
