package render

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

// ocsfSpec is testdata/ocsf: the class's required attributes and their
// types, copied from the OCSF schema.
type ocsfSpec struct {
	SchemaVersion    string                       `json:"schema_version"`
	ClassUID         int                          `json:"class_uid"`
	CategoryUID      int                          `json:"category_uid"`
	Required         map[string]string            `json:"required"`
	RequiredIfParent map[string]map[string]string `json:"required_if_present"`
	Typed            map[string]string            `json:"typed_if_present"`
	Enums            map[string][]int             `json:"enums"`
	AtLeastOne       []string                     `json:"at_least_one"`
}

// lookup follows a dotted path through objects.
func lookup(ev map[string]any, path string) (any, bool) {
	var cur any = ev
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// ocsfTyped reports whether v has the OCSF type t.
func ocsfTyped(v any, t string) bool {
	if elem, ok := strings.CutPrefix(t, "array:"); ok {
		arr, ok := v.([]any)
		return ok && !slices.ContainsFunc(arr, func(e any) bool { return !ocsfTyped(e, elem) })
	}
	switch t {
	case "integer_t", "long_t", "timestamp_t":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := strconv.ParseInt(string(n), 10, 64)
		return err == nil
	case "string_t":
		_, ok := v.(string)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// checkOCSF returns what is wrong with one OCSF event.
func checkOCSF(spec ocsfSpec, line int, ev map[string]any) []string {
	var errs []string
	errorf := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	check := func(attrs map[string]string, required bool) {
		for path, typ := range attrs {
			v, ok := lookup(ev, path)
			switch {
			case !ok && required:
				errorf("line %d: required %s missing", line, path)
			case ok && !ocsfTyped(v, typ):
				errorf("line %d: %s = %v (%T), want %s", line, path, v, v, typ)
			}
		}
	}
	check(spec.Required, true)
	check(spec.Typed, false)
	for parent, attrs := range spec.RequiredIfParent {
		if _, ok := ev[parent]; ok {
			check(attrs, true)
		}
	}
	for attr, values := range spec.Enums {
		if v, ok := ev[attr]; ok {
			n, _ := strconv.Atoi(string(v.(json.Number)))
			if !slices.Contains(values, n) {
				errorf("line %d: %s = %d, not one of %v", line, attr, n, values)
			}
		}
	}
	if !slices.ContainsFunc(spec.AtLeastOne, func(a string) bool { _, ok := ev[a]; return ok }) {
		errorf("line %d: none of %v", line, spec.AtLeastOne)
	}
	num := func(k string) string { return string(ev[k].(json.Number)) }
	if num("class_uid") != strconv.Itoa(spec.ClassUID) || num("category_uid") != strconv.Itoa(spec.CategoryUID) {
		errorf("line %d: class %s category %s, want %d %d", line, num("class_uid"), num("category_uid"), spec.ClassUID, spec.CategoryUID)
	}
	activity, _ := strconv.Atoi(num("activity_id"))
	if num("type_uid") != strconv.Itoa(spec.ClassUID*100+activity) {
		errorf("line %d: type_uid %s, want class_uid*100+activity_id", line, num("type_uid"))
	}
	if v, _ := lookup(ev, "metadata.version"); v != spec.SchemaVersion {
		errorf("line %d: metadata.version %v, want %s", line, v, spec.SchemaVersion)
	}
	return errs
}

// Every OCSF line carries every attribute the schema requires, typed as it
// says, for a plan with every kind.
func TestOCSFHasEveryRequiredAttribute(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "ocsf", "iam_analysis_finding-1.6.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec ocsfSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	p := fullPlan()
	var out bytes.Buffer
	if err := (OCSF{Options{ProductVersion: "v1.2.3"}}).Render(&out, p); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	n := 0
	uids := map[string]bool{}
	for sc.Scan() {
		n++
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var ev map[string]any
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("line %d is not JSON: %v", n, err)
		}
		for _, e := range checkOCSF(spec, n, ev) {
			t.Error(e)
		}
		uid, _ := lookup(ev, "finding_info.uid")
		uids[uid.(string)] = true
	}
	if n != len(p.Actions) {
		t.Errorf("%d lines, want one per entry (%d)", n, len(p.Actions))
	}
	if len(uids) < 2 {
		t.Errorf("finding uids %v are not per item", uids)
	}
	// The check fails on a missing or mistyped attribute.
	bad := OCSFFinding(p.Actions[0], p.GeneratedAt, "v1")
	delete(bad, "severity_id")
	bad["time"] = "yesterday"
	raw, _ := json.Marshal(bad)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var ev map[string]any
	_ = dec.Decode(&ev)
	if errs := checkOCSF(spec, 1, ev); len(errs) != 2 {
		t.Errorf("checkOCSF of an event without severity_id and with a string time: %q, want 2 problems", errs)
	}
}

// The CSV has a header of the documented columns and one row per entry,
// RFC 4180 quoted (reasons hold commas and quotes).
func TestCSVColumns(t *testing.T) {
	t.Parallel()
	p := fullPlan()
	var out bytes.Buffer
	if err := (CSV{}).Render(&out, p); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], CSVColumns) || len(rows) != len(p.Actions)+1 {
		t.Fatalf("header %v, %d rows; want %v and %d rows", rows[0], len(rows), CSVColumns, len(p.Actions)+1)
	}
	col := func(name string) int { return slices.Index(CSVColumns, name) }
	for i, a := range p.Actions {
		r := rows[i+1]
		if r[col("id")] != a.ID || r[col("kind")] != string(a.Kind) || r[col("reason")] != a.Reason ||
			r[col("services")] != strings.Join(a.Services, ";") || r[col("unused_days")] != strconv.Itoa(a.UnusedDays) {
			t.Errorf("row %d = %v, does not match entry %+v", i+1, r, a)
		}
	}
}

