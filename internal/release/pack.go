package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// entry is one file of an archive.
type entry struct {
	name string // slash-separated path in the archive
	src  string // the file to copy
	mode int64
}

// writeTarGz writes the entries to a gzipped tar at out, each with mtime,
// owned by root, with no user or group names, so that the same inputs
// give the same bytes.
func writeTarGz(out string, mtime time.Time, entries []entry) (err error) {
	return writeFile(out, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		zw.ModTime = mtime
		if err := writeTar(zw, mtime, entries); err != nil {
			return err
		}
		return zw.Close()
	})
}

// addTarDirs adds dir and its parents, once each.
func addTarDirs(tw *tar.Writer, done map[string]bool, dir string, mtime time.Time) error {
	if dir == "." || dir == "/" || done[dir] {
		return nil
	}
	if err := addTarDirs(tw, done, path.Dir(dir), mtime); err != nil {
		return err
	}
	done[dir] = true
	return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX})
}

func addTarFile(tw *tar.Writer, e entry, mtime time.Time) error {
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", e.src)
	}
	h := &tar.Header{Typeflag: tar.TypeReg, Name: e.name, Size: fi.Size(), Mode: e.mode, ModTime: mtime, Format: tar.FormatPAX}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// writeZip writes the entries to a zip at out, as `make package` does
// (deploy/cloudformation/internal/zipit): deflated, with their mode (Lambda
// runs bootstrap only if it is executable) and mtime.
func writeZip(out string, mtime time.Time, entries []entry) error {
	return writeFile(out, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		for _, e := range entries {
			b, err := os.ReadFile(e.src)
			if err != nil {
				return err
			}
			h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
			h.SetMode(fs.FileMode(e.mode))
			fw, err := zw.CreateHeader(h)
			if err != nil {
				return err
			}
			if _, err := fw.Write(b); err != nil {
				return err
			}
		}
		return zw.Close()
	})
}

// tarDir writes the files under dir, in name order, to an uncompressed tar
// at out (an OCI layout folder as one file, as `skopeo copy oci-archive:`
// and `tar -x` read it).
func tarDir(out, dir string, mtime time.Time) error {
	var entries []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		entries = append(entries, entry{name: filepath.ToSlash(rel), src: p, mode: 0o644})
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return writeFile(out, func(w io.Writer) error { return writeTar(w, mtime, entries) })
}

// writeChecksums writes, to dir/checksums.txt, the SHA-256 of every
// regular file directly in dir, in name order, as sha256sum prints them
// ("HEX  NAME"), so that `sha256sum -c --ignore-missing checksums.txt`
// checks whichever of them were downloaded.
func writeChecksums(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, de := range des { // ReadDir sorts by name
		if !de.Type().IsRegular() || de.Name() == checksumsFile {
			continue
		}
		sum, err := sha256File(filepath.Join(dir, de.Name()))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, de.Name())
	}
	return os.WriteFile(filepath.Join(dir, checksumsFile), []byte(b.String()), 0o644)
}

const checksumsFile = "checksums.txt"

func sha256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeFile creates out, lets fill write it, and removes it on failure.
func writeFile(out string, fill func(io.Writer) error) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(out)
		}
	}()
	return fill(f)
}

// writeTar writes entries as a tar stream, each with the folders above it
// first, every time mtime.
func writeTar(w io.Writer, mtime time.Time, entries []entry) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	for _, e := range entries {
		if err := addTarDirs(tw, dirs, path.Dir(e.name), mtime); err != nil {
			return err
		}
		if err := addTarFile(tw, e, mtime); err != nil {
			return err
		}
	}
	return tw.Close()
}
