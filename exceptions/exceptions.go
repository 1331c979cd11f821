// Package exceptions reads approved-exception files and matches them
// against principals.
//
// Two formats are read (design.md "Exceptions"): a *.txt file holds one
// principal ARN per line, compatible with the reference allowlist.txt; any
// other file is YAML with a top-level "exceptions:" list whose entries may be
// limited to finding types and services and may expire. Problems name the
// file and line.
package exceptions

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/config/yamlnode"
)

// Load reads the exceptions file at path: *.txt as ParseTXT, anything else as
// ParseYAML.
func Load(path string) ([]iamprune.Exception, error) {
	if strings.HasPrefix(path, "s3://") {
		return nil, iamprune.Errorf(iamprune.EINVALID, "exceptions: %s: s3 exceptions are loaded by the AWS adapter, not from a local path", path)
	}
	data, err := yamlnode.ReadFile(path, "exceptions", "exceptions file")
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(filepath.Ext(path), ".txt") {
		return parseTXT(data, path)
	}
	return ParseYAML(data, path)
}

// Match returns the exceptions that apply to the principal and finding type
// at now: unexpired, with a matching principal pattern and, if limited to
// finding types, one of them. File order is kept. Service limits are left to
// the caller (Exception.CoversService).
func Match(excs []iamprune.Exception, principalARN string, t iamprune.FindingType, now time.Time) []iamprune.Exception {
	var out []iamprune.Exception
	for _, e := range excs {
		if !e.Expired(now) && e.CoversPrincipal(principalARN, t) {
			out = append(out, e)
		}
	}
	return out
}
