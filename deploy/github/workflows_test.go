// Package github holds the workflows that users copy into their
// repositories; its test runs their install step against a local release.
package github

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var workflows = []string{"exceptions-check.yml", "exceptions-sync.yml"}

// pinnedAction is an action named by a full commit SHA.
var pinnedAction = regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)

type workflow struct {
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		Steps []struct {
			Name string `yaml:"name"`
			Uses string `yaml:"uses"`
			Run  string `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func load(t *testing.T, name string) workflow {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

// installStep is the run script of the step that installs iamprune.
func installStep(t *testing.T, name string, w workflow) string {
	t.Helper()
	var script string
	for job, j := range w.Jobs {
		for _, s := range j.Steps {
			if strings.Contains(s.Run, "go install") || strings.Contains(s.Run, "@latest") || strings.HasPrefix(s.Uses, "actions/setup-go") {
				t.Errorf("%s: job %s compiles iamprune (%q%q); it must download the pinned release", name, job, s.Uses, s.Run)
			}
			if strings.HasPrefix(s.Name, "Install iamprune") {
				script = s.Run
			}
		}
	}
	if script == "" {
		t.Fatalf("%s: no step named Install iamprune", name)
	}
	return script
}

// The workflows run a pinned release, checked against its checksums.
func TestWorkflowsPinTheRelease(t *testing.T) {
	t.Parallel()
	for _, name := range workflows {
		w := load(t, name)
		if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(w.Env["IAMPRUNE_VERSION"]) {
			t.Errorf("%s: IAMPRUNE_VERSION %q is not a pinned release version", name, w.Env["IAMPRUNE_VERSION"])
		}
		for job, j := range w.Jobs {
			for _, s := range j.Steps {
				if s.Uses != "" && !pinnedAction.MatchString(s.Uses) {
					t.Errorf("%s: job %s uses %q: pin the action to a full commit SHA, as a tag can be moved", name, job, s.Uses)
				}
			}
		}
		if script := installStep(t, name, w); !strings.Contains(script, "sha256sum -c --ignore-missing checksums.txt") {
			t.Errorf("%s: the install step does not verify checksums.txt:\n%s", name, script)
		}
	}
}

// The install step, run against a release folder on disk: it installs the
// archive whose checksum matches, and refuses one that was altered.
func TestInstallStep(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "sha256sum", "tar", "install"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	for _, name := range workflows {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := load(t, name)
			script := installStep(t, name, w)
			version := w.Env["IAMPRUNE_VERSION"]
			releases := t.TempDir()
			archive := fakeRelease(t, filepath.Join(releases, version), version)

			out, err := runInstall(t, script, releases, version)
			if err != nil {
				t.Fatalf("install: %v\n%s", err, out)
			}
			if !strings.Contains(out, "iamprune version "+version) {
				t.Errorf("install did not run the installed binary's --version:\n%s", out)
			}

			pinned := fmt.Sprintf("%x", sha256.Sum256(readFile(t, archive)))
			if out, err := runInstall(t, script, releases, version, "IAMPRUNE_SHA256="+pinned); err != nil {
				t.Fatalf("install with IAMPRUNE_SHA256 pinned: %v\n%s", err, out)
			}

			if err := os.WriteFile(archive, append(readFile(t, archive), 0), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := runInstall(t, script, releases, version); err == nil || !strings.Contains(out, "FAILED") {
				t.Errorf("an altered archive was installed (%v):\n%s", err, out)
			}

			// The release replaced as a whole, checksums.txt included: only
			// the pinned digest notices.
			sums := fmt.Sprintf("%x  %s\n", sha256.Sum256(readFile(t, archive)), filepath.Base(archive))
			if err := os.WriteFile(filepath.Join(releases, version, "checksums.txt"), []byte(sums), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := runInstall(t, script, releases, version, "IAMPRUNE_SHA256="+pinned); err == nil || !strings.Contains(out, "FAILED") {
				t.Errorf("a replaced release was installed despite IAMPRUNE_SHA256 (%v):\n%s", err, out)
			}
		})
	}
}

func runInstall(t *testing.T, script, releases, version string, env ...string) (string, error) {
	t.Helper()
	tmp := t.TempDir()
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "IAMPRUNE_VERSION="+version, "IAMPRUNE_RELEASES=file://"+releases, "IAMPRUNE_SHA256=",
		"RUNNER_TEMP="+tmp, "GITHUB_PATH="+filepath.Join(tmp, "github_path"))
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// fakeRelease writes, into dir, the linux/amd64 archive as make release
// names and lays it out, holding a script that prints the version, and
// checksums.txt; it returns the archive's path.
func fakeRelease(t *testing.T, dir, version string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := "iamprune_" + version + "_linux_amd64"
	exe := []byte("#!/bin/sh\necho \"iamprune version " + version + " (fake)\"\n")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range []*tar.Header{{Name: base + "/", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: base + "/iamprune", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(exe))}} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.Write(exe); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, base+".tar.gz")
	other := []byte("another platform's archive, not downloaded")
	sums := fmt.Sprintf("%x  %s\n%x  iamprune_%s_darwin_arm64.tar.gz\n", sha256.Sum256(buf.Bytes()), filepath.Base(archive), sha256.Sum256(other), version)
	if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "checksums.txt"), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	return archive
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
