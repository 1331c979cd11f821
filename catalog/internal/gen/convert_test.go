package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tarball packs testdata/<dir>/package the way npm does (entries under
// "package/"), in sorted order or reversed.
func tarball(t *testing.T, dir string, reverse bool) []byte {
	t.Helper()
	root := filepath.Join(dir, "package")
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	if reverse {
		slices.Reverse(files)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	// A directory entry, as real tarballs may carry, must be skipped.
	if err := tw.WriteHeader(&tar.Header{Name: "package/data/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		h := &tar.Header{Name: "package/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func generate(t *testing.T, tgz []byte) ([]byte, []byte, error) {
	t.Helper()
	src, err := readTarball(bytes.NewReader(tgz))
	if err != nil {
		return nil, nil, err
	}
	data, err := convert(src)
	if err != nil {
		return nil, nil, err
	}
	return data, licenseNotice(src), nil
}

// TestConvert runs every case under testdata: a case has either want/ with
// the expected outputs or want-error.txt with a part of the expected error.
func TestConvert(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*")
	if err != nil || len(dirs) < 2 {
		t.Fatalf("testdata cases: %v %v", dirs, err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, notice, err := generate(t, tarball(t, dir, false))
			if wantErr, rerr := os.ReadFile(filepath.Join(dir, "want-error.txt")); rerr == nil {
				want := strings.TrimSpace(string(wantErr))
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error = %v, want one containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string][]byte{"actions.tsv": data, "LICENSE-iam-data": notice} {
				want, err := os.ReadFile(filepath.Join(dir, "want", name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s:\n got: %s\nwant: %s", name, got, want)
				}
			}
		})
	}
}

// The output must depend on the package contents only, not on the order of
// the archive or of JSON object keys (Go map order is random per run).
func TestConvertIsReproducible(t *testing.T) {
	first, _, err := generate(t, tarball(t, "testdata/ok", false))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		got, _, err := generate(t, tarball(t, "testdata/ok", i%2 == 0))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, first) {
			t.Fatalf("run %d differs:\n%s\nfirst:\n%s", i, got, first)
		}
	}
}

func TestAccessLevel(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"List", "List", true},
		{"Read", "Read", true},
		{"Write", "Write", true},
		{"Tagging", "Tagging", true},
		{"Permissions management", "Permissions management", true},
		{"Tagging, Write", "Tagging", true},
		{"Write, Tagging", "Tagging", true},
		{"Permissions management, Write", "Permissions management", true},
		{"Read,List", "Read", true},
		{"", "", false},
		{"read", "", false},
		{"Write, Admin", "", false},
	}
	for _, tt := range tests {
		got, err := accessLevel(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("accessLevel(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestReadTarballRejectsNonGzip(t *testing.T) {
	if _, err := readTarball(strings.NewReader("not a tarball")); err == nil || !strings.Contains(err.Error(), "not gzip") {
		t.Fatalf("err = %v", err)
	}
}

func TestReadTarballNeedsPackageJSON(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	tw.Close()
	zw.Close()
	if _, err := readTarball(&buf); err == nil || !strings.Contains(err.Error(), "no package.json") {
		t.Fatalf("err = %v", err)
	}
}
