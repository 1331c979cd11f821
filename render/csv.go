package render

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// CSV writes one row per plan entry (RFC 4180, with a header row) in the
// columns of CSVColumns, a contract documented in docs/exports.md: columns
// may be added at the end, never renamed, removed or reordered.
type CSV struct{}

var _ Renderer = CSV{}

// CSVColumns are the CSV export's columns, in order.
var CSVColumns = []string{
	"id", "account", "principal", "finding_type", "kind", "target", "services", "unused_days",
	"remediate_on", "last_accessed", "exception", "exception_expires", "hold", "hold_until",
	"done_run_id", "finding_id", "reason", "generated_at",
}

// Render implements Renderer.
func (CSV) Render(w io.Writer, p *iamprune.Plan) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVColumns); err != nil {
		return errWrap("CSV", err)
	}
	generated := p.GeneratedAt.UTC().Format(time.RFC3339)
	for _, a := range p.Actions {
		var last, done string
		if a.LastAccessed != nil {
			last = a.LastAccessed.UTC().Format(time.RFC3339)
		}
		if a.Done != nil {
			done = a.Done.RunID
		}
		row := []string{a.ID, a.Account, a.Principal, string(a.FindingType), string(a.Kind), a.Target,
			strings.Join(a.Services, ";"), strconv.Itoa(a.UnusedDays), a.RemediateOn, last, a.Exception,
			a.ExceptionExpires, a.Hold, a.HoldUntil, done, a.FindingID, a.Reason, generated}
		if err := cw.Write(row); err != nil {
			return errWrap("CSV", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return errWrap("CSV", err)
	}
	return nil
}
