package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/archive"
	"github.com/iamprune/iamprune/exceptions"
)

// The reports of 'exceptions check', 'sync' and 'expiring': their JSON
// form is their -o json output.

// CheckReport is what 'exceptions check' found.
type CheckReport struct {
	Files    []string             `json:"files"`
	Entries  int                  `json:"entries"`
	Problems []exceptions.Problem `json:"problems"`
	Warnings []exceptions.Problem `json:"warnings"`
	Against  string               `json:"against,omitempty"`
	Coverage []EntryCoverage      `json:"coverage,omitempty"`
}

// EntryCoverage is exceptions.EntryCoverage with the entry it is about.
type EntryCoverage struct {
	File         string                 `json:"file"`
	Line         int                    `json:"line"`
	Principal    string                 `json:"principal"`
	FindingTypes []iamprune.FindingType `json:"finding_types,omitempty"`
	Services     []string               `json:"services,omitempty"`
	Stale        bool                   `json:"stale"`
	exceptions.EntryCoverage
}

// SyncReport is what 'exceptions sync' found and did.
type SyncReport struct {
	Analyzer   string         `json:"analyzer"`
	Exceptions string         `json:"exceptions"`
	Create     []archive.Rule `json:"create"`
	Update     []archive.Rule `json:"update"` // with their new filters
	Delete     []archive.Rule `json:"delete"`
	Unarchive  []string       `json:"unarchive"` // finding ids set back to ACTIVE
	Publish    *PublishStatus `json:"publish"`   // null without a target
	Notes      []string       `json:"notes"`
	Foreign    []string       `json:"foreign"` // rules left alone
	Applied    bool           `json:"applied"`

	// Existing are the analyzer's rules by name, to show what an update
	// changes; Released the findings to set back to ACTIVE; Kept the
	// iamprune rules that stay as they are.
	Existing map[string]archive.Rule `json:"-"`
	Released []archive.Finding       `json:"-"`
	Kept     int                     `json:"-"`
}

// Changes counts the changes sync makes: rules, findings and the
// published file.
func (r *SyncReport) Changes() int {
	n := len(r.Create) + len(r.Update) + len(r.Delete) + len(r.Unarchive)
	if r.Publish != nil && r.Publish.Changed {
		n++
	}
	return n
}

// PublishStatus compares the exceptions file with its published copy.
type PublishStatus struct {
	Target  string `json:"target"`
	Changed bool   `json:"changed"`
	ETag    string `json:"etag,omitempty"` // S3 only: the object's, after publishing if it did
	MD5     string `json:"md5"`            // of the file
}

// ExpiringReport lists the exceptions that expire soon or expired.
type ExpiringReport struct {
	Now        time.Time       `json:"now"`
	Within     string          `json:"within"`
	Exceptions []ExpiringEntry `json:"exceptions"`
	// By is the end of the window.
	By time.Time `json:"-"`
}

// ExpiringEntry is one exception of an ExpiringReport.
type ExpiringEntry struct {
	Principal    string                 `json:"principal"`
	FindingTypes []iamprune.FindingType `json:"finding_types"`
	Services     []string               `json:"services"`
	Owner        string                 `json:"owner"`
	Ticket       string                 `json:"ticket"`
	Reason       string                 `json:"reason"`
	Expires      string                 `json:"expires"`
	DaysLeft     int                    `json:"days_left"`
	Expired      bool                   `json:"expired"`
	File         string                 `json:"file"`
	Line         int                    `json:"line"`
}

// ExceptionsJSON writes an exceptions report as indented JSON, with
// format_version first.
func ExceptionsJSON(w io.Writer, v any) error { return writeVersioned(w, v, true) }

// CountOf is "1 word" or "n words" ("entries" for "entry").
func CountOf(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}
