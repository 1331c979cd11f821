package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func TestSweepProgress(t *testing.T) {
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	sw := &iamprune.Sweep{ID: "sweep-1", StartedAt: at, Expected: 2, Done: 1}
	parts := []iamprune.SweepPart{
		{SweepID: "sweep-1", Account: "444455556666", Page: 1, Status: iamprune.SweepDone, RunID: "run-1", Changes: 2, Attempts: 1, UpdatedAt: &at},
		{SweepID: "sweep-1", Account: "555566667777", Page: 1, Status: iamprune.SweepFailed, Attempts: 2, Detail: "AccessDenied\nassuming the role"},
	}
	var b bytes.Buffer
	if err := SweepProgress(&b, sw, parts, "table"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Sweep sweep-1", "1 of 2 message(s) done, in progress", "444455556666  1     done", "run-1", "555566667777  1     failed", "AccessDenied assuming the role"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := SweepProgress(&b, sw, parts, "json"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		FormatVersion string               `json:"format_version"`
		Sweep         iamprune.Sweep       `json:"sweep"`
		Parts         []iamprune.SweepPart `json:"parts"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil || doc.FormatVersion != FormatVersion || doc.Sweep.Done != 1 || len(doc.Parts) != 2 {
		t.Errorf("json %+v, %v\n%s", doc, err, b.String())
	}
	if err := SweepProgress(&b, sw, parts, "xml"); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("xml: %v", err)
	}
}

func TestSweepEnqueued(t *testing.T) {
	res := &iamprune.SweepEnqueued{SweepID: "sweep-1", Messages: 3, DryRun: true,
		Accounts: []iamprune.SweepAccount{{Account: "444455556666", Findings: 1500, Messages: 2}, {Account: "555566667777", Findings: 3, Messages: 1}}}
	var b bytes.Buffer
	if err := SweepEnqueued(&b, res, "table", ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Would enqueue (dry run, nothing sent) 3 message(s) for 2 account(s)", "444455556666  1500      2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// The progress hint names the state store the sweep was recorded in, so
// that it works as printed.
func TestSweepEnqueuedHintNamesTheState(t *testing.T) {
	res := &iamprune.SweepEnqueued{SweepID: "sweep-1", Messages: 1, Accounts: []iamprune.SweepAccount{{Account: "444455556666", Findings: 1, Messages: 1}}}
	for state, want := range map[string]string{
		"":                     "Progress: iamprune history --sweep sweep-1\n",
		"dynamodb://iamprune":  "Progress: iamprune history --sweep sweep-1 --state dynamodb://iamprune\n",
		"/var/lib/my state.db": "Progress: iamprune history --sweep sweep-1 --state '/var/lib/my state.db'\n",
	} {
		var b bytes.Buffer
		if err := SweepEnqueued(&b, res, "table", state); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(b.String(), want) {
			t.Errorf("state %q: %q does not end with %q", state, b.String(), want)
		}
	}
}

// A chained account's counts are those of its first pages, and say so; an
// open sweep says it is still being enqueued.
func TestSweepChainedAndOpen(t *testing.T) {
	res := &iamprune.SweepEnqueued{SweepID: "sweep-1", Messages: 3,
		Accounts: []iamprune.SweepAccount{{Account: "444455556666", Findings: 1250, Messages: 2, Chained: true}, {Account: "555566667777", Findings: 3, Messages: 1}}}
	var b bytes.Buffer
	if err := SweepEnqueued(&b, res, "table", ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"444455556666  1250+     2+", "555566667777  3         1\n", "+: a large account's first pages"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	parts := []iamprune.SweepPart{{SweepID: "sweep-1", Account: "444455556666", Page: 1, Status: iamprune.SweepDone}, {SweepID: "sweep-1", Account: "444455556666", Page: 2, Status: iamprune.SweepPending}}
	if err := SweepProgress(&b, &iamprune.Sweep{ID: "sweep-1", StartedAt: at, Done: 1}, parts, "table"); err != nil {
		t.Fatal(err)
	}
	if want := "1 of at least 2 message(s) done, still being enqueued, or its enqueuing stopped"; !strings.Contains(b.String(), want) {
		t.Errorf("open sweep: table lacks %q:\n%s", want, b.String())
	}
}
