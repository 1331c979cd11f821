package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/render"
)

func TestSavedPlanRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	p := &iamprune.Plan{GeneratedAt: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}
	if err := SavePlan(path, p); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.GeneratedAt.Equal(p.GeneratedAt) {
		t.Errorf("generated_at %v, want %v", got.GeneratedAt, p.GeneratedAt)
	}
	for body, want := range map[string]string{
		`{}`: "generated_at: missing",
		`{"generated_at":"2026-11-28T00:00:00Z","extra":1}`:                                              "not an iamprune plan",
		`{"generated_at":"2026-11-28T00:00:00Z","actions":[{"id":"x","principal":"p","kind":"notify"}]}`: "actions[0].account: missing",
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadPlan(path)
		if iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an EINVALID error with %q", body, err, want)
		}
	}
}

// A saved plan of another major format_version is refused; the current
// one and none (older plans) are read.
func TestLoadPlanChecksFormatVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := &iamprune.Plan{GeneratedAt: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), Actions: []iamprune.Action{}}
	path := filepath.Join(dir, "plan.json")
	if err := SavePlan(path, p); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPlan(path)
	if err != nil || got.FormatVersion != render.FormatVersion {
		t.Fatalf("LoadPlan of a saved plan: %v, format_version %q", err, got.FormatVersion)
	}
	for v, ok := range map[string]bool{"": true, "1.7": true, "2.0": false} {
		b, _ := json.Marshal(map[string]any{"format_version": v, "generated_at": "2026-11-28T00:00:00Z", "actions": []any{}, "findings": 0})
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadPlan(path)
		if (err == nil) != ok || (!ok && !strings.Contains(err.Error(), "format_version")) {
			t.Errorf("format_version %q: err = %v, want accepted=%v", v, err, ok)
		}
	}
}