// The docs list exactly the CSV columns, in order.
func TestCSVColumnsDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "docs", "exports.md"))
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "<!-- csv-columns -->"):
			in = true
		case in && strings.HasPrefix(line, "| `"):
			documented = append(documented, strings.Trim(strings.Split(line, "|")[1], " `"))
		case in && documented != nil && !strings.HasPrefix(line, "|"):
			in = false
		}
	}
	if !slices.Equal(documented, CSVColumns) {
		t.Errorf("docs/exports.md documents %v, the CSV has %v", documented, CSVColumns)
	}
}

// An item keeps its finding id across kinds (remediated, then held after
// a rollback) and the status follows docs/exports.md.
func TestItemUIDAndStatus(t *testing.T) {
	t.Parallel()
	a := iamprune.Action{Account: acct, Principal: arn("role", "R"), FindingType: iamprune.UnusedIAMRole, Kind: iamprune.KindQuarantineRole, Target: "R", FindingID: "f"}
	done, held := a, a
	done.Done = &iamprune.DoneRef{RunID: "r1"}
	held.Kind, held.Hold = iamprune.KindExempt, "hold-1"
	if ItemUID(a) != ItemUID(done) || ItemUID(a) != ItemUID(held) {
		t.Error("the item's uid changes with its kind")
	}
	other := a
	other.Target = "R2"
	if ItemUID(a) == ItemUID(other) {
		t.Error("two items share a uid")
	}
	for _, tt := range []struct {
		a                    iamprune.Action
		workflow, compliance string
	}{{a, "NEW", "FAILED"}, {done, "RESOLVED", "PASSED"}, {held, "NOTIFIED", "FAILED"}} {
		if s := StatusOf(tt.a); s.Workflow != tt.workflow || s.Compliance != tt.compliance {
			t.Errorf("%s done=%v hold=%q: %s/%s, want %s/%s", tt.a.Kind, tt.a.Done != nil, tt.a.Hold, s.Workflow, s.Compliance, tt.workflow, tt.compliance)
		}
	}
	twin := held
	twin.ID = "e2"
	if fs := ASFFFindings(&iamprune.Plan{Actions: []iamprune.Action{held, twin}}, ""); fs[0].ID == fs[1].ID || fs[1].ID != fs[0].ID+"/e2" {
		t.Errorf("two entries of one item share Id %s, %s", fs[0].ID, fs[1].ID)
	}
	f := ASFFFindings(&iamprune.Plan{Actions: []iamprune.Action{a}}, "eu-west-1")[0]
	if f.ProductArn != "arn:aws:securityhub:eu-west-1:"+acct+":product/"+acct+"/default" || f.SchemaVersion != "2018-10-08" || f.ID != "iamprune/"+acct+"/"+ItemUID(a) {
		t.Errorf("ASFF finding %+v", f)
	}
}
