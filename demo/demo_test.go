package demo_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/demo"
)

// run plays the demo with an injected clock, and no process environment.
func run(t *testing.T, output string, now time.Time) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := demo.Run(context.Background(), demo.Options{
		Out:    &out,
		Output: output,
		Env: app.Env{
			Getenv: func(string) string { return "" },
			Now:    func() time.Time { return now },
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		},
		Owner: iamprune.LockOwner{Host: "test", PID: 1, StartedAt: now},
	})
	return out.String(), err
}

// Two stories at once share nothing: each has its own emulator and store,
// and run ids come from the injected clock.
func TestStoryInParallel(t *testing.T) {
	for _, now := range []time.Time{time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2031, 6, 7, 8, 9, 10, 0, time.UTC)} {
		t.Run(now.Format(time.DateOnly), func(t *testing.T) {
			t.Parallel()
			out, err := run(t, "table", now)
			if err != nil {
				t.Fatal(err)
			}
			runID := now.Format("20060102T150405Z") + "-"
			for _, want := range []string{"== 1. plan (2026-11-28)", "== 3. a week later (2026-12-05)", "Run " + runID,
				"== 6. rollback " + runID, "6 of 6 already done, 0 IAM write calls", "== 7. plan again", "Try it yourself:"} {
				if !strings.Contains(out, want) {
					t.Errorf("demo output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestPlanOnly(t *testing.T) {
	t.Parallel()
	out, err := run(t, "json", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "{") || strings.Contains(out, "== 2.") {
		t.Errorf("-o json prints the plan only, got:\n%s", out)
	}
	if _, err := run(t, "yaml", time.Now()); err == nil || !strings.Contains(err.Error(), "unknown output format") {
		t.Errorf("bad format: got %v", err)
	}
}
