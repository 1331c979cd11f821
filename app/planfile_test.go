package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
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
