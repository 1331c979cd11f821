package render

import (
	"bytes"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iamprune/iamprune"
)

// Table writes the plan for people on a terminal: one block per principal,
// one row per action, then a summary and the warnings.
type Table struct{}

var _ Renderer = Table{}

var tableHeader = []string{"KIND", "TARGET", "SERVICES", "UNUSED", "REMEDIATE ON", "REASON"}

// Render implements Renderer.
func (Table) Render(w io.Writer, p *iamprune.Plan) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n\n", title(p))
	if len(p.Actions) == 0 {
		ew.printf("%s\n", emptyPlanMessage)
		ew.printf("(%d %s read)\n", p.Findings, plural(p.Findings, "finding", "findings"))
	} else {
		groups := groupByPrincipal(p)
		lines, err := alignRows(groups)
		if err != nil {
			return err
		}
		// lines[0] is the column header; data rows follow in group order.
		n := 1
		for i, g := range groups {
			if i > 0 {
				ew.printf("\n")
			}
			ew.printf("%s\n", g.Principal)
			ew.printf("  %s\n", lines[0])
			for range g.Actions {
				ew.printf("  %s\n", lines[n])
				n++
			}
		}
		ew.printf("\nPlan: %s.\n", summary(p))
		if b := remediationBreakdown(p); b != "" {
			ew.printf("Remediations: %s.\n", b)
		}
		if n := policyChanges(p); n > 0 {
			ew.printf("Policy changes: %d %s; -o markdown shows each diff with its evidence, -o json the exact documents.\n", n, plural(n, "policy", "policies"))
		}
	}
	if len(p.Warnings) > 0 {
		ew.printf("\nWarnings:\n")
		for _, wn := range p.Warnings {
			ew.printf("  - %s\n", oneLine(wn.String()))
		}
	}
	if ew.err != nil {
		return errWrap("table", ew.err)
	}
	return nil
}

// alignRows lays out the header and every row of every group with one
// tabwriter, so that columns line up across groups; the principal headers
// are interleaved afterwards. tabwriter keeps lines one to one.
func alignRows(groups []group) ([]string, error) {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	writeRow(tw, tableHeader)
	for _, g := range groups {
		for _, a := range g.Actions {
			writeRow(tw, []string{
				string(a.Kind),
				dash(a.Target),
				dash(servicesCell(a.Services)),
				dash(unusedCell(a)),
				dash(a.RemediateOn),
				dash(reasonCell(a)),
			})
		}
	}
	if err := tw.Flush(); err != nil {
		return nil, errWrap("table", err)
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"), nil
}

func writeRow(w io.Writer, cells []string) {
	// A new slice: cells may be the shared tableHeader, and renders run
	// concurrently.
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = oneLine(c)
	}
	// Writes to a bytes.Buffer through tabwriter cannot fail before Flush.
	_, _ = io.WriteString(w, strings.Join(clean, "\t")+"\n")
}

func title(p *iamprune.Plan) string {
	var b strings.Builder
	b.WriteString("iamprune plan")
	if acct := account(p); acct != "" {
		b.WriteString(" for account " + acct)
	}
	if !p.GeneratedAt.IsZero() {
		b.WriteString(", generated " + p.GeneratedAt.UTC().Format(time.RFC3339))
	}
	if p.Source != "" {
		b.WriteString(" from " + p.Source)
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a cell on its row: newlines and tabs would break the layout.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
