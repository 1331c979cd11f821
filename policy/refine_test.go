package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// testNow is the "now" of every fixture.
var testNow = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// refineCase is testdata/refine/<case>/case.json.
type refineCase struct {
	OlderThanDays int `json:"older_than_days"`
	// Usage is a last-accessed.json entry.
	Usage json.RawMessage `json:"usage"`
	// OthersNeverUsed adds every other catalogue service as never used, as
	// a last-accessed job over a policy granting everything would report.
	OthersNeverUsed bool `json:"others_never_used"`
}

func loadCaseUsage(t *testing.T, c refineCase) Usage {
	t.Helper()
	u, err := UsageFromLastAccessed(c.Usage)
	if err != nil {
		t.Fatalf("usage: %v", err)
	}
	if !c.OthersNeverUsed {
		return u
	}
	var services []iamprune.ServiceUsage
	for ns, su := range u.services {
		s := iamprune.ServiceUsage{Namespace: ns, LastAccessed: su.last}
		for _, a := range su.actions {
			s.Actions = append(s.Actions, iamprune.ActionUsage{Action: a.action, LastAccessed: a.last})
		}
		services = append(services, s)
	}
	for _, ns := range catalog.Services() {
		if _, ok := u.services[ns]; !ok {
			services = append(services, iamprune.ServiceUsage{Namespace: ns})
		}
	}
	return NewUsage(services)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readFile(t, path)
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s", path, UnifiedDiff("want", "got", want, got))
	}
}

// TestRefineCases runs testdata/refine/<case>: policy.json refined with
// case.json's usage must give want.json, and the report report.md.
func TestRefineCases(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "refine", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no refine cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var c refineCase
			if err := json.Unmarshal(readFile(t, filepath.Join(dir, "case.json")), &c); err != nil {
				t.Fatal(err)
			}
			doc, err := Parse(readFile(t, filepath.Join(dir, "policy.json")))
			if err != nil {
				t.Fatal(err)
			}
			u := loadCaseUsage(t, c)
			got, rep, err := Refine(doc, u, testNow, c.OlderThanDays)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join(dir, "want.json"), append(out, '\n'))
			checkGolden(t, filepath.Join(dir, "report.md"), []byte(rep.Markdown()))
			checkRefined(t, doc, got, u, c.OlderThanDays)
			// Refining again changes nothing: the result is a fixed point.
			again, rep2, err := Refine(got, u, testNow, c.OlderThanDays)
			if err != nil {
				t.Fatal(err)
			}
			if out2, _ := Marshal(again); !bytes.Equal(out, out2) || rep2.Changed() {
				t.Errorf("second refinement changed the policy:\n%s", UnifiedDiff("first", "second", out, out2))
			}
		})
	}
}

func TestRefineRejects(t *testing.T) {
	doc := Document{Statement: []Statement{{Effect: Allow, Action: One("sqs:SendMessage")}}}
	tests := []struct {
		name string
		doc  Document
		days int
	}{
		{"zero days", doc, 0},
		{"bad effect", Document{Statement: []Statement{{Effect: "allow", Action: One("s3:GetObject")}}}, 90},
		{"no action", Document{Statement: []Statement{{Effect: Allow}}}, 90},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Refine(tt.doc, Usage{}, testNow, tt.days)
			if iamprune.ErrorCode(err) != iamprune.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
		})
	}
}
