package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/iamprune/iamprune/exceptions"
)

func TestCheckFormats(t *testing.T) {
	rep := CheckReport{Files: []string{"e.yaml"}, Entries: 1, Problems: []exceptions.Problem{{File: "e.yaml", Line: 3, Field: "owner", Message: "missing"}}}
	var out, errb bytes.Buffer
	if err := Check(&out, &errb, rep, "json", true); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(out.Bytes()) || !strings.Contains(errb.String(), "::error") {
		t.Errorf("json: stdout %q must stay JSON, annotations on stderr %q", out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if err := Check(&out, &errb, rep, "text", true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "::error") || !strings.Contains(out.String(), CheckSummary(rep)) || errb.Len() != 0 {
		t.Errorf("text: %q / %q", out.String(), errb.String())
	}
	out.Reset()
	_ = Check(&out, &errb, rep, "text", false)
	if strings.Contains(out.String(), "::error") {
		t.Errorf("annotations outside GitHub Actions: %q", out.String())
	}
}
