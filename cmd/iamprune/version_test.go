package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --version names the build, and never prints a bare "devel"
// (internal/version tests the stamped and fallback paths themselves).
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	noAWS(t)
	r := runCLI(t, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "iamprune version ") {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if v := strings.TrimSpace(strings.TrimPrefix(r.stdout, "iamprune version ")); v == "devel" || !strings.Contains(v, " (") || !strings.Contains(v, "go1.") {
		t.Errorf("--version printed %q, want the version with its commit, date and toolchain", r.stdout)
	}
}

// The completion command is listed in the root help and writes scripts.
func TestCompletionVisible(t *testing.T) {
	t.Parallel()
	noAWS(t)
	r := runCLI(t, "--help")
	if !strings.Contains(r.stdout, "\n  completion ") {
		t.Errorf("root help does not list completion:\n%s", r.stdout)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := runCLI(t, "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "iamprune") {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, r.code, len(r.stdout), r.stderr)
		}
	}
}

// make man: a page for the root and one per command, from cobra's
// generator; the generator command itself stays out of the help.
func TestManPages(t *testing.T) {
	t.Parallel()
	noAWS(t)
	dir := filepath.Join(t.TempDir(), "man")
	if r := runCLI(t, "man-pages", dir); r.code != 0 {
		t.Fatalf("man-pages: exit %d: %s", r.code, r.stderr)
	}
	for page, want := range map[string]string{
		"iamprune.1":                 `.TH "IAMPRUNE" "1"`,
		"iamprune-worker.1":          "--queue",
		"iamprune-exceptions-sync.1": "--publish",
		"iamprune-completion-bash.1": "bash",
	} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, want it to contain %q", page, err, want)
		}
	}
	if r := runCLI(t, "--help"); strings.Contains(r.stdout, "man-pages") {
		t.Error("the root help lists the hidden man-pages command")
	}
}

// worker --probe is the image's health check: exit 0 while /healthz
// answers 200, 1 otherwise.
func TestWorkerProbe(t *testing.T) {
	t.Parallel()
	noAWS(t)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	addr := strings.TrimPrefix(srv.URL, "http://")
	if r := runCLI(t, "worker", "--probe", "--listen", addr); r.code != 0 {
		t.Errorf("healthy: exit %d: %s", r.code, r.stderr)
	}
	srv.Close()
	if r := runCLI(t, "worker", "--probe", "--listen", addr); r.code != 1 || !strings.Contains(r.stderr, "probe") {
		t.Errorf("no worker: exit %d, stderr %q; want 1 and the probe's error", r.code, r.stderr)
	}
}
