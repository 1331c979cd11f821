package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// transcriptRE finds a fenced block after a `<!-- transcript: NAME -->`
// marker: its first line is the command ("$ iamprune ..."), the rest its
// output, where a line "..." stands for lines left out.
var transcriptRE = regexp.MustCompile("(?s)<!-- transcript: ([a-z0-9-]+) -->\n```console\n\\$ iamprune ([^\n]*)\n(.*?)\n```")

// The walkthrough of docs/without-analyzer.md shows what the commands print,
// so the doc cannot drift from the code.
func TestWithoutAnalyzerTranscripts(t *testing.T) {
	t.Parallel()
	noAWS(t)
	checkTranscripts(t, "without-analyzer.md", 2)
}

// docs/exports.md shows the CSV and ASFF exports of the demo plan.
func TestExportsTranscripts(t *testing.T) {
	t.Parallel()
	noAWS(t)
	checkTranscripts(t, "exports.md", 2)
}

// checkTranscripts runs the transcripts of docs/NAME (at least atLeast) and
// compares their output.
func checkTranscripts(t *testing.T, name string, atLeast int) {
	t.Helper()
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	blocks := transcriptRE.FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < atLeast {
		t.Fatalf("found %d transcripts in docs/%s, want at least %d", len(blocks), name, atLeast)
	}
	for _, b := range blocks {
		name, args, want := b[1], strings.Fields(b[2]), b[3]+"\n"
		for i, a := range args {
			if strings.HasPrefix(a, "examples/") {
				args[i] = filepath.Join(root, a)
			}
		}
		r := runCLI(t, args...)
		if r.code != 0 {
			t.Errorf("%s: exit %d: %s", name, r.code, r.stderr)
			continue
		}
		// The doc runs from the repository root, with relative paths.
		got := strings.ReplaceAll(r.stdout, root+string(filepath.Separator), "")
		if err := matchTranscript(got, want); err != "" {
			t.Errorf("%s: %s\n--- output:\n%s", name, err, got)
		}
	}
}

// matchTranscript checks that got is want, where each "..." line of want
// stands for any run of lines: the parts between them appear in order, the
// first at the start and the last at the end.
func matchTranscript(got, want string) string {
	parts := strings.Split(want, "...\n")
	if !strings.HasPrefix(got, parts[0]) {
		return "output does not start with:\n" + parts[0]
	}
	rest := got[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			if !strings.HasSuffix(rest, p) {
				return "output does not end with:\n" + p
			}
			break
		}
		j := strings.Index(rest, p)
		if j < 0 {
			return "output lacks, in this place:\n" + p
		}
		rest = rest[j+len(p):]
	}
	if len(parts) == 1 && got != want {
		return "output differs"
	}
	return ""
}

func TestMatchTranscript(t *testing.T) {
	t.Parallel()
	got := "a\nb\nc\nd\n"
	for want, ok := range map[string]bool{
		"a\nb\nc\nd\n": true, "a\n...\nd\n": true, "a\n...\nc\n...\nd\n": true, "...\n": true,
		"a\nb\n": false, "b\n...\nd\n": false, "a\n...\nc\n": false, "a\n...\nc\n...\nb\n...\nd\n": false,
	} {
		if err := matchTranscript(got, want); (err == "") != ok {
			t.Errorf("matchTranscript(%q) = %q, want ok=%v", want, err, ok)
		}
	}
}
