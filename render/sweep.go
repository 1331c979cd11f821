package render

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/iamprune/iamprune"
)

// SweepEnqueued writes what a fan-out sent: one row per account. state is
// the --state given ("" for the default), for the progress command it
// prints to work as printed.
func SweepEnqueued(w io.Writer, res *iamprune.SweepEnqueued, format, state string) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(w, map[string]any{"sweep": res})
	}
	verb := "Enqueued"
	if res.DryRun {
		verb = "Would enqueue (dry run, nothing sent)"
	}
	fmt.Fprintf(w, "%s %d message(s) for %d account(s): sweep %s\n", verb, res.Messages, len(res.Accounts), res.SweepID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ACCOUNT\tFINDINGS\tMESSAGES\n")
	chained := false
	for _, a := range res.Accounts {
		more := ""
		if a.Chained {
			more, chained = "+", true
		}
		fmt.Fprintf(tw, "%s\t%d%s\t%d%s\n", a.Account, a.Findings, more, a.Messages, more)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if chained {
		fmt.Fprintln(w, "+: a large account's first pages; its consumers list and enqueue the rest, page by page.")
	}
	if !res.DryRun {
		if state != "" {
			state = " --state " + ShellQuote(state)
		}
		_, err := fmt.Fprintf(w, "The queue's consumers plan and apply each account with their config. Progress: iamprune history --sweep %s%s\n", res.SweepID, state)
		return err
	}
	return nil
}

// SweepProgress writes a sweep's progress, one row per message.
func SweepProgress(w io.Writer, sw *iamprune.Sweep, parts []iamprune.SweepPart, format string) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	if parts == nil {
		parts = []iamprune.SweepPart{}
	}
	if format == "json" {
		return writeJSON(w, map[string]any{"sweep": sw, "parts": parts})
	}
	state, of := "in progress", fmt.Sprint(sw.Expected)
	switch {
	case sw.Complete():
		state = "complete at " + stamp(sw.FinishedAt)
	case sw.Open():
		// Enqueuing goes on, or stopped part-way (the sweep command said so).
		state, of = "still being enqueued, or its enqueuing stopped", fmt.Sprintf("at least %d", len(parts))
	}
	fmt.Fprintf(w, "Sweep %s, started %s: %d of %s message(s) done, %s\n", sw.ID, stamp(&sw.StartedAt), sw.Done, of, state)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ACCOUNT\tPAGE\tSTATUS\tATTEMPTS\tCHANGES\tFAILED\tRUN ID\tDETAIL\n")
	for _, p := range parts {
		run := p.RunID
		if run == "" {
			run = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%s\t%s\n", p.Account, p.Page, p.Status, p.Attempts, p.Changes, p.Failures, run, oneLine(p.Detail))
	}
	return tw.Flush()
}

func checkFormat(format string) error {
	switch format {
	case "json", "table", "":
		return nil
	}
	return iamprune.Errorf(iamprune.EINVALID, "unknown output format %q (want table or json)", format)
}
