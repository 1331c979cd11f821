// Command zipit writes a zip of the named files, each stored under its base
// name with its Unix mode, for `make package` on machines without zip(1).
// Lambda runs the archive's bootstrap only if it is executable, which is why
// the mode matters. Entries carry a fixed time, so the same files always
// give the same archive.
//
//	go run ./deploy/cloudformation/internal/zipit -o dist/iamprune-arm64.zip dist/bootstrap
package main

import (
	"archive/zip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// epoch is the time stamped on every entry (zip cannot store earlier).
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("o", "", "the zip file to write")
	flag.Parse()
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "zipit:", err)
		os.Exit(2)
	}
}

func run(out string, files []string) (err error) {
	if out == "" || len(files) == 0 {
		return errors.New("usage: zipit -o OUT.zip FILE [FILE ...]")
	}
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
	zw := zip.NewWriter(f)
	for _, name := range files {
		if err := add(zw, name); err != nil {
			return err
		}
	}
	return zw.Close()
}

func add(zw *zip.Writer, name string) error {
	src, err := os.Open(name)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", name)
	}
	h, err := zip.FileInfoHeader(fi)
	if err != nil {
		return err
	}
	h.Name = filepath.Base(name)
	h.Method = zip.Deflate
	h.Modified = epoch
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		return fmt.Errorf("cannot add %s: %w", name, err)
	}
	return nil
}
