package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// release holds what run works with.
type release struct {
	o     options
	dir   string // the module root
	out   string
	work  string // binaries, under out, removed at the end
	b     builder
	name  string // iamprune_VERSION
	linux map[target]string
}

func run(o options) error {
	dir := o.root
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		dir = wd
	}
	if _, err := os.Stat(filepath.Join(dir, "cmd", "iamprune")); err != nil {
		return errors.New("run it from the module root (make release)")
	}
	if err := safeOut(o.out, dir); err != nil {
		return err
	}
	st, err := resolveStamp(dir, o.version, o.commit, o.epoch)
	if err != nil {
		return err
	}
	targets, err := parseTargets(o.targets)
	if err != nil {
		return err
	}
	r := &release{o: o, dir: dir, out: o.out, work: filepath.Join(o.out, ".build"),
		b: builder{goCmd: o.goCmd, dir: dir, stamp: st, trimpath: o.trimpath, static: !o.dynamic}, name: "iamprune_" + st.version, linux: map[target]string{}}
	if err := os.RemoveAll(r.out); err != nil {
		return err
	}
	if err := os.MkdirAll(r.work, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "== release %s (commit %s, date %s) into %s\n", st.version, st.commit, st.date.Format("2006-01-02T15:04:05Z"), r.out)
	steps := []func([]target) error{r.archives, r.lambdas, r.sbom, r.image}
	for _, step := range steps {
		if err := step(targets); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(r.work); err != nil {
		return err
	}
	return writeChecksums(r.out)
}

// parseTargets reads -targets; empty is every archive target.
func parseTargets(s string) ([]target, error) {
	if s == "" {
		return archiveTargets, nil
	}
	var ts []target
	for _, f := range strings.Split(s, ",") {
		goos, goarch, _ := strings.Cut(strings.TrimSpace(f), "/")
		t := target{goos, goarch}
		if !slices.Contains(archiveTargets, t) {
			return nil, fmt.Errorf("-targets: %q is not one of %v", f, archiveTargets)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// archives builds the CLI for each target and packs it with the README
// and the LICENSE, under a folder named like the archive.
func (r *release) archives(targets []target) error {
	for _, t := range targets {
		bin := filepath.Join(r.work, t.goos+"_"+t.goarch, "iamprune")
		if err := r.b.build(t, bin); err != nil {
			return err
		}
		if t.goos == "linux" {
			r.linux[t] = bin
		}
		base := r.name + "_" + t.goos + "_" + t.goarch
		entries := []entry{{name: base + "/iamprune", src: bin, mode: 0o755}}
		for _, doc := range []string{"LICENSE", "README.md"} {
			if _, err := os.Stat(filepath.Join(r.dir, doc)); err == nil {
				entries = append(entries, entry{name: base + "/" + doc, src: filepath.Join(r.dir, doc), mode: 0o644})
			}
		}
		if err := writeTarGz(filepath.Join(r.out, base+".tar.gz"), r.b.stamp.date, entries); err != nil {
			return err
		}
	}
	return nil
}

// lambdas builds the Lambda bootstrap for the linux targets, as `make
// package` does (CGO_ENABLED=0, -tags lambda.norpc), and zips it.
func (r *release) lambdas(targets []target) error {
	for _, a := range lambdaArchs {
		t := target{"linux", a.goarch}
		if !slices.Contains(targets, t) {
			continue
		}
		bin := filepath.Join(r.work, "lambda_"+a.lambda, "bootstrap")
		if err := r.b.build(t, bin, "lambda.norpc"); err != nil {
			return err
		}
		out := filepath.Join(r.out, r.name+"_lambda_"+a.lambda+".zip")
		if err := writeZip(out, r.b.stamp.date, []entry{{name: "bootstrap", src: bin, mode: 0o755}}); err != nil {
			return err
		}
	}
	return nil
}

// sbom runs cyclonedx-gomod on the first linux binary: its modules are
// read from the binary's own build information, so the SBOM lists exactly
// what was linked. No serial number or timestamp, for reproducibility.
func (r *release) sbom([]target) error {
	if r.o.noSBOM {
		return nil
	}
	var bin string
	for _, t := range archiveTargets {
		if b, ok := r.linux[t]; ok {
			bin = b
			break
		}
	}
	if bin == "" {
		return errors.New("the SBOM needs a linux target")
	}
	if _, err := os.Stat(r.o.cyclonedx); err != nil {
		return fmt.Errorf("cyclonedx-gomod: %w (make release-tools installs it at the pinned version; -no-sbom skips the SBOM)", err)
	}
	out := filepath.Join(r.out, r.name+"_sbom.cdx.json")
	cmd := exec.Command(r.o.cyclonedx, "bin", "-json", "-noserial", "-notimestamp", "-version", r.b.stamp.version, "-output", out, bin)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, "== cyclonedx-gomod bin %s\n", filepath.Base(out))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cyclonedx-gomod: %w", err)
	}
	return nil
}

// image writes the worker image of the linux targets: the layout folder
// oci/ and the same as iamprune_VERSION_oci.tar.
func (r *release) image([]target) error {
	if r.o.noImage {
		return nil
	}
	var linux []target
	for _, t := range imageTargets {
		if _, ok := r.linux[t]; ok {
			linux = append(linux, t)
		}
	}
	if len(linux) == 0 {
		return errors.New("the image needs a linux target")
	}
	ca, err := os.ReadFile(r.o.caCerts)
	if err != nil {
		return fmt.Errorf("CA certificates for the image: %w (install ca-certificates, or name a PEM bundle with -ca-certs)", err)
	}
	spec := imageSpec{stamp: r.b.stamp, source: r.o.source, license: r.o.license, caCerts: ca}
	layoutDir := filepath.Join(r.out, "oci")
	fmt.Fprintf(os.Stderr, "== image %v into %s\n", linux, layoutDir)
	if err := writeImage(layoutDir, spec, linux, r.linux); err != nil {
		return err
	}
	return tarDir(filepath.Join(r.out, r.name+"_oci.tar"), layoutDir, r.b.stamp.date)
}

// safeOut refuses an -out that run must not empty: the module or a folder
// above it, or a folder of other files (one that holds no checksums.txt or
// .build of an earlier release).
func safeOut(out, root string) error {
	o, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	r, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if o == r || strings.HasPrefix(r, o+string(filepath.Separator)) || o == filepath.Dir(o) {
		return fmt.Errorf("-out %s holds the module: name a folder of its own, such as dist/release", out)
	}
	des, err := os.ReadDir(o)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(des) == 0) {
		return nil
	} else if err != nil {
		return err
	}
	for _, mark := range []string{checksumsFile, ".build"} {
		if _, err := os.Stat(filepath.Join(o, mark)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("-out %s is not empty and holds no earlier release (no %s): it is emptied first, so name another folder", out, checksumsFile)
}
