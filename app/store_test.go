package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/iamprune/iamprune"
)

func TestOpenStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envState := filepath.Join(dir, "env.db")
	env := Env{Getenv: func(k string) string {
		if k == "IAMPRUNE_STATE" {
			return envState
		}
		return ""
	}}
	if p, err := StatePath(env, ""); err != nil || p != envState {
		t.Errorf("StatePath without --state = %q, %v; want $IAMPRUNE_STATE %q", p, err, envState)
	}
	if p, err := StatePath(env, "flag.db"); err != nil || p != "flag.db" {
		t.Errorf("StatePath(flag.db) = %q, %v", p, err)
	}
	if _, err := StatePath(env, "s3://bucket/state"); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("an s3:// state store: got %v, want EINVALID", err)
	}
	// mustExist: a missing SQLite file is not created.
	st, err := OpenStore(context.Background(), env, "", true)
	if err != nil || st != nil {
		t.Fatalf("OpenStore(mustExist) of a missing file = %v, %v; want nil, nil", st, err)
	}
	if _, err := os.Stat(envState); !os.IsNotExist(err) {
		t.Errorf("OpenStore(mustExist) created %s", envState)
	}
	st, err = OpenStore(context.Background(), env, "", false)
	if err != nil || st == nil {
		t.Fatalf("OpenStore = %v, %v", st, err)
	}
	st.Close()
	if _, err := os.Stat(envState); err != nil {
		t.Errorf("OpenStore did not create %s: %v", envState, err)
	}
}
