package render

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
)

// CheckText writes the coverage (with --against), the problems and the
// warnings of 'exceptions check', one per line as FILE:LINE: FIELD: MESSAGE.
func CheckText(w io.Writer, rep CheckReport) {
	if rep.Against != "" {
		fmt.Fprintf(w, "coverage in %s:\n", rep.Against)
		for _, c := range rep.Coverage {
			checkCoverage(w, c)
		}
		fmt.Fprintln(w)
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(w, p.String())
	}
	for _, p := range rep.Warnings {
		p.Message = "warning: " + p.Message
		fmt.Fprintln(w, p.String())
	}
}

func checkCoverage(w io.Writer, c EntryCoverage) {
	fmt.Fprintf(w, "%s:%d  %s%s\n", c.File, c.Line, c.Principal, coverageScope(c.FindingTypes, c.Services, c.Expired))
	for _, p := range c.Principals {
		fmt.Fprintf(w, "  principal  %s\n", p)
	}
	for _, f := range c.Findings {
		svcs := ""
		if len(f.Services) > 0 {
			svcs = "  services: " + strings.Join(f.Services, ", ")
		}
		fmt.Fprintf(w, "  finding    %s  %s  %s  %s%s\n", f.ID, f.Type, f.Status, f.Resource, svcs)
	}
	if c.Stale {
		fmt.Fprintln(w, "  (stale: nothing matches)")
	}
}

// coverageScope describes an entry's limits for the coverage listing.
func coverageScope(types []iamprune.FindingType, services []string, expired bool) string {
	var parts []string
	if len(types) > 0 {
		ts := make([]string, len(types))
		for i, t := range types {
			ts[i] = string(t)
		}
		parts = append(parts, strings.Join(ts, ", "))
	}
	if len(services) > 0 {
		parts = append(parts, "services "+strings.Join(services, ", "))
	}
	if expired {
		parts = append(parts, "EXPIRED")
	}
	if len(parts) == 0 {
		return ""
	}
	return "  (" + strings.Join(parts, "; ") + ")"
}

// CheckSummary is the last line of 'exceptions check'.
func CheckSummary(rep CheckReport) string {
	var warn string
	if n := len(rep.Warnings); n > 0 {
		warn = ", " + CountOf(n, "warning")
	}
	if len(rep.Problems) == 0 {
		return fmt.Sprintf("ok: %s in %s%s", CountOf(rep.Entries, "entry"), CountOf(len(rep.Files), "file"), warn)
	}
	var files []string
	for _, p := range rep.Problems {
		if !slices.Contains(files, p.File) {
			files = append(files, p.File)
		}
	}
	return fmt.Sprintf("%s in %s%s", CountOf(len(rep.Problems), "problem"), CountOf(len(files), "file"), warn)
}

// Check writes the report of 'exceptions check': text with a summary
// line, or JSON. With github (GitHub Actions), each problem is also an
// ::error annotation; with JSON they go to errW, so that w stays valid
// JSON (the runner reads annotations on stderr too).
func Check(w, errW io.Writer, rep CheckReport, format string, github bool) error {
	if format == "json" {
		if err := ExceptionsJSON(w, rep); err != nil {
			return err
		}
		if github {
			CheckAnnotations(errW, rep)
		}
		return nil
	}
	CheckText(w, rep)
	if github {
		CheckAnnotations(w, rep)
	}
	_, err := fmt.Fprintln(w, CheckSummary(rep))
	return err
}
