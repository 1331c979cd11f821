package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func ts(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

const acct = "111122223333"

func arn(kind, name string) string { return "arn:aws:iam::" + acct + ":" + kind + "/" + name }

// fullPlan has every kind, a long services list, Markdown-hostile text and
// warnings. Its actions are deliberately not in display order.
func fullPlan() *iamprune.Plan {
	return &iamprune.Plan{
		GeneratedAt: *ts("2026-11-28T00:00:00Z"),
		Account:     acct,
		Source:      "snapshot demo",
		Findings:    12,
		Actions: []iamprune.Action{
			{ID: "a1", FindingID: "0b5e7c1a-0000-4000-8000-000000000001", Account: acct, Principal: arn("user", "alice"),
				FindingType: iamprune.UnusedIAMUserAccessKey, Kind: iamprune.KindNotify, Target: "AKIAQ4TVNR2ZEXAMPLE",
				UnusedDays: 40, RemediateOn: "2027-01-17", Reason: "access key never used, created 40 days ago (limit 90)"},
			{ID: "a2", FindingID: "0b5e7c1a-0000-4000-8000-000000000001", Account: acct, Principal: arn("user", "alice"),
				FindingType: iamprune.UnusedIAMUserAccessKey, Kind: iamprune.KindDeactivateAccessKey, Target: "AKIA7HB2XKQ3EXAMPLE",
				UnusedDays: 272, RemediateOn: "2026-05-30", Reason: "access key unused for 272 days (limit 90)",
				LastAccessed: ts("2026-03-01T00:00:00Z")},
			{ID: "a3", FindingID: "f1", Account: acct, Principal: arn("user", "bob"),
				FindingType: iamprune.UnusedIAMUserPassword, Kind: iamprune.KindDeleteLoginProfile, Target: "bob",
				UnusedDays: 200, RemediateOn: "2026-08-10", Reason: "console password unused for 200 days (limit 90)"},
			{ID: "a4", FindingID: "f2", Account: acct, Principal: arn("user", "old-ci"),
				FindingType: iamprune.UnusedIAMUserAccessKey, Kind: iamprune.KindDeleteAccessKey, Target: "AKIAMZ5WQ2LDEXAMPLE",
				UnusedDays: 400, RemediateOn: "2026-01-23", Reason: "access key unused for 400 days (limit 90)"},
			{ID: "a5", FindingID: "f3", Account: acct, Principal: arn("role", "LegacyBatchRole"),
				FindingType: iamprune.UnusedIAMRole, Kind: iamprune.KindQuarantineRole, Target: "LegacyBatchRole",
				UnusedDays: 300, RemediateOn: "2026-06-01", Reason: "role unused for 300 days (limit 120)"},
			{ID: "a6", FindingID: "f4", Account: acct, Principal: arn("role", "WebAppRole"),
				FindingType: iamprune.UnusedPermission, Kind: iamprune.KindNotify, Target: "WebAppRole",
				Services: []string{"dynamodb"}, UnusedDays: 60, RemediateOn: "2027-01-27",
				Reason: "1 service unused for up to 60 days (limit 120)"},
			{ID: "a7", FindingID: "f4", Account: acct, Principal: arn("role", "WebAppRole"),
				FindingType: iamprune.UnusedPermission, Kind: iamprune.KindDenyUnusedServices, Target: "WebAppRole",
				Services: []string{"ec2", "s3", "sns", "sqs", "kms", "lambda"}, UnusedDays: 200, RemediateOn: "2026-09-09",
				Reason: "6 services unused for 200+ days (limit 120)"},
			{ID: "a8", FindingID: "f5", Account: acct, Principal: arn("role", "Forensics"),
				FindingType: iamprune.UnusedIAMRole, Kind: iamprune.KindExempt, Target: "Forensics",
				UnusedDays: 362, RemediateOn: "2026-03-31", Reason: "incident response only | keep",
				Exception: "arn:aws:iam::*:role/Forensics", ExceptionExpires: "2027-06-30"},
			{ID: "a9", FindingID: "f6", Account: acct, Principal: arn("role", "BreakGlassAdmin"),
				FindingType: iamprune.UnusedIAMRole, Kind: iamprune.KindProtected, Target: "BreakGlassAdmin",
				UnusedDays: 258, RemediateOn: "2026-07-13", Reason: "matches protected pattern arn:aws:iam::*:role/BreakGlass*"},
			{ID: "a10", FindingID: "f7", Account: acct, Principal: arn("user", "dave"),
				FindingType: iamprune.UnusedIAMUserPassword, Kind: iamprune.KindSkip, Target: "dave",
				Reason: "principal no longer exists"},
			{ID: "a11", FindingID: "f8", Account: acct, Principal: arn("user", "weird`name"),
				FindingType: iamprune.UnusedIAMUserPassword, Kind: iamprune.KindSkip, Target: "weird`name",
				Reason: "finding is ARCHIVED <not ACTIVE> & `ignored`"},
		},
		Warnings: []iamprune.Warning{
			{Source: "findings.json[14]", Message: "unknown finding type \"UnusedIAMUserCertificate\"; skipped"},
			{Source: "findings.json[15]", Message: "unknown findingDetails member \"unusedFoo\" | kept"},
		},
	}
}

func emptyPlan() *iamprune.Plan {
	return &iamprune.Plan{GeneratedAt: *ts("2026-11-28T00:00:00Z"), Account: acct, Source: "snapshot demo", Findings: 3}
}

var goldenFiles = map[string]string{"table": "plan.txt", "json": "plan.json", "markdown": "plan.md",
	"csv": "plan.csv", "ocsf": "plan.ocsf.jsonl", "asff": "plan.asff.json"}

func TestGolden(t *testing.T) {
	cases := map[string]func() *iamprune.Plan{"full": fullPlan, "empty": emptyPlan}
	for name, mk := range cases {
		for _, format := range Names {
			t.Run(name+"/"+format, func(t *testing.T) {
				r, err := ByName(format)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := r.Render(&buf, mk()); err != nil {
					t.Fatalf("Render: %v", err)
				}
				path := filepath.Join("testdata", name, goldenFiles[format])
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./render -update to create it)", err)
				}
				if got := buf.String(); got != string(want) {
					t.Errorf("output differs from %s (run with -update to accept):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
				}
				for i, line := range strings.Split(buf.String(), "\n") {
					if strings.TrimRight(line, " \t") != line {
						t.Errorf("line %d has trailing whitespace: %q", i+1, line)
					}
				}
			})
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for name, p := range map[string]*iamprune.Plan{"full": fullPlan(), "empty": emptyPlan()} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := (JSON{}).Render(&buf, p); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(buf.String(), "}\n") {
				t.Errorf("JSON output does not end with a newline")
			}
			var got iamprune.Plan
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("output is not a plan: %v", err)
			}
			if want := normalize(p); !reflect.DeepEqual(&got, want) {
				t.Errorf("round trip changed the plan:\n got %+v\nwant %+v", got, *want)
			}
		})
	}
}

