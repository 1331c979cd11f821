package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune/internal/version"
)

// target is one platform a binary is built for.
type target struct{ goos, goarch string }

func (t target) String() string { return t.goos + "/" + t.goarch }

// archiveTargets are the platforms of the CLI archives.
var archiveTargets = []target{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}}

// imageTargets are the platforms of the container image.
var imageTargets = []target{{"linux", "amd64"}, {"linux", "arm64"}}

// lambdaArchs maps Lambda's architecture names (the stack's Architecture
// parameter, `make package ARCH=...`) to Go's.
var lambdaArchs = []struct{ lambda, goarch string }{{"arm64", "arm64"}, {"x86_64", "amd64"}}

// stamp is what every binary of a release is stamped with.
type stamp struct {
	version string
	commit  string
	date    time.Time
}

func (s stamp) ldflags() string {
	return "-s -w " + version.LDFlags(s.version, s.commit, s.date.UTC().Format(time.RFC3339))
}

// builder builds the iamprune binary.
type builder struct {
	goCmd string
	dir   string // the module root
	stamp stamp
	// trimpath and static (CGO_ENABLED=0) are on for releases; the test
	// leaves them off, so that it shares the build cache of the other
	// tests that build the binary.
	trimpath bool
	static   bool
}

// build compiles ./cmd/iamprune for t into out, statically (CGO_ENABLED=0)
// and with -trimpath for a release; tags are extra build tags
// (lambda.norpc for Lambda).
func (b builder) build(t target, out string, tags ...string) error {
	args := []string{"build", "-ldflags", b.stamp.ldflags(), "-o", out}
	if b.trimpath {
		args = append(args, "-trimpath")
	}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, "./cmd/iamprune")
	cmd := exec.Command(b.goCmd, args...)
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "GOOS="+t.goos, "GOARCH="+t.goarch)
	if b.static {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, "== go build %s (%s)\n", t, filepath.Base(out))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w", t, err)
	}
	return nil
}

// resolveStamp fills in the version and commit from git where the flags
// left them empty, and takes the date from SOURCE_DATE_EPOCH or else the
// commit's date, so that a release is reproducible.
func resolveStamp(dir, ver, commit, epoch string) (stamp, error) {
	var err error
	s := stamp{version: ver, commit: commit}
	if s.version == "" {
		if s.version, err = git(dir, "describe", "--tags", "--always", "--dirty"); err != nil {
			return s, fmt.Errorf("no -version and %w", err)
		}
	}
	if s.commit == "" {
		if s.commit, err = git(dir, "rev-parse", "HEAD"); err != nil {
			return s, fmt.Errorf("no -commit and %w", err)
		}
	}
	if epoch == "" {
		if epoch, err = git(dir, "log", "-1", "--format=%ct", s.commit); err != nil {
			return s, fmt.Errorf("no SOURCE_DATE_EPOCH and %w", err)
		}
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil || sec < 315532800 { // zip cannot store times before 1980
		return s, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a Unix time after 1980", epoch)
	}
	s.date = time.Unix(sec, 0).UTC()
	for _, v := range []string{s.version, s.commit} {
		if v == "" || strings.ContainsAny(v, " \t\n'\"/") {
			return s, fmt.Errorf("version and commit must be one word without quotes or slashes, not %q", v)
		}
	}
	return s, nil
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
