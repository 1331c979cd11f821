package render

import (
	"fmt"
	"io"

	"github.com/iamprune/iamprune"
)

// Exported writes what 'export securityhub' did: how many findings were
// imported, then each rejected one with its code and message; or, as
// JSON, {"format_version", "sent", "imported", "rejected": [...]}.
func Exported(w io.Writer, sent int, rejected []iamprune.RejectedFinding, format string) error {
	if rejected == nil {
		rejected = []iamprune.RejectedFinding{}
	}
	if format == "json" {
		return writeJSON(w, map[string]any{"sent": sent, "imported": sent - len(rejected), "rejected": rejected})
	}
	if _, err := fmt.Fprintf(w, "Security Hub: %d of %d finding(s) imported (created or updated), %d rejected.\n", sent-len(rejected), sent, len(rejected)); err != nil {
		return err
	}
	for _, r := range rejected {
		if _, err := fmt.Fprintf(w, "  rejected %s: %s: %s\n", r.ID, r.Code, oneLine(r.Message)); err != nil {
			return err
		}
	}
	return nil
}
