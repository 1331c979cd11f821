package main

// Docs that cannot drift. Every block of README.md and docs/*.md that shows
// what iamprune prints is a transcript, run by TestDocTranscripts against
// the emulator or a snapshot and compared with the document:
//
//	<!-- transcript: NAME [env=ENV] [exit=N] -->
//	```console
//	$ iamprune ARGS...
//	OUTPUT
//	$ iamprune ARGS...          (a block may run several commands, in order)
//	OUTPUT
//	```
//
// OUTPUT is what a terminal shows: stdout, then the "iamprune: ..." lines of
// stderr (the error; logs are left out). It must match exactly, except for
// the parts marked volatile:
//
//	...            a line of its own: any run of lines, or none
//	...            within a line: any text on that line
//	<run-id>       a run id (in ARGS: the first run id of the latest output
//	               in the environment that printed one)
//	<otp>          a one-time password
//	<port>         a TCP port
//	<time>         an RFC 3339 time (UTC)
//
// Commands exit 0 unless exit=N says otherwise. Without env, commands run
// with no AWS at all. env=NAME runs the block in the environment a setup
// block of the same document made, after the blocks before it:
//
//	<!-- transcript-setup: NAME -->
//	```sh
//	iamprune emulator --snapshot DIR [--topic T]... [--bucket B]... --listen HOST:PORT &
//	export AWS_ENDPOINT_URL=... IAMPRUNE_STATE=$PWD/state.db ...
//	```
//
// The emulator is started as written (on a free port), and the exports
// are applied as a shell would (AWS_* variables are the emulator's).
// Relative paths in ARGS resolve in the repository when they exist there,
// else in the environment's own directory, which stands for $PWD; a file
// a transcript needs is written there by a block marked
// <!-- transcript-file: NAME -->. Both directories are removed from the
// output, so paths show as the document writes them.
//
// A fenced block with a "$ iamprune" line that is not a transcript fails
// the test, unless marked <!-- not-a-transcript: REASON --> (a command
// shown without its output).

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docBlock is one fenced block of a document and the marker before it.
type docBlock struct {
	file   string
	line   int    // of the opening fence
	info   string // the fence's info string (console, sh, text, ...)
	marker string // the <!-- ... --> line just before the fence, if any
	body   string
}

var (
	markerRE    = regexp.MustCompile(`^<!-- (transcript|transcript-setup|transcript-file|not-a-transcript):\s*(.*?)\s*-->$`)
	runIDRE     = regexp.MustCompile(`\d{8}T\d{6}Z-[0-9a-f]{8}`)
	placeholder = map[string]string{
		"<run-id>": `\d{8}T\d{6}Z-[0-9a-f]{8}`,
		"<otp>":    `\S+`,
		"<port>":   `\d+`,
		"<time>":   `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`,
	}
)

// docBlocks reads the fenced blocks of a Markdown file (``` and ````).
func docBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out   []docBlock
		cur   *docBlock
		fence string
		prev  string
	)
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case cur != nil && strings.TrimSpace(line) == fence:
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.body += line + "\n"
		case strings.HasPrefix(strings.TrimSpace(line), "```"):
			trimmed := strings.TrimSpace(line)
			info := strings.TrimLeft(trimmed, "`")
			fence = trimmed[:len(trimmed)-len(info)]
			cur = &docBlock{file: path, line: i + 1, info: info}
			if markerRE.MatchString(prev) {
				cur.marker = prev
			}
		}
		prev = strings.TrimSpace(line)
	}
	return out
}

// docFiles are README.md and docs/*.md.
func docFiles(t *testing.T, root string) []string {
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join(root, "README.md")}, files...)
}

// transcriptCmd is one command of a transcript and its expected output.
type transcriptCmd struct {
	args []string
	want string
}

