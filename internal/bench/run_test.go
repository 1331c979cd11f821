package bench

import (
	"strings"
	"testing"
	"time"
)

// The table shows the fraction of the rate bound only for rate-limited
// runs, and calls per finding only where calls were counted.
func TestWriteTable(t *testing.T) {
	t.Parallel()
	limited := Result{Scenario: "limited", Findings: 2000, Calls: 1900, Throttled: 80, Wall: 20 * time.Second, Bound: 18 * time.Second, RSS: 70 << 20}
	if f := limited.Fraction(); f != 0.9 {
		t.Errorf("fraction %v, want 0.9", f)
	}
	snap := Result{Scenario: "snap", Findings: 1000, Wall: time.Second, RSS: 50 << 20, Note: "PLAN DIFFERS"}
	if f := snap.Fraction(); f != 0 {
		t.Errorf("fraction of an unlimited run %v, want 0", f)
	}
	var b strings.Builder
	WriteTable(&b, []Result{limited, snap})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("table:\n%s", b.String())
	}
	for i, want := range []string{
		"| limited | 2000 | 1900 | 0.95 | 80 | 20.00 s | 18.0 s | 0.90 | 70 MB |",
		"| snap (PLAN DIFFERS) | 1000 | – | – | – | 1.00 s | – | – | 50 MB |",
	} {
		if lines[2+i] != want {
			t.Errorf("row %d = %q, want %q", i, lines[2+i], want)
		}
	}
}

// Normalise blanks only the run's own tags: two dumps that differ in
// them are equal, two that differ in anything else are not.
func TestNormalise(t *testing.T) {
	t.Parallel()
	dump := func(runID, at, status string) []byte {
		return []byte(`{"Tags": [{"Key": "iamprune:run-id", "Value": "` + runID + `"}, {"Key": "iamprune:quarantined-at",
          "Value": "` + at + `"}, {"Key": "team", "Value": "data"}], "Status": "` + status + `"}`)
	}
	a := dump("20261206T223441Z-b6e9afaf", "2026-12-06T22:34:43Z", "Inactive")
	b := dump("20261206T223514Z-c443719a", "2026-12-06T22:35:42Z", "Inactive")
	c := dump("20261206T223514Z-c443719a", "2026-12-06T22:35:42Z", "Active")
	if string(Normalise(a)) != string(Normalise(b)) {
		t.Errorf("run tags not blanked:\n%s\n%s", Normalise(a), Normalise(b))
	}
	if string(Normalise(b)) == string(Normalise(c)) {
		t.Error("a changed status was blanked")
	}
	if !strings.Contains(string(Normalise(a)), `"Value": "data"`) {
		t.Errorf("another tag was blanked: %s", Normalise(a))
	}
}
