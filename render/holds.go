package render

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iamprune/iamprune"
)

// Holds writes the holds rollback set, active ones first (each group in
// the order given), as a table or as JSON ({"holds": [...]}, each with its
// status at now).
func Holds(w io.Writer, holds []iamprune.Hold, now time.Time, format string) error {
	switch format {
	case "json", "table", "":
	default:
		return iamprune.Errorf(iamprune.EINVALID, "unknown output format %q (want table or json)", format)
	}
	holds = slices.Clone(holds)
	slices.SortStableFunc(holds, func(a, b iamprune.Hold) int {
		active := func(h iamprune.Hold) int {
			if h.Active(now) {
				return 0
			}
			return 1
		}
		return cmp.Compare(active(a), active(b))
	})
	if format == "json" {
		type entry struct {
			iamprune.Hold
			Status string `json:"status"`
		}
		out := []entry{}
		for _, h := range holds {
			out = append(out, entry{h, HoldStatus(h, now)})
		}
		return writeJSON(w, map[string]any{"holds": out})
	}
	if len(holds) == 0 {
		_, err := fmt.Fprintln(w, "No holds.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tACCOUNT\tPRINCIPAL\tTARGET\tSERVICES\tUNTIL\tRUN\tROLLBACK RUN\tBY")
	for _, h := range holds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.ID, HoldStatus(h, now), h.Account, h.Principal, h.Target,
			cmp.Or(strings.Join(h.Services, ","), "-"), h.Until.UTC().Format(time.DateOnly), h.RunID, h.RollbackRunID, h.By)
	}
	return tw.Flush()
}

// HoldStatus is active, released or ended.
func HoldStatus(h iamprune.Hold, now time.Time) string {
	switch {
	case h.ReleasedAt != nil:
		return "released"
	case !h.Active(now):
		return "ended"
	}
	return "active"
}
