package policy

import (
	"fmt"
	"strings"
	"time"
)

// Report says what Refine changed, statement by statement, with the
// evidence: the last access of everything it removed. It is meant for
// review, as in a pull-request body.
type Report struct {
	Now           time.Time
	OlderThanDays int
	// Statements lists the changed statements only, in document order.
	Statements []StatementReport
}

// StatementReport is what happened to one Allow statement.
type StatementReport struct {
	Index int    // position in the input document
	Sid   string // "" when it has none
	// Dropped: nothing the statement granted is used, so it was removed.
	Dropped bool
	// FromNotAction: a NotAction statement became an explicit Action list.
	FromNotAction bool
	// Entries are the Action (or NotAction) entries that were removed,
	// expanded or converted.
	Entries []EntryChange
	// Added are the entries written in their place: used actions and
	// re-compressed "svc:Prefix*" wildcards.
	Added []string
	// Removed is the unused access taken away, by service.
	Removed []ServiceRemoval
}

// EntryChange is one policy entry that did not survive as written.
type EntryChange struct {
	Entry  string // as written in the policy
	Change string // ChangeRemoved, ChangeExpanded or ChangeConverted
}

// Entry changes.
const (
	ChangeRemoved   = "removed"   // it granted nothing used
	ChangeExpanded  = "expanded"  // replaced by the used actions it granted
	ChangeConverted = "converted" // a NotAction entry, replaced by used actions
)

// ServiceRemoval is the unused access removed within one service.
type ServiceRemoval struct {
	Service string
	// LastAccessed is when anything in the service was last used; nil when
	// never, or when the usage data does not know the service.
	LastAccessed *time.Time
	Actions      []RemovedAction
}

// RemovedAction is one removed action with the last access it was judged by.
type RemovedAction struct {
	Action       string
	LastAccessed *time.Time // nil: never used
	// Tracked: the date is the action's own (AWS tracks this action);
	// otherwise it is the service's.
	Tracked bool
}

// Changed reports whether Refine changed anything.
func (r Report) Changed() bool { return len(r.Statements) > 0 }

// maxListed caps the actions and services listed one per line in
// Markdown; the rest are summed up, so that a removed "*" or NotAction
// does not produce thousands of lines.
const maxListed = 20

// Markdown renders the report for a pull-request body. Services judged as a
// whole (no action-level data) take one line each; tracked actions are
// listed with their own dates.
func (r Report) Markdown() string {
	var b strings.Builder
	if !r.Changed() {
		fmt.Fprintf(&b, "No change: everything the policy allows was used within %d days of %s.\n", r.OlderThanDays, r.Now.Format(time.DateOnly))
		return b.String()
	}
	fmt.Fprintf(&b, "Access unused for %d days or more before %s was removed.\n", r.OlderThanDays, r.Now.Format(time.DateOnly))
	for _, s := range r.Statements {
		name := fmt.Sprintf("Statement[%d]", s.Index)
		if s.Sid != "" {
			name += fmt.Sprintf(" `%s`", s.Sid)
		}
		switch {
		case s.Dropped:
			fmt.Fprintf(&b, "\n### %s: removed, nothing it allows was used\n\n", name)
		case s.FromNotAction:
			fmt.Fprintf(&b, "\n### %s: NotAction replaced by the used actions\n\n", name)
		default:
			fmt.Fprintf(&b, "\n### %s: narrowed\n\n", name)
		}
		for _, e := range s.Entries {
			// Removed literals show below, with their evidence.
			if IsWildcard(e.Entry) || e.Change != ChangeRemoved {
				fmt.Fprintf(&b, "- `%s` %s\n", e.Entry, e.Change)
			}
		}
		if len(s.Added) > 0 {
			fmt.Fprintf(&b, "- %d %s in their place: %s\n", len(s.Added), plural(len(s.Added), "entry", "entries"), codeList(s.Added))
		}
		r.writeRemovals(&b, s.Removed)
	}
	return b.String()
}

// writeRemovals lists services with tracked actions first, each action with
// its date, then services judged as a whole, summing up those beyond
// maxListed in one line.
func (r Report) writeRemovals(b *strings.Builder, removed []ServiceRemoval) {
	var whole []ServiceRemoval
	for _, sv := range removed {
		var tracked []RemovedAction
		for _, a := range sv.Actions {
			if a.Tracked {
				tracked = append(tracked, a)
			}
		}
		if len(tracked) == 0 {
			whole = append(whole, sv)
			continue
		}
		r.writeService(b, sv)
		for i, a := range tracked {
			if i == maxListed {
				fmt.Fprintf(b, "  - and %d more tracked %s\n", len(tracked)-maxListed, plural(len(tracked)-maxListed, "action", "actions"))
				break
			}
			fmt.Fprintf(b, "  - `%s`, %s\n", a.Action, r.when(a.LastAccessed))
		}
	}
	for i, sv := range whole {
		if i == maxListed {
			var rest []string
			for _, sv := range whole[i:] {
				rest = append(rest, sv.Service)
			}
			fmt.Fprintf(b, "- %d more %s, each unused as a whole: %s\n", len(rest), plural(len(rest), "service", "services"), codeList(rest))
			break
		}
		r.writeService(b, sv)
	}
}

func (r Report) writeService(b *strings.Builder, sv ServiceRemoval) {
	n := len(sv.Actions)
	fmt.Fprintf(b, "- `%s`, %s: %d %s removed\n", sv.Service, r.when(sv.LastAccessed), n, plural(n, "action", "actions"))
}

func codeList(xs []string) string {
	return "`" + strings.Join(xs, "`, `") + "`"
}

func (r Report) when(t *time.Time) string {
	if t == nil {
		return "never used"
	}
	return fmt.Sprintf("last accessed %s (%d days ago)", t.Format(time.DateOnly), int(r.Now.Sub(*t)/day))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
