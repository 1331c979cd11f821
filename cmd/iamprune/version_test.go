package main

import (
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
