package exceptions

import (
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/yamlnode"
)

// ParseFile reads an exceptions file like Load, but instead of failing on
// the first bad file it returns the entries that parsed cleanly together
// with a Problem for every other one (bad YAML, unknown keys, bad ARNs,
// ...), so that a check can report every file at once. err is only for a
// file that cannot be read (EINVALID, naming the file).
func ParseFile(path string) ([]iamprune.Exception, []Problem, error) {
	excs, _, probs, err := parseFile(path)
	return excs, probs, err
}

// parseFile is ParseFile that also returns the YAML entries that had a
// problem, as far as they decoded, so that a check can report their other
// problems too.
func parseFile(path string) (excs, partial []iamprune.Exception, _ []Problem, _ error) {
	if strings.HasPrefix(path, "s3://") {
		return nil, nil, nil, iamprune.Errorf(iamprune.EINVALID, "exceptions: %s: s3 exceptions are checked from a local copy; pass the file in the repository", path)
	}
	data, err := yamlnode.ReadFile(path, "exceptions", "exceptions file")
	if err != nil {
		return nil, nil, nil, err
	}
	if strings.EqualFold(filepath.Ext(path), ".txt") {
		excs, probs := parseTXTLines(data, path)
		return excs, nil, fromProblems(probs.Err(), path), nil
	}
	excs, partial, probs, err := parseYAML(data, path)
	if err != nil {
		return nil, nil, fromProblems(err, path), nil
	}
	return excs, partial, fromProblems(probs.Err(), path), nil
}

// CheckFiles parses every file with ParseFile and checks all their entries
// together with Check, so that duplicates across files are found too.
// Problems come in the order of paths, then by line. A path given twice is
// read once.
func CheckFiles(paths []string, opts CheckOptions) ([]iamprune.Exception, []Problem, error) {
	var (
		all   []iamprune.Exception
		probs []Problem
		seen  = map[string]bool{}
		files []string
	)
	for _, p := range paths {
		if seen[filepath.Clean(p)] {
			continue
		}
		seen[filepath.Clean(p)] = true
		files = append(files, p)
		excs, partial, ps, err := parseFile(p)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, excs...)
		probs = append(probs, ps...)
		// An entry with a parse problem is still checked for every other
		// problem, so that one round of fixes is enough; a field that
		// already failed to parse is not reported twice.
		for _, e := range partial {
			for _, q := range entryProblems(e, opts) {
				if !slices.ContainsFunc(ps, func(p Problem) bool { return p.File == q.File && sameField(p.Field, q.Field) }) {
					probs = append(probs, q)
				}
			}
		}
	}
	probs = append(probs, Check(all, opts)...)
	sortProblems(probs, files)
	return all, probs, nil
}

// problemLine is one line of a yamlnode.Problems error after the file name:
// ":LINE: PATH: MESSAGE", the line and the key path both optional.
var (
	problemLine = regexp.MustCompile(`^(?::(\d+))?: (.*)$`)
	keyPath     = regexp.MustCompile(`^([A-Za-z0-9_]+(?:\[\d+\])*(?:\.[A-Za-z0-9_]+(?:\[\d+\])*)*): (.*)$`)
)

// fromProblems turns a parse error, which yamlnode renders one problem per
// line as "name:line: path: message", back into Problems.
func fromProblems(err error, name string) []Problem {
	if err == nil {
		return nil
	}
	var ie *iamprune.Error
	msg := err.Error()
	if errors.As(err, &ie) {
		msg = ie.Message
	}
	var out []Problem
	for _, l := range strings.Split(msg, "\n") {
		p := Problem{File: name, Message: l}
		if rest, ok := strings.CutPrefix(l, name); ok {
			if m := problemLine.FindStringSubmatch(rest); m != nil {
				p.Line, _ = strconv.Atoi(m[1])
				p.Message = m[2]
				if k := keyPath.FindStringSubmatch(p.Message); k != nil {
					p.Field, p.Message = k[1], k[2]
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// sameField reports whether two problems' key paths are about one field:
// equal, or one inside the other (services and services[0]).
func sameField(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return a == b || strings.HasPrefix(a, b+"[") || strings.HasPrefix(b, a+"[") || strings.HasPrefix(a, b+".") || strings.HasPrefix(b, a+".")
}