// parseTranscript splits a transcript block into its commands.
func parseTranscript(body string) []transcriptCmd {
	var cmds []transcriptCmd
	for _, line := range strings.SplitAfter(body, "\n") {
		if rest, ok := strings.CutPrefix(line, "$ iamprune "); ok {
			cmds = append(cmds, transcriptCmd{args: strings.Fields(rest)})
			continue
		}
		if len(cmds) > 0 {
			cmds[len(cmds)-1].want += line
		}
	}
	// A blank line separates a command's output from the next command.
	for i := range cmds[:max(0, len(cmds)-1)] {
		cmds[i].want = strings.TrimSuffix(cmds[i].want, "\n")
	}
	return cmds
}

// docEnv is where the transcripts of one environment run.
type docEnv struct {
	t       *testing.T
	root    string // the repository
	dir     string // $PWD of the document's commands
	lastRun string
}

// newDocEnv makes an environment: without setup, no AWS; with a setup
// block, its emulator and exports.
func newDocEnv(t *testing.T, root string, setup *docBlock) *docEnv {
	e := &docEnv{t: t, root: root, dir: t.TempDir()}
	env := map[string]string{"IAMPRUNE_STATE": filepath.Join(e.dir, "state.db")}
	if setup == nil {
		inject(t, "", env)
		return e
	}
	url := ""
	for _, line := range strings.Split(strings.TrimSpace(setup.body), "\n") {
		words := strings.Fields(line)
		switch {
		case len(words) > 1 && words[0] == "iamprune" && words[1] == "emulator":
			url = e.startEmulator(strings.TrimSuffix(strings.Join(words[2:], " "), " &"))
		case len(words) > 0 && words[0] == "export":
			for _, kv := range words[1:] {
				k, v, _ := strings.Cut(kv, "=")
				if !strings.HasPrefix(k, "AWS_") {
					env[k] = strings.ReplaceAll(v, "$PWD", e.dir)
				}
			}
		default:
			t.Fatalf("%s:%d: a setup line the test cannot follow: %q", setup.file, setup.line, line)
		}
	}
	if url == "" {
		t.Fatalf("%s:%d: the setup starts no emulator", setup.file, setup.line)
	}
	inject(t, url, env)
	return e
}

// startEmulator runs 'iamprune emulator ARGS' as the document does, on a
// free port, until the test ends, and returns its URL.
func (e *docEnv) startEmulator(args string) string {
	t := e.t
	words := slices.DeleteFunc(strings.Fields(args), func(w string) bool { return w == "&" })
	for i := range words {
		if i > 0 && words[i-1] == "--listen" {
			words[i] = "127.0.0.1:0"
		}
	}
	pr, pw := io.Pipe()
	m := &Main{Stdout: pw, Stderr: io.Discard, Getenv: func(string) string { return "" }, Now: time.Now}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- m.Run(ctx, append([]string{"emulator"}, e.resolve(words)...))
		pw.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("the emulator did not start: iamprune emulator %s", args)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return strings.TrimSpace(line[strings.Index(line, "http://"):])
}

// resolve makes the relative paths of args absolute: in the repository
// when they exist there, else in the environment's directory.
func (e *docEnv) resolve(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		switch {
		case a == "<run-id>":
			out[i] = e.lastRun
		case strings.HasPrefix(a, "-") || strings.Contains(a, "://") || filepath.IsAbs(a) || !strings.ContainsAny(a, "/."):
		case fileExists(filepath.Join(e.root, a)):
			out[i] = filepath.Join(e.root, a)
		case strings.Contains(a, "/") || regexp.MustCompile(`\.(json|ya?ml|txt|db|csv|md)$`).MatchString(a):
			out[i] = filepath.Join(e.dir, a)
		}
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// run runs one command as the document shows it, and returns what a
// terminal would show, with the directories removed, and the exit code.
func (e *docEnv) run(args []string) (string, int) {
	args = e.resolve(args)
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	if i := slices.Index(args, "--now"); i >= 0 && i+1 < len(args) {
		if d, err := time.Parse(time.DateOnly, args[i+1]); err == nil {
			now = d
		}
	}
	var out, errb strings.Builder
	m := wire(e.t, &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: func() time.Time { return now }})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := m.Run(ctx, args)
	got := out.String()
	for _, l := range strings.SplitAfter(errb.String(), "\n") {
		if strings.HasPrefix(l, "iamprune: ") {
			got += l
		}
	}
	for _, d := range []string{e.dir, e.root} {
		got = strings.ReplaceAll(got, d+string(filepath.Separator), "")
	}
	if id := runIDRE.FindString(got); id != "" {
		e.lastRun = id
	}
	return got, code
}

