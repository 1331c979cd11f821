package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	testVersion = "v0.0.0-releasetest"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
	testEpoch   = "1764583200" // 2025-12-01T10:00:00Z
)

var testDate = time.Date(2025, 12, 1, 10, 0, 0, 0, time.UTC)

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestRelease runs the release for this machine's linux target (one CLI
// archive, one Lambda zip, the image, the SBOM when cyclonedx-gomod is
// installed) and checks each file: the image is unpacked and its binary run.
func TestRelease(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("the image's binary runs only on linux/amd64 or linux/arm64")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	root := moduleRoot(t)
	out := filepath.Join(t.TempDir(), "release")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host := runtime.GOOS + "/" + runtime.GOARCH
	// The release program runs as a process of its own, so that its
	// compression runs at full speed under go test -race. No -trimpath: the
	// binary then shares the build cache of the chaos and Lambda tests,
	// which build it too. But CGO_ENABLED=0 as in a release: the image has
	// no dynamic loader, so its binary must be static.
	prog := filepath.Join(t.TempDir(), "release")
	if b, err := exec.Command("go", "build", "-o", prog, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build ./internal/release: %v\n%s", err, b)
	}
	args := []string{"-out", out, "-version", testVersion, "-commit", testCommit, "-source-date-epoch", testEpoch, "-targets", host,
		"-trimpath=false", "-ca-certs", ca, "-source", "https://example.com/iamprune", "-license", "NOASSERTION"}
	cyclonedx := filepath.Join(root, ".cache", "bin", "cyclonedx-gomod")
	_, err := os.Stat(cyclonedx)
	noSBOM := err != nil // scripts/test installs it; a bare go test may not have it
	if noSBOM {
		args = append(args, "-no-sbom")
	} else {
		args = append(args, "-cyclonedx", cyclonedx)
	}
	cmd := exec.Command(prog, args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	name := "iamprune_" + testVersion
	lambdaArch := map[string]string{"amd64": "x86_64", "arm64": "arm64"}[runtime.GOARCH]
	want := []string{checksumsFile, name + "_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz", name + "_lambda_" + lambdaArch + ".zip", name + "_oci.tar", "oci"}
	if !noSBOM {
		want = append(want, name+"_sbom.cdx.json")
	}
	slices.Sort(want)
	des, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, de := range des {
		got = append(got, de.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("release files:\n got %v\nwant %v", got, want)
	}
	checkChecksums(t, out, len(want)-2) // neither checksums.txt nor oci/
	checkArchive(t, filepath.Join(out, want[slices.IndexFunc(want, func(s string) bool { return strings.HasSuffix(s, ".tar.gz") })]))
	checkLambdaZip(t, filepath.Join(out, name+"_lambda_"+lambdaArch+".zip"))
	if !noSBOM {
		checkSBOM(t, filepath.Join(out, name+"_sbom.cdx.json"))
	}
	checkImage(t, filepath.Join(out, "oci"))
	checkPush(t, filepath.Join(out, "oci"))
}

// checkPush pushes the layout's index, as `crane push` does, to an
// in-memory registry, and reads it back by its tag.
func checkPush(t *testing.T, dir string) {
	t.Helper()
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	ref, err := name.ParseReference(strings.TrimPrefix(reg.URL, "http://") + "/iamprune:" + testVersion)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("push: %v", err)
	}
	got, err := remote.Index(ref)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	want, _ := idx.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("pulled index %s, pushed %s", d, want)
	}
}

// checkChecksums recomputes every line of checksums.txt, and lets
// sha256sum check it too when it is installed.
func checkChecksums(t *testing.T, dir string, n int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, checksumsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != n {
		t.Errorf("checksums.txt has %d lines, want %d:\n%s", len(lines), n, b)
	}
	for _, l := range lines {
		sum, file, ok := strings.Cut(l, "  ")
		if !ok || len(sum) != 64 {
			t.Errorf("checksums.txt: %q is not sha256sum's format", l)
			continue
		}
		if real, err := sha256File(filepath.Join(dir, file)); err != nil || real != sum {
			t.Errorf("checksums.txt: %s: %s, want %s (%v)", file, sum, real, err)
		}
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "-c", "--ignore-missing", checksumsFile)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, b)
		}
	}
}

func checkArchive(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.Equal(testDate) {
		t.Errorf("gzip header time %v, want %v", zr.ModTime, testDate)
	}
	base := strings.TrimSuffix(filepath.Base(path), ".tar.gz")
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(testDate) || h.Uid != 0 || h.Uname != "" {
			t.Errorf("%s: time %v uid %d uname %q, want the release date and root", h.Name, h.ModTime, h.Uid, h.Uname)
		}
		if h.Name == base+"/iamprune" && h.Mode != 0o755 {
			t.Errorf("%s: mode %o, want 755", h.Name, h.Mode)
		}
	}
	want := []string{base + "/", base + "/iamprune", base + "/README.md"}
	if _, err := os.Stat(filepath.Join(moduleRoot(t), "LICENSE")); err == nil {
		want = []string{base + "/", base + "/iamprune", base + "/LICENSE", base + "/README.md"}
	}
	if !slices.Equal(names, want) {
		t.Errorf("archive entries %v, want %v", names, want)
	}
}

