package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// setup writes a VERSION file and the ok fixture as a .tgz into a temp dir.
func setup(t *testing.T, version string) (versionFile, tgz string) {
	t.Helper()
	dir := t.TempDir()
	versionFile = filepath.Join(dir, "VERSION")
	if err := os.WriteFile(versionFile, []byte(version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tgz = filepath.Join(dir, "pkg.tgz")
	if err := os.WriteFile(tgz, tarball(t, "testdata/ok", false), 0o644); err != nil {
		t.Fatal(err)
	}
	return versionFile, tgz
}

// Running the generator twice gives byte-identical files, equal to the
// golden outputs.
func TestRunTwiceIsIdentical(t *testing.T) {
	versionFile, tgz := setup(t, "1.2.3")
	var outs [2]string
	for i := range outs {
		outs[i] = t.TempDir()
		if err := run([]string{"-version-file", versionFile, "-tarball", tgz, "-out", outs[i]}, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"actions.tsv", "LICENSE-iam-data"} {
		want, err := os.ReadFile(filepath.Join("testdata/ok/want", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, out := range outs {
			got, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from golden:\n%s", name, got)
			}
		}
	}
	left, _ := filepath.Glob(filepath.Join(outs[0], ".gen-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name, version string
		args          []string
		want          string
	}{
		{"version mismatch", "1.2.4", nil, `tarball holds version "1.2.3", pinned is "1.2.4"`},
		{"not a plain version", "latest", nil, `"latest" is not a plain x.y.z version`},
		{"range is not a pin", "^1.2.3", nil, "is not a plain x.y.z version"},
		{"missing tarball", "1.2.3", []string{"-tarball", "no-such.tgz"}, "no-such.tgz"},
		{"missing version file", "1.2.3", []string{"-version-file", "no-such-VERSION"}, "cannot read pinned version"},
		{"bad flag", "1.2.3", []string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			versionFile, tgz := setup(t, tt.version)
			out := t.TempDir()
			args := append([]string{"-version-file", versionFile, "-tarball", tgz, "-out", out}, tt.args...)
			err := run(args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if files, _ := os.ReadDir(out); len(files) != 0 {
				t.Errorf("a failed run wrote %d files", len(files))
			}
		})
	}
}
