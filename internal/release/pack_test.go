package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The same inputs give the same bytes, whatever the files' own times.
func TestArchivesReproducible(t *testing.T) {
	t.Parallel()
	bin := writeTemp(t, "iamprune", "binary")
	readme := writeTemp(t, "README.md", "readme")
	entries := []entry{{name: "d/iamprune", src: bin, mode: 0o755}, {name: "d/README.md", src: readme, mode: 0o644}}
	spec := imageSpec{stamp: stamp{version: "v1.0.0", commit: "abc", date: testDate}, source: "s", license: "l", caCerts: []byte("ca")}
	build := func() (tgz, zipb, idx []byte) {
		dir := t.TempDir()
		if err := writeTarGz(filepath.Join(dir, "a.tar.gz"), testDate, entries); err != nil {
			t.Fatal(err)
		}
		if err := writeZip(filepath.Join(dir, "a.zip"), testDate, entries); err != nil {
			t.Fatal(err)
		}
		if err := writeImage(filepath.Join(dir, "oci"), spec, imageTargets, map[target]string{imageTargets[0]: bin, imageTargets[1]: bin}); err != nil {
			t.Fatal(err)
		}
		read := func(name string) []byte {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		return read("a.tar.gz"), read("a.zip"), read(filepath.Join("oci", "index.json"))
	}
	t1, z1, i1 := build()
	later := time.Now().Add(time.Hour)
	for _, p := range []string{bin, readme} {
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	t2, z2, i2 := build()
	if !bytes.Equal(t1, t2) || !bytes.Equal(z1, z2) || !bytes.Equal(i1, i2) {
		t.Error("two builds of the same files differ")
	}
	entries[0].mode = 0o700
	if t3, _, _ := build(); bytes.Equal(t1, t3) {
		t.Error("a changed mode left the archive the same: the test cannot see a difference")
	}
}

func TestResolveStamp(t *testing.T) {
	t.Parallel()
	s, err := resolveStamp(t.TempDir(), "v1.2.3", testCommit, testEpoch)
	if err != nil || s.version != "v1.2.3" || s.commit != testCommit || !s.date.Equal(testDate) {
		t.Fatalf("got %+v, %v", s, err)
	}
	for _, bad := range []struct{ v, c, e string }{
		{"v1.2.3", testCommit, "yesterday"},
		{"v1.2.3", testCommit, "1000"},
		{"v1 2", testCommit, testEpoch},
		{"v1.2.3", "a'b", testEpoch},
	} {
		if _, err := resolveStamp(t.TempDir(), bad.v, bad.c, bad.e); err == nil {
			t.Errorf("resolveStamp(%q, %q, %q): no error", bad.v, bad.c, bad.e)
		}
	}
}

func TestParseTargets(t *testing.T) {
	t.Parallel()
	if ts, err := parseTargets(""); err != nil || len(ts) != 4 {
		t.Errorf("default targets %v, %v", ts, err)
	}
	if ts, err := parseTargets("linux/arm64, darwin/amd64"); err != nil || len(ts) != 2 || ts[1] != (target{"darwin", "amd64"}) {
		t.Errorf("got %v, %v", ts, err)
	}
	if _, err := parseTargets("windows/amd64"); err == nil {
		t.Error("windows/amd64 accepted")
	}
}

// -out is emptied first, so it must be a release folder: never the module
// or a folder of other files.
func TestOutIsNeverAnotherFolder(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "cmd", "iamprune"), 0o755); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(root, "docs", "precious.md")
	if err := os.MkdirAll(filepath.Dir(precious), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(precious, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := options{root: root, version: "v1.0.0", commit: "abc", epoch: "1764583200"}
	for _, out := range []string{root, filepath.Dir(root), filepath.Join(root, "docs")} {
		o.out = out
		if err := run(o); err == nil {
			t.Errorf("-out %s: no error", out)
		}
		if _, err := os.Stat(precious); err != nil {
			t.Fatalf("-out %s emptied a folder that is not a release's: %v", out, err)
		}
	}
}