// TestDocTranscripts runs every transcript of README.md and docs/*.md, and
// refuses a block that shows iamprune's output without being one.
func TestDocTranscripts(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, file := range docFiles(t, root) {
		blocks := docBlocks(t, file)
		rel, _ := filepath.Rel(root, file)
		var runs []docBlock
		for _, b := range blocks {
			kind := ""
			if m := markerRE.FindStringSubmatch(b.marker); m != nil {
				kind = m[1]
			}
			shows := strings.Contains("\n"+b.body, "\n$ iamprune")
			switch {
			case kind == "transcript" && (b.info != "console" || !strings.HasPrefix(b.body, "$ iamprune ")):
				t.Errorf("%s:%d: a transcript is a ```console block whose first line is $ iamprune ...", rel, b.line)
			case kind == "transcript", kind == "transcript-setup", kind == "transcript-file":
				runs = append(runs, b)
			case shows && kind != "not-a-transcript":
				t.Errorf("%s:%d: this block shows `$ iamprune ...` but is not a tested transcript: mark it <!-- transcript: NAME --> "+
					"(see cmd/iamprune/transcript_test.go), or <!-- not-a-transcript: REASON --> if it shows no output", rel, b.line)
			}
		}
		if len(runs) == 0 {
			continue
		}
		n++
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			runDoc(t, root, runs)
		})
	}
	if n < 3 {
		t.Errorf("transcripts found in %d documents, want at least 3", n)
	}
}

// runDoc runs the transcripts of one document, each environment's in
// document order.
func runDoc(t *testing.T, root string, blocks []docBlock) {
	type group struct {
		setup  *docBlock
		blocks []docBlock
	}
	groups := map[string]*group{"": {}}
	var order []string
	for _, b := range blocks {
		m := markerRE.FindStringSubmatch(b.marker)
		name, opts := transcriptOptions(m[2])
		switch m[1] {
		case "transcript-setup":
			groups[name] = &group{setup: &b}
		default:
			env := opts["env"]
			g := groups[env]
			if g == nil {
				t.Errorf("%s:%d: env=%s has no <!-- transcript-setup: %s --> block before it", b.file, b.line, env, env)
				continue
			}
			if !slices.Contains(order, env) {
				order = append(order, env)
			}
			g.blocks = append(g.blocks, b)
		}
	}
	for _, env := range order {
		g := groups[env]
		t.Run("env="+env, func(t *testing.T) {
			t.Parallel()
			e := newDocEnv(t, root, g.setup)
			for _, b := range g.blocks {
				if !runBlock(t, e, b) {
					return // later blocks depend on this one
				}
			}
		})
	}
}

// transcriptOptions splits "NAME key=value ..." of a marker.
func transcriptOptions(s string) (string, map[string]string) {
	fields := strings.Fields(s)
	opts := map[string]string{}
	for _, f := range fields[min(1, len(fields)):] {
		k, v, _ := strings.Cut(f, "=")
		opts[k] = v
	}
	if len(fields) == 0 {
		return "", opts
	}
	return fields[0], opts
}

// runBlock runs one transcript block (or writes a file block) and
// reports whether it matched.
func runBlock(t *testing.T, e *docEnv, b docBlock) bool {
	m := markerRE.FindStringSubmatch(b.marker)
	name, opts := transcriptOptions(m[2])
	where := fmt.Sprintf("%s:%d (%s)", filepath.Base(b.file), b.line, name)
	if m[1] == "transcript-file" {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(b.body), 0o600); err != nil {
			t.Fatal(err)
		}
		return true
	}
	code := 0
	if s, ok := opts["exit"]; ok {
		code, _ = strconv.Atoi(s)
	}
	for _, c := range parseTranscript(b.body) {
		got, exit := e.run(c.args)
		if exit != code {
			t.Errorf("%s: iamprune %s: exit %d, want %d\n%s", where, strings.Join(c.args, " "), exit, code, got)
			return false
		}
		if err := matchTranscript(got, c.want); err != "" {
			t.Errorf("%s: iamprune %s: %s\n--- the document:\n%s--- the output:\n%s", where, strings.Join(c.args, " "), err, c.want, got)
			return false
		}
	}
	return true
}

