package render

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// TestJSONStreamsExactly holds the action-by-action writers to encoding
// the whole plan at once: the rendered JSON (normalised, HTML left as is)
// and the saved plan (json.MarshalIndent), byte for byte.
func TestJSONStreamsExactly(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CET", 3600)
	last := time.Date(2026, 3, 1, 12, 0, 0, 0, paris)
	full := &iamprune.Plan{
		GeneratedAt: time.Date(2026, 11, 28, 1, 0, 0, 0, paris),
		Account:     "111122223333", Source: "snapshot <x> & y", Config: "c.yaml", Findings: 3,
		Warnings: []iamprune.Warning{{Source: "s", Message: `"actions": [] <b>`}},
		Actions: []iamprune.Action{
			{ID: "a1", Principal: "arn:aws:iam::111122223333:role/r", Kind: iamprune.KindNotify, Reason: "a < b & c > d", LastAccessed: &last},
			{ID: "a2", Kind: iamprune.KindRewritePolicy, Services: []string{"s3"}, Basis: &iamprune.Basis{PolicyVersions: map[string]string{"p": "v1"}},
				Policies: []iamprune.PolicyChange{{}}, Done: &iamprune.DoneRef{RunID: "r", At: last}},
			{ID: "a3"},
		},
	}
	one := &iamprune.Plan{GeneratedAt: full.GeneratedAt, Actions: full.Actions[:1]}
	none := &iamprune.Plan{GeneratedAt: full.GeneratedAt, Actions: []iamprune.Action{}}
	null := &iamprune.Plan{GeneratedAt: full.GeneratedAt}
	for name, p := range map[string]*iamprune.Plan{"full": full, "one": one, "none": none, "null": null} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(normalize(p)); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := (JSON{}).Render(&got, p); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: Render wrote\n%s\nwant\n%s", name, got.String(), want.String())
		}
		stamped := *p
		stamped.FormatVersion = FormatVersion
		saved, err := json.MarshalIndent(&stamped, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got.Reset()
		if err := WritePlan(&got, p); err != nil {
			t.Fatal(err)
		}
		if got.String() != string(saved)+"\n" {
			t.Errorf("%s: WritePlan wrote\n%s\nwant\n%s", name, got.String(), saved)
		}
	}
}