func checkLambdaZip(t *testing.T, path string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm() != 0o755 {
		t.Fatalf("lambda zip: want one executable bootstrap, got %v", zr.File)
	}
}

func checkSBOM(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"bomFormat": "CycloneDX"`, `"pkg:golang/github.com/iamprune/iamprune@` + testVersion, `pkg:golang/github.com/spf13/cobra@`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("SBOM lacks %s", want)
		}
	}
	if bytes.Contains(b, []byte(`"serialNumber"`)) || bytes.Contains(b, []byte(`"timestamp"`)) {
		t.Error("SBOM has a serial number or a timestamp: it would differ between two builds of one commit")
	}
}

// checkImage reads the layout back, checks the platform image's config and
// annotations, unpacks its filesystem and runs the binary from it.
func checkImage(t *testing.T, dir string) {
	t.Helper()
	img := layoutImage(t, dir, runtime.GOARCH)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/iamprune"}) || !slices.Equal(c.Cmd, []string{"worker", "--listen", ":9090"}) {
		t.Errorf("config: user %q entrypoint %q cmd %q", c.User, c.Entrypoint, c.Cmd)
	}
	if c.Healthcheck == nil || !slices.Equal(c.Healthcheck.Test, []string{"CMD", "/iamprune", "worker", "--probe", "--listen", "127.0.0.1:9090"}) {
		t.Errorf("config: healthcheck %+v", c.Healthcheck)
	}
	if _, ok := c.ExposedPorts["9090/tcp"]; !ok || cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config: ports %v, platform %s/%s", c.ExposedPorts, cf.OS, cf.Architecture)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.version": testVersion, "org.opencontainers.image.revision": testCommit,
		"org.opencontainers.image.created": "2025-12-01T10:00:00Z", "org.opencontainers.image.source": "https://example.com/iamprune",
		"org.opencontainers.image.title": "iamprune", "org.opencontainers.image.licenses": "NOASSERTION",
	}
	for k, v := range wantLabels {
		if c.Labels[k] != v || m.Annotations[k] != v {
			t.Errorf("%s: label %q, annotation %q, want %q", k, c.Labels[k], m.Annotations[k], v)
		}
	}
	rootfs := extract(t, img)
	passwd, _ := os.ReadFile(filepath.Join(rootfs, "etc", "passwd"))
	if !strings.Contains(string(passwd), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no user 65532:\n%s", passwd)
	}
	if ca, _ := os.ReadFile(filepath.Join(rootfs, imageCACerts)); !strings.Contains(string(ca), "BEGIN CERTIFICATE") {
		t.Errorf("/%s: %q", imageCACerts, ca)
	}
	for _, sh := range []string{"bin/sh", "bin", "usr"} {
		if _, err := os.Lstat(filepath.Join(rootfs, sh)); err == nil {
			t.Errorf("the image has /%s; it should hold no shell", sh)
		}
	}
	// Run from the unpacked filesystem, on this machine: it would find the
	// host's dynamic loader, which the image lacks, so it must need none.
	if f, err := elf.Open(filepath.Join(rootfs, "iamprune")); err != nil {
		t.Errorf("/iamprune: %v", err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("/iamprune is dynamically linked (it needs an ELF interpreter); the image has none: build it with CGO_ENABLED=0")
			}
		}
		f.Close()
	}
	out, err := exec.Command(filepath.Join(rootfs, "iamprune"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("/iamprune --version from the image: %v\n%s", err, out)
	}
	if want := "iamprune version " + testVersion + " (commit 0123456789ab, built 2025-12-01T10:00:00Z, go"; !strings.HasPrefix(string(out), want) {
		t.Errorf("/iamprune --version printed %q, want it to start with %q", out, want)
	}
}

// layoutImage is the image for arch of the index that index.json names.
func layoutImage(t *testing.T, dir, arch string) v1.Image {
	t.Helper()
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || !tm.Manifests[0].MediaType.IsIndex() || tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != testVersion {
		t.Fatalf("index.json: want one image index named %s, got %+v", testVersion, tm.Manifests)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == arch {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no linux/%s image in %+v", arch, im.Manifests)
	return nil
}

// extract writes the image's filesystem to a new folder.
func extract(t *testing.T, img v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(bufio.NewReader(rc))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("entry %q escapes the root", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			var b []byte
			if b, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(p, b, os.FileMode(h.Mode).Perm())
			}
		default:
			t.Errorf("unexpected entry %q of type %c", h.Name, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
