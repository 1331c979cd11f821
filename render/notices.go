package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/iamprune/iamprune"
)

// Notices writes what happened to each digest sent, per route and channel:
// a table with a summary line, or JSON ({"notifications": [...]}).
func Notices(w io.Writer, rs []iamprune.NotificationResult, format string) error {
	if format == "json" {
		if rs == nil {
			rs = []iamprune.NotificationResult{}
		}
		return writeVersioned(w, map[string]any{"notifications": rs}, true)
	}
	for _, r := range rs {
		fmt.Fprintf(w, "%-7s %-20s %-30s %d item(s) %s\n", r.Status, r.Channel, r.Route, r.Items, r.Error)
	}
	_, err := fmt.Fprintln(w, NoticeSummary(rs))
	return err
}

// NoticeSummary is one line for people: how many digests were sent, and
// which failed and why.
func NoticeSummary(rs []iamprune.NotificationResult) string {
	if len(rs) == 0 {
		return "Notices: none due."
	}
	sent, failed := 0, []string{}
	for _, r := range rs {
		if r.Status == iamprune.NoticeSent {
			sent++
		} else {
			failed = append(failed, fmt.Sprintf("%s (%s): %s", r.Channel, r.Route, r.Error))
		}
	}
	s := fmt.Sprintf("Notices: %d digest(s) sent", sent)
	if len(failed) > 0 {
		s += fmt.Sprintf(", %d failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return s + "."
}
