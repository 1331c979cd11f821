package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iamprune/iamprune"
)

// Run writes what an apply or a rollback did: "table" for people, "json"
// in the {"run_id", "results": [...]} shape for programs.
func Run(w io.Writer, r *iamprune.RunResult, format, verb string) error {
	switch format {
	case "json":
		c := *r
		if c.Results == nil {
			c.Results = []iamprune.ActionResult{}
		}
		return writeJSON(w, c)
	case "table", "":
	default:
		return iamprune.Errorf(iamprune.EINVALID, "unknown output format %q (want table or json)", format)
	}
	if r.Refused != "" {
		_, err := fmt.Fprintf(w, "Nothing was %s: %s\n", verb, r.Refused)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "STATUS\tKIND\tTARGET\tPRINCIPAL\tDETAIL\n")
	counts := map[string]int{}
	for _, a := range r.Results {
		counts[a.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Status, a.Kind, a.Target, a.Principal, oneLine(a.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "\nRun %s: %d done, %d already done, %d skipped, %d failed.\n", r.RunID,
		counts[iamprune.ResultDone], counts[iamprune.ResultAlreadyDone], counts[iamprune.ResultSkipped], counts[iamprune.ResultFailed]); err != nil {
		return err
	}
	return proposalsTable(w, r.Proposals)
}

// proposalsTable says what propose-policy did, one line per account.
func proposalsTable(w io.Writer, ps []iamprune.ProposalResult) error {
	for _, p := range ps {
		var line string
		switch {
		case p.Error != "":
			line = fmt.Sprintf("Proposal for account %s failed: %s", p.Account, oneLine(p.Error))
		case p.PullRequest != "":
			verb := "opened"
			if p.Updated {
				verb = "updated"
			}
			if p.NoChange {
				verb = "unchanged"
			}
			line = fmt.Sprintf("Pull request #%d %s: %s (branch %s, %d %s)", p.Number, verb, p.PullRequest, p.Branch, p.Files, plural(p.Files, "policy", "policies"))
		default:
			line = fmt.Sprintf("Proposal for account %s: %s", p.Account, oneLine(p.Summary))
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
		for _, u := range p.Unmapped {
			if _, err := fmt.Fprintf(w, "  not proposed (no file mapping): %s\n", oneLine(u)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Runs writes the run history, newest first.
func Runs(w io.Writer, runs []iamprune.Run, format string) error {
	switch format {
	case "json":
		if runs == nil {
			runs = []iamprune.Run{}
		}
		return writeJSON(w, map[string]any{"runs": runs})
	case "table", "":
	default:
		return iamprune.Errorf(iamprune.EINVALID, "unknown output format %q (want table or json)", format)
	}
	if len(runs) == 0 {
		_, err := fmt.Fprintln(w, "No runs recorded yet.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "RUN ID\tKIND\tACCOUNT\tSTATUS\tSTARTED\tFINISHED\tDETAIL\n")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.Account, r.Status, stamp(&r.StartedAt), stamp(r.FinishedAt), oneLine(r.Detail))
	}
	return tw.Flush()
}

// RunDetail writes one run with its journal.
func RunDetail(w io.Writer, run *iamprune.Run, actions []iamprune.ActionRecord, format string) error {
	if actions == nil {
		actions = []iamprune.ActionRecord{}
	}
	switch format {
	case "json":
		return writeJSON(w, map[string]any{"run": run, "actions": actions})
	case "table", "":
	default:
		return iamprune.Errorf(iamprune.EINVALID, "unknown output format %q (want table or json)", format)
	}
	fmt.Fprintf(w, "Run %s (%s) in account %s: %s\n", run.ID, run.Kind, run.Account, run.Status)
	fmt.Fprintf(w, "Started %s, finished %s", stamp(&run.StartedAt), stamp(run.FinishedAt))
	if run.Caller != "" {
		fmt.Fprintf(w, ", as %s", run.Caller)
	}
	fmt.Fprintln(w)
	if run.Detail != "" {
		fmt.Fprintf(w, "%s\n", run.Detail)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ACTION ID\tSTATUS\tKIND\tTARGET\tPRINCIPAL\tDETAIL\n")
	for _, a := range actions {
		detail := a.Detail
		if a.RollbackOf != "" {
			detail = strings.TrimSpace("undoes " + a.RollbackOf + "; " + detail)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ActionID, a.Status, a.Kind, a.Target, a.Principal, oneLine(detail))
	}
	return tw.Flush()
}

// writeJSON writes v, a JSON object, with format_version first.
func writeJSON(w io.Writer, v any) error { return writeVersioned(w, v, false) }

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
