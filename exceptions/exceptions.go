// Package exceptions reads approved-exception files, from a path or as
// the bytes of a published list (Remote), and checks them as the pull-request gate of
// "iamprune exceptions check".
//
// Two formats are read (docs/exceptions.md): a *.txt file holds one
// principal ARN per line, compatible with the reference allowlist.txt; any
// other file is YAML with a top-level "exceptions:" list whose entries may be
// limited to finding types and services and may expire. Problems name the
// file and line.
//
// Check enforces the review policy on top of parsing: every entry must be a
// specific user or role pattern (see PrincipalProblem for the rule on
// over-broad globs: the resource type literally user/ or role/, the account
// 12 digits or *, and at least MinLiteralName literal characters in the
// name), may only name known services, and must not duplicate or overlap
// another entry; YAML entries must also give reason, owner and an expiry
// between today and max_days ahead. Coverage relates entries to the
// findings and principals of an account, which finds stale entries, and
// Expiring lists what is about to expire.
//
// It imports the root, catalog and internal packages; app and cmd import it.
package exceptions

import (
	"path/filepath"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/yamlnode"
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
	return Parse(data, path)
}

// Parse reads the content of an exceptions file named name (a path or a
// URL): *.txt as ParseTXT, anything else as ParseYAML.
func Parse(data []byte, name string) ([]iamprune.Exception, error) {
	if strings.EqualFold(filepath.Ext(name), ".txt") {
		return parseTXT(data, name)
	}
	return ParseYAML(data, name)
}
