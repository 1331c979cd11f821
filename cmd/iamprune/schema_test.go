package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemas compiles the JSON Schemas of docs/schema, asserting formats
// (date-time) too.
func schemas(t *testing.T) func(name string) *jsonschema.Schema {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "docs", "schema")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if err := c.AddResource("https://github.com/iamprune/iamprune/docs/schema/"+e.Name(), doc); err != nil {
			t.Fatal(err)
		}
	}
	return func(name string) *jsonschema.Schema {
		s, err := c.Compile("https://github.com/iamprune/iamprune/docs/schema/" + name + ".schema.json")
		if err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
		return s
	}
}

// validate checks a command's JSON output against a schema, and that it
// carries the current format_version.
func validate(t *testing.T, s *jsonschema.Schema, what string, r result, okCodes ...int) {
	t.Helper()
	if r.code != 0 && !slices.Contains(okCodes, r.code) {
		t.Fatalf("%s: exit %d: %s", what, r.code, r.stderr)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, r.stdout)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("%s does not follow its schema: %v", what, err)
	}
	if m, _ := doc.(map[string]any); m["format_version"] != "1.0" {
		t.Errorf("%s: format_version = %v, want 1.0", what, m["format_version"])
	}
}

// Real outputs, made on the demo account through the emulator, follow the
// published schemas: plan, apply, rollback, history, holds, notify and the
// exceptions reports.
func TestJSONOutputsFollowTheirSchemas(t *testing.T) {
	t.Parallel()
	schema := schemas(t)
	acct := newAccount(t)
	snapDir, cfgPath := demoPaths(t)
	exFile := filepath.Join(filepath.Dir(cfgPath), "exceptions.yaml")

	validate(t, schema("plan"), "plan", runCLI(t, "plan", "--snapshot", snapDir, "--config", cfgPath, "--now", demoNow, "-o", "json"))
	apply := runCLI(t, acct.args(t, "apply", "--yes", "-o", "json")...)
	validate(t, schema("apply-result"), "apply", apply)
	res := decodeRun(t, apply)
	validate(t, schema("apply-result"), "rollback", runCLI(t, acct.args(t, "rollback", res.RunID, "--yes", "-o", "json")...))
	validate(t, schema("plan"), "plan after rollback", runCLI(t, acct.args(t, "plan", "-o", "json")...))
	validate(t, schema("history"), "history", runCLI(t, acct.args(t, "history", "-o", "json")...))
	validate(t, schema("history"), "history RUN", runCLI(t, acct.args(t, "history", res.RunID, "-o", "json")...))
	validate(t, schema("holds"), "holds", runCLI(t, holdsArgs(acct, "-o", "json")...))
	validate(t, schema("exceptions-check"), "exceptions check", runCLI(t, "exceptions", "check", exFile, "-o", "json"), 1)
	validate(t, schema("exceptions-expiring"), "exceptions expiring",
		runCLI(t, "exceptions", "expiring", "--exceptions", exFile, "--within", "3650d", "--now", demoNow, "-o", "json"))
}

// The schemas are strict enough to reject a wrong type, a missing
// required field and an unknown kind.
func TestSchemasRejectBrokenOutputs(t *testing.T) {
	t.Parallel()
	noAWS(t)
	schema := schemas(t)
	snapDir, cfgPath := demoPaths(t)
	r := runCLI(t, "plan", "--snapshot", snapDir, "--config", cfgPath, "--now", demoNow, "-o", "json")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	breaks := map[string]func(p map[string]any){
		"findings as a string":    func(p map[string]any) { p["findings"] = "15" },
		"no format_version":       func(p map[string]any) { delete(p, "format_version") },
		"format_version 2.0":      func(p map[string]any) { p["format_version"] = "2.0" },
		"an entry without id":     func(p map[string]any) { delete(entry(p), "id") },
		"unused_days negative":    func(p map[string]any) { entry(p)["unused_days"] = -1 },
		"services null":           func(p map[string]any) { entry(p)["services"] = nil },
		"an unknown kind":         func(p map[string]any) { entry(p)["kind"] = "delete-everything" },
		"generated_at not a time": func(p map[string]any) { p["generated_at"] = "yesterday" },
	}
	for name, brk := range breaks {
		var p map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
			t.Fatal(err)
		}
		brk(p)
		b, _ := json.Marshal(p)
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema("plan").Validate(doc); err == nil {
			t.Errorf("%s: the plan schema accepts it", name)
		}
	}
}

func entry(p map[string]any) map[string]any {
	return p["actions"].([]any)[0].(map[string]any)
}

// notify -o json, with digests really sent to the emulator's SNS, follows
// its schema.
func TestNotifyJSONFollowsItsSchema(t *testing.T) {
	t.Parallel()
	schema := schemas(t)
	_, state := notifyAccount(t)
	r := on(t, "2026-11-28", state, "notify", "--yes", "-o", "json")
	validate(t, schema("notifications"), "notify", r)
	if !strings.Contains(r.stdout, `"status": "sent"`) {
		t.Errorf("notify sent nothing, so the schema check proves little:\n%s", r.stdout)
	}
}

// The contract lets a minor version add fields, and readers ignore those
// they do not know (docs/exports.md): no schema may forbid them (the sweep
// schema did, so a 1.1 sweep output would fail a 1.0 reader's validation).
func TestSchemasAllowUnknownFields(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(repoRoot(t), "docs", "schema")
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("%s: %v", dir, err)
	}
	var walk func(name, at string, v any)
	walk = func(name, at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				if (k == "additionalProperties" || k == "unevaluatedProperties") && sub == false {
					t.Errorf("%s: %s/%s is false: a field added by a minor version would fail validation", name, at, k)
				}
				walk(name, at+"/"+k, sub)
			}
		case []any:
			for _, sub := range v {
				walk(name, at, sub)
			}
		}
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		walk(e.Name(), "", doc)
	}
}
