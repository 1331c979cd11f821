package render

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/iamprune/iamprune/archive"
	"github.com/iamprune/iamprune/exceptions"
)

// SyncText writes what 'exceptions sync' changes: the archive rules to
// create, update and delete with their ARNs, the findings set back to
// ACTIVE, the publishing, the notes and the rules left alone.
func SyncText(w io.Writer, rep *SyncReport) {
	fmt.Fprintf(w, "%s -> archive rules of %s\n", rep.Exceptions, rep.Analyzer)
	if len(rep.Create)+len(rep.Update)+len(rep.Delete) == 0 {
		fmt.Fprintf(w, "  up to date (%s)\n", CountOf(rep.Kept, "iamprune rule"))
	}
	for _, r := range rep.Create {
		fmt.Fprintf(w, "  create %s (%s)\n", r.Name, ruleTypes(r))
		writeARNs(w, "+", resources(r), nil)
	}
	for _, r := range rep.Update {
		fmt.Fprintf(w, "  update %s (%s)\n", r.Name, ruleTypes(r))
		old := resources(rep.Existing[r.Name])
		writeARNs(w, "+", resources(r), old)
		writeARNs(w, "-", old, resources(r))
	}
	for _, r := range rep.Delete {
		fmt.Fprintf(w, "  delete %s (%s)\n", r.Name, ruleTypes(r))
		writeARNs(w, "-", resources(r), nil)
	}
	syncRest(w, rep)
}

func syncRest(w io.Writer, rep *SyncReport) {
	if len(rep.Released) > 0 {
		fmt.Fprintln(w, "findings to set back to ACTIVE (only deleted or narrowed rules covered them):")
		for _, f := range rep.Released {
			fmt.Fprintf(w, "  %s  %s  %s\n", f.ID, f.Type, f.Resource)
		}
	}
	if p := rep.Publish; p != nil {
		state := "up to date"
		if p.Changed {
			state = "changed, to be written"
		}
		fmt.Fprintf(w, "publish %s: %s\n", p.Target, state)
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintln(w, "notes:")
		for _, n := range rep.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if len(rep.Foreign) > 0 {
		fmt.Fprintf(w, "rules that are not iamprune's, left alone: %s\n", strings.Join(rep.Foreign, ", "))
	}
}

// SyncEnd closes a sync that changed nothing (with the diff) or applied
// its changes.
func SyncEnd(w io.Writer, rep *SyncReport) error {
	if !rep.Applied {
		SyncText(w, rep)
		_, err := fmt.Fprintln(w, "\nno changes: the analyzer and the published list match "+rep.Exceptions)
		return err
	}
	parts := []string{fmt.Sprintf("created %d, updated %d and deleted %d archive rule(s)", len(rep.Create), len(rep.Update), len(rep.Delete))}
	if len(rep.Unarchive) > 0 {
		parts = append(parts, fmt.Sprintf("set %d finding(s) back to ACTIVE", len(rep.Unarchive)))
	}
	if p := rep.Publish; p != nil && p.Changed {
		parts = append(parts, "published "+p.Target)
	}
	_, err := fmt.Fprintf(w, "\napplied: %s\n", strings.Join(parts, "; "))
	return err
}

// writeARNs prints the ARNs of arns that are not in except.
func writeARNs(w io.Writer, sign string, arns, except []string) {
	for _, a := range arns {
		if !slices.Contains(except, a) {
			fmt.Fprintf(w, "    %s %s\n", sign, a)
		}
	}
}

func resources(r archive.Rule) []string { return r.Filter[archive.KeyResource].Eq }

func ruleTypes(r archive.Rule) string {
	if ts := r.Filter[archive.KeyFindingType].Eq; len(ts) > 0 {
		return strings.Join(ts, ", ")
	}
	return "all finding types"
}

// SyncProblems reports the problems that keep a file from being synced.
func SyncProblems(w io.Writer, path string, probs []exceptions.Problem) {
	for _, p := range probs {
		fmt.Fprintln(w, p.String())
	}
	fmt.Fprintf(w, "%s in %s: nothing synced; fix the file ('iamprune exceptions check %s') and sync again\n", CountOf(len(probs), "problem"), path, path)
}