func TestJSONNeverNull(t *testing.T) {
	p := fullPlan()
	for i := range p.Actions {
		p.Actions[i].Services = nil
	}
	for name, p := range map[string]*iamprune.Plan{"nil services": p, "nil actions": {Findings: 0}} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := (JSON{}).Render(&buf, p); err != nil {
				t.Fatal(err)
			}
			var raw struct {
				Actions []map[string]json.RawMessage `json:"actions"`
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal(buf.Bytes(), &top); err != nil {
				t.Fatal(err)
			}
			if s := string(top["actions"]); !strings.HasPrefix(s, "[") {
				t.Fatalf("actions = %s, want an array", s)
			}
			if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
				t.Fatal(err)
			}
			for i, a := range raw.Actions {
				if s := string(a["services"]); s != "[]" {
					t.Errorf("actions[%d].services = %s, want []", i, s)
				}
			}
		})
	}
	// Rendering must not have filled in the caller's plan.
	if p.Actions[0].Services != nil {
		t.Errorf("Render modified the plan")
	}
}

func TestByName(t *testing.T) {
	tests := []struct {
		name    string
		want    Renderer
		wantErr string
	}{
		{"table", Table{}, ""},
		{"", Table{}, ""},
		{"json", JSON{}, ""},
		{"markdown", Markdown{}, ""},
		{"x", nil, `unknown output format "x" (want table, json, markdown, csv, ocsf or asff)`},
		{"JSON", nil, `unknown output format "JSON" (want table, json, markdown, csv, ocsf or asff)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ByName(tt.name)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if code := iamprune.ErrorCode(err); code != iamprune.EINVALID {
					t.Errorf("code = %q, want %q", code, iamprune.EINVALID)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ByName(%q) = %T, %v; want %T", tt.name, got, err, tt.want)
			}
		})
	}
}

func TestServicesCell(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"ec2"}, "ec2"},
		{[]string{"ec2", "s3", "sns", "sqs"}, "ec2, s3, sns, sqs"},
		{[]string{"ec2", "s3", "sns", "sqs", "kms"}, "ec2, s3, +3 more"},
	}
	for _, tt := range tests {
		if got := servicesCell(tt.in); got != tt.want {
			t.Errorf("servicesCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMarkdownEscaping(t *testing.T) {
	tests := []struct {
		fn       func(string) string
		name, in string
		want     string
	}{
		{codeSpan, "plain", "arn:aws:iam::1:user/a", "`arn:aws:iam::1:user/a`"},
		{codeSpan, "inner backtick", "a`b", "``a`b``"},
		{codeSpan, "edge backtick", "`a", "`` `a ``"},
		{codeSpan, "run of two", "a``b", "```a``b```"},
		{escapeText, "glob", "pattern arn:aws:iam::*:role/BreakGlass*", `pattern arn:aws:iam::\*:role/BreakGlass\*`},
		{escapeText, "html and code", "<b> & `x`", "\\<b\\> \\& \\`x\\`"},
		{escapeText, "newline", "a\nb", "a b"},
		{cell, "pipe", "`a|b` c|d", "`a\\|b` c\\|d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGroupOrder(t *testing.T) {
	var got []string
	for _, g := range groupByPrincipal(fullPlan()) {
		var kinds []string
		for _, a := range g.Actions {
			kinds = append(kinds, string(a.Kind))
		}
		got = append(got, g.Principal+" "+strings.Join(kinds, ","))
	}
	want := []string{
		arn("role", "LegacyBatchRole") + " quarantine-role",
		arn("role", "WebAppRole") + " deny-unused-services,notify",
		arn("user", "alice") + " deactivate-access-key,notify",
		arn("user", "bob") + " delete-login-profile",
		arn("user", "old-ci") + " delete-access-key",
		arn("role", "Forensics") + " exempt",
		arn("role", "BreakGlassAdmin") + " protected",
		arn("user", "dave") + " skip",
		arn("user", "weird`name") + " skip",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groups:\n got %q\nwant %q", got, want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrors(t *testing.T) {
	for _, format := range Names {
		r, _ := ByName(format)
		err := r.Render(failWriter{}, fullPlan())
		if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.HasPrefix(err.Error(), "render: ") {
			t.Errorf("%s: err = %v, want a wrapped write error", format, err)
		}
	}
}

// The headline and the by-kind listing count the same remediations: those
// to do, and those already done apart.
func TestSummaryAgreesWithBreakdown(t *testing.T) {
	p := fullPlan()
	done := 0
	for i := range p.Actions {
		if p.Actions[i].Kind.IsRemediation() && done < 2 {
			p.Actions[i].Done = &iamprune.DoneRef{RunID: "run-1", At: *ts("2026-11-27T00:00:00Z")}
			done++
		}
	}
	todo := p.Remediations() - done
	if done != 2 || todo < 1 {
		t.Fatalf("want a plan with remediations to do and done, got %d and %d", todo, done)
	}
	var b bytes.Buffer
	if err := (Table{}).Render(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if want := fmt.Sprintf("Plan: %d to remediate (%d more already done)", todo, done); !strings.Contains(out, want) {
		t.Fatalf("no %q in\n%s", want, out)
	}
	_, line, ok := strings.Cut(out, "\nRemediations: ")
	if !ok {
		t.Fatalf("no breakdown in\n%s", out)
	}
	line, _, _ = strings.Cut(line, "\n")
	pending, already, _ := strings.Cut(line, "; already done: ")
	if sum(t, pending) != todo || sum(t, already) != done {
		t.Errorf("breakdown %q counts %d to do and %d done, headline %d and %d", line, sum(t, pending), sum(t, already), todo, done)
	}
}

// sum adds the counts of "1 a, 2 b."
func sum(t *testing.T, s string) int {
	n := 0
	for _, part := range strings.Split(strings.TrimSuffix(s, "."), ", ") {
		var c int
		if _, err := fmt.Sscanf(part, "%d", &c); err != nil {
			t.Fatalf("%q: %v", part, err)
		}
		n += c
	}
	return n
}
