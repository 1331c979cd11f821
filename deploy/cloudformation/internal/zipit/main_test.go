package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(bootstrap, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.zip")
	if err := run(out, []string{bootstrap}); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("entries %v, want one named bootstrap", zr.File)
	}
	if mode := zr.File[0].Mode(); mode.Perm() != 0o755 {
		t.Errorf("bootstrap mode %v, want executable 0755", mode)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if string(body) != "#!/bin/sh\n" {
		t.Errorf("body %q", body)
	}

	// The same input gives the same bytes, whatever the file's mtime.
	if err := os.Chtimes(bootstrap, epoch.AddDate(40, 0, 0), epoch.AddDate(40, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := run(out, []string{bootstrap}); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(out); !bytes.Equal(first, second) {
		t.Error("the archive changed with the file's mtime")
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		out   string
		files []string
		want  string
	}{
		{"no output", "", []string{"x"}, "usage"},
		{"no files", filepath.Join(dir, "a.zip"), nil, "usage"},
		{"missing file", filepath.Join(dir, "b.zip"), []string{filepath.Join(dir, "nope")}, "no such file"},
		{"directory", filepath.Join(dir, "c.zip"), []string{dir}, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.out, tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if tt.out != "" {
				if _, err := os.Stat(tt.out); !os.IsNotExist(err) {
					t.Errorf("a failed run left %s behind", tt.out)
				}
			}
		})
	}
}