// matchTranscript checks that got is want, where a "..." line of want
// stands for any run of lines, "..." within a line for any text on that
// line, and <run-id>, <otp>, <port> and <time> for their values.
func matchTranscript(got, want string) string {
	var re strings.Builder
	re.WriteString(`^`)
	for _, line := range strings.SplitAfter(want, "\n") {
		if strings.TrimSuffix(line, "\n") == "..." {
			re.WriteString(`(?:[^\n]*\n)*?`)
			continue
		}
		q := regexp.QuoteMeta(line)
		q = strings.ReplaceAll(q, regexp.QuoteMeta("..."), `[^\n]*?`)
		for k, v := range placeholder {
			q = strings.ReplaceAll(q, regexp.QuoteMeta(k), v)
		}
		re.WriteString(q)
	}
	re.WriteString(`$`)
	if regexp.MustCompile(re.String()).MatchString(got) {
		return ""
	}
	// Say where: the first line of want that the output does not match.
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(wl), len(gl)) {
		if wl[i] == "..." || strings.Contains(wl[i], "...") || strings.ContainsAny(wl[i], "<") {
			break
		}
		if wl[i] != gl[i] {
			return fmt.Sprintf("line %d differs:\n  document: %s\n  output:   %s", i+1, wl[i], gl[i])
		}
	}
	return "output differs"
}

func TestMatchTranscript(t *testing.T) {
	t.Parallel()
	got := "a\nb\nc\nd\n"
	for want, ok := range map[string]bool{
		"a\nb\nc\nd\n": true, "a\n...\nd\n": true, "a\n...\nc\n...\nd\n": true, "...\n": true, "a\nb\n...\n": true,
		"a\nb\n": false, "b\n...\nd\n": false, "a\n...\nc\n": false, "a\n...\nc\n...\nb\n...\nd\n": false,
	} {
		if err := matchTranscript(got, want); (err == "") != ok {
			t.Errorf("matchTranscript(%q) = %q, want ok=%v", want, err, ok)
		}
	}
	for want, ok := range map[string]bool{
		"Run <run-id>: 6 done.\n": true, "Run ...: 6 done.\n": true, "Run <run-id>: 5 done.\n": false, "Run <otp>: 6 done.\n": true,
		"Run <port>: 6 done.\n": false, "...: 6 done.\n": true, "Run 20261128T134306Z-e145224b: 6 done.\n": false,
	} {
		if err := matchTranscript("Run 20261128T000000Z-1ecda2a9: 6 done.\n", want); (err == "") != ok {
			t.Errorf("matchTranscript(%q) = %q, want ok=%v", want, err, ok)
		}
	}
}

// The test refuses what it must: a block that shows output unmarked.
func TestDocBlocksUnmarkedRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "doc.md")
	doc := "# x\n\n```text\n$ iamprune plan\nPlan: ...\n```\n\n<!-- not-a-transcript: a command alone -->\n```sh\n$ iamprune plan --out plan.json\n```\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	blocks := docBlocks(t, path)
	if len(blocks) != 2 || blocks[0].marker != "" || !strings.HasPrefix(blocks[1].marker, "<!-- not-a-transcript:") || blocks[0].line != 3 {
		t.Fatalf("blocks = %+v", blocks)
	}
	cmds := parseTranscript("$ iamprune a --x\nout 1\n\n$ iamprune b\nout 2\n")
	if len(cmds) != 2 || cmds[0].want != "out 1\n" || cmds[1].want != "out 2\n" || cmds[1].args[0] != "b" {
		t.Errorf("parseTranscript = %+v", cmds)
	}
}
