package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

// injectedMain is a CLI whose environment, clock and AWS configuration are
// injected: it reaches its own emulator and reads nothing of the process,
// so tests using it run in parallel.
func injectedMain(t *testing.T, env map[string]string) (*Main, *emulator.Server, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	snapDir, _ := demoPaths(t)
	snap, err := snapshot.LoadDir(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	srv, cfg := emulatortest.Start(t, snap, emulator.Options{})
	var out, errb bytes.Buffer
	return &Main{
		Stdin:  bytes.NewReader(nil),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
		Now:    func() time.Time { return time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC) },
		LoadAWS: func(context.Context) (aws.Config, *awsapi.Counter, error) {
			c, cfg := awsapi.NewCounter(), cfg.Copy()
			c.Attach(&cfg)
			return cfg, c, nil
		},
	}, srv, &out, &errb
}

// apply and rollback run side by side against two accounts, each CLI with
// its own injected environment: neither sees the other's endpoint or state.
func TestApplyRollbackInjectedInParallel(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			m, srv, out, errb := injectedMain(t, map[string]string{"IAMPRUNE_STATE": filepath.Join(dir, "state.db")})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cfg := filepath.Join("testdata", "no-prior-notice", "iamprune.yaml")
			code := m.Run(ctx, []string{"apply", "--yes", "-o", "json", "--config", cfg, "--now", demoNow, "--audit-log", filepath.Join(dir, "audit.jsonl")})
			if code != 0 {
				t.Fatalf("apply exit %d: %s", code, errb)
			}
			res := decodeRun(t, result{stdout: out.String(), stderr: errb.String(), code: code})
			var done []string
			for k, s := range statuses(res) {
				if s == iamprune.ResultDone {
					done = append(done, k)
				}
			}
			slices.Sort(done)
			if !slices.Equal(done, demoRemediations) {
				t.Errorf("done %v, want %v", done, demoRemediations)
			}
			if len(srv.Writes()) == 0 {
				t.Fatal("apply wrote nothing to its own emulator")
			}
			out.Reset()
			code = m.Run(ctx, []string{"rollback", res.RunID, "--yes", "-o", "json", "--audit-log", filepath.Join(dir, "audit.jsonl")})
			if code != 0 {
				t.Fatalf("rollback exit %d: %s", code, errb)
			}
			rb := decodeRun(t, result{stdout: out.String(), code: code})
			for k, s := range statuses(rb) {
				if s != iamprune.ResultDone {
					t.Errorf("rollback %s: %s", k, s)
				}
			}
		})
	}
}
