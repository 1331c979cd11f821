package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ExpiringTable writes the exceptions of an ExpiringReport as a table,
// soonest first, or says that none expires within the window.
func ExpiringTable(w io.Writer, rep ExpiringReport) error {
	if len(rep.Exceptions) == 0 {
		_, err := fmt.Fprintf(w, "no exception expires within %s (by %s)\n", rep.Within, rep.By.UTC().Format(time.DateOnly))
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINCIPAL\tFINDING TYPES\tSERVICES\tOWNER\tTICKET\tEXPIRES\tDAYS LEFT\tFILE")
	for _, e := range rep.Exceptions {
		types := "all"
		if len(e.FindingTypes) > 0 {
			ts := make([]string, len(e.FindingTypes))
			for i, t := range e.FindingTypes {
				ts[i] = string(t)
			}
			types = strings.Join(ts, ",")
		}
		left := strconv.Itoa(e.DaysLeft)
		switch {
		case e.Expired:
			left = fmt.Sprintf("expired %dd ago", -e.DaysLeft)
		case e.DaysLeft == 0:
			left = "0 (last day)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s:%d\n", e.Principal, types, dash(strings.Join(e.Services, ",")),
			dash(e.Owner), dash(e.Ticket), e.Expires, left, e.File, e.Line)
	}
	return tw.Flush()
}
