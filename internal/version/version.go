// Package version says which build of iamprune is running: the version,
// commit and build date that `make release` stamps with -ldflags -X, or,
// in a binary built with plain `go build` or `go install`, what the Go
// toolchain recorded in the binary (runtime/debug.ReadBuildInfo: the module
// version and the vcs.revision, vcs.time and vcs.modified settings).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped by `make release` (internal/release):
//
//	go build -ldflags "-X github.com/iamprune/iamprune/internal/version.version=v1.2.3
//	  -X github.com/iamprune/iamprune/internal/version.commit=0123abc...
//	  -X github.com/iamprune/iamprune/internal/version.date=2026-12-01T10:00:00Z"
var (
	version string
	commit  string
	date    string
)

// Package is the import path the -X flags name.
const Package = "github.com/iamprune/iamprune/internal/version"

// Info describes a build.
type Info struct {
	// Version is a release version (v1.2.3), a Go pseudo-version, or
	// "devel" for a build from a source tree without version control data.
	Version string
	// Commit is the full revision, or "" when unknown.
	Commit string
	// Date is the build date (RFC 3339) of a release, or the commit time
	// recorded by the Go toolchain; "" when unknown.
	Date string
	// Modified is true when the tree had uncommitted changes.
	Modified bool
	// Stamped is true when the version came from -ldflags.
	Stamped bool
	// Go is the toolchain and platform, as "go1.26.0 linux/arm64".
	Go string
}

// Get returns the running binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return Resolve(version, commit, date, bi)
}

// Resolve prefers the stamped values and falls back on bi (which may be nil).
func Resolve(stampedVersion, stampedCommit, stampedDate string, bi *debug.BuildInfo) Info {
	info := Info{Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil && bi.GoVersion != "" {
		info.Go = bi.GoVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
	}
	if stampedVersion != "" {
		info.Version, info.Commit, info.Date, info.Stamped = stampedVersion, stampedCommit, stampedDate, true
		return info
	}
	info.Version = "devel"
	if bi == nil {
		return info
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		info.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.Date = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	// go install module@version records the version but no VCS data;
	// a pseudo-version ends with the commit's first 12 hex digits.
	if info.Commit == "" {
		info.Commit = pseudoRevision(info.Version)
	}
	return info
}

// pseudoRevision returns the revision prefix a pseudo-version
// (v0.0.0-20261206101500-0123456789ab, maybe +dirty) names, or "".
func pseudoRevision(v string) string {
	v, _, _ = strings.Cut(v, "+")
	i := strings.LastIndexByte(v, '-')
	if i < 0 || len(v)-i-1 != 12 {
		return ""
	}
	rev := v[i+1:]
	if strings.Trim(rev, "0123456789abcdef") != "" {
		return ""
	}
	// A pseudo-version has a 14-digit timestamp before the revision.
	rest := v[:i]
	j := strings.LastIndexAny(rest, "-.")
	if j < 0 || len(rest)-j-1 < 14 {
		return ""
	}
	return rev
}

// String is the one line `iamprune --version` prints after "iamprune
// version ": the version, then what is known of the commit, date and
// toolchain, e.g. "v1.2.3 (commit 0123456789ab, built 2026-12-01T10:00:00Z,
// go1.26.0 linux/arm64)". It is never a bare "devel".
func (i Info) String() string {
	var parts []string
	switch {
	case i.Commit != "":
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if i.Modified {
			c += ", modified"
		}
		parts = append(parts, "commit "+c)
	case i.Version == "devel":
		parts = append(parts, "built from source without version control data")
	default:
		parts = append(parts, "commit unknown")
	}
	switch {
	case i.Date != "" && i.Stamped:
		parts = append(parts, "built "+i.Date)
	case i.Date != "":
		parts = append(parts, "committed "+i.Date)
	}
	parts = append(parts, i.Go)
	return fmt.Sprintf("%s (%s)", i.Version, strings.Join(parts, ", "))
}

// LDFlags returns the -ldflags value that stamps version v, commit c and
// date d into a binary (none of them may contain a space).
func LDFlags(v, c, d string) string {
	return fmt.Sprintf("-X %[1]s.version=%[2]s -X %[1]s.commit=%[3]s -X %[1]s.date=%[4]s", Package, v, c, d)
}
