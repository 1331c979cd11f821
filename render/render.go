// Package render writes a plan for people and programs. Every format is
// rendered from the same iamprune.Plan value, so what a reviewer reads is
// exactly what apply will do.
//
// It imports the root, policy (diffs), archive and exceptions (the types of
// their reports); app, demo and cmd import it.
package render

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/iamprune/iamprune"
)

// Renderer writes a plan in one output format.
type Renderer interface {
	Render(w io.Writer, p *iamprune.Plan) error
}

// Names lists the output formats ByName knows, the default first.
var Names = []string{"table", "json", "markdown", "csv", "ocsf", "asff"}

// ByName returns the renderer for an output format name. The empty name
// selects the default, table.
func ByName(name string) (Renderer, error) { return ByNameWith(name, Options{}) }

// ByNameWith is ByName with the options the exports use.
func ByNameWith(name string, o Options) (Renderer, error) {
	switch name {
	case "csv":
		return CSV{}, nil
	case "ocsf":
		return OCSF{Options: o}, nil
	case "asff":
		return ASFF{Options: o}, nil
	case "table", "":
		return Table{}, nil
	case "json":
		return JSON{}, nil
	case "markdown":
		return Markdown{}, nil
	}
	return nil, iamprune.Errorf(iamprune.EINVALID, "unknown output format %q (want table, json, markdown, csv, ocsf or asff)", name)
}

// kindRank orders kinds for people: what changes IAM first, then what
// someone must act on, then what was deliberately left alone.
func kindRank(k iamprune.ActionKind) int {
	switch {
	case k.IsRemediation():
		return 0
	case k == iamprune.KindNotify:
		return 1
	case k == iamprune.KindExempt:
		return 2
	case k == iamprune.KindProtected:
		return 3
	case k == iamprune.KindSkip:
		return 4
	}
	return 5
}

// group is the actions of one principal, most urgent first.
type group struct {
	Principal string
	Actions   []iamprune.Action
}

// groupByPrincipal groups actions by principal. Groups are ordered by their
// most urgent action, then by ARN; within a group actions keep plan order
// inside each kind rank. The plan itself is not modified.
func groupByPrincipal(p *iamprune.Plan) []group {
	idx := map[string]int{}
	var gs []group
	for _, a := range p.Actions {
		i, ok := idx[a.Principal]
		if !ok {
			i = len(gs)
			idx[a.Principal] = i
			gs = append(gs, group{Principal: a.Principal})
		}
		gs[i].Actions = append(gs[i].Actions, a)
	}
	for _, g := range gs {
		sort.SliceStable(g.Actions, func(i, j int) bool {
			return kindRank(g.Actions[i].Kind) < kindRank(g.Actions[j].Kind)
		})
	}
	sort.SliceStable(gs, func(i, j int) bool {
		ri, rj := kindRank(gs[i].Actions[0].Kind), kindRank(gs[j].Actions[0].Kind)
		if ri != rj {
			return ri < rj
		}
		return gs[i].Principal < gs[j].Principal
	})
	return gs
}

// summary is the one-line count of a plan, shared by table and markdown.
func summary(p *iamprune.Plan) string {
	c := p.Counts()
	done := 0
	for _, a := range p.Actions {
		if a.Kind.IsRemediation() && a.Done != nil {
			done++
		}
	}
	remediate := fmt.Sprintf("%d to remediate", p.Remediations()-done)
	if done > 0 {
		remediate += fmt.Sprintf(" (%d more already done)", done)
	}
	if n := c[iamprune.KindProposePolicy]; n > 0 {
		remediate += fmt.Sprintf(", %d to propose as a pull request", n)
	}
	return fmt.Sprintf("%s, %d to notify, %d exempt, %d protected, %d skipped (%d %s read)",
		remediate, c[iamprune.KindNotify], c[iamprune.KindExempt], c[iamprune.KindProtected], c[iamprune.KindSkip],
		p.Findings, plural(p.Findings, "finding", "findings"))
}

// remediationBreakdown counts remediations per kind, like the summary's
// headline: those to do, e.g. "1 deactivate-access-key, 2
// delete-login-profile", then those already done, if any; "" when there are
// none.
func remediationBreakdown(p *iamprune.Plan) string {
	todo, done := map[iamprune.ActionKind]int{}, map[iamprune.ActionKind]int{}
	for _, a := range p.Actions {
		switch {
		case !a.Kind.IsRemediation():
		case a.Done != nil:
			done[a.Kind]++
		default:
			todo[a.Kind]++
		}
	}
	out := byKind(todo)
	if len(done) > 0 {
		if out != "" {
			out += "; "
		}
		out += "already done: " + byKind(done)
	}
	return out
}

// byKind renders counts as "N kind" in kind order.
func byKind(c map[iamprune.ActionKind]int) string {
	var kinds []string
	for k := range c {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", c[iamprune.ActionKind(k)], k)
	}
	return strings.Join(parts, ", ")
}

const emptyPlanMessage = "No action: no finding is past its notify threshold."

// account names the plan's account, falling back to the actions' accounts.
func account(p *iamprune.Plan) string {
	if p.Account != "" {
		return p.Account
	}
	for _, a := range p.Actions {
		if a.Account != "" {
			return a.Account
		}
	}
	return ""
}

// maxServices is how many services a cell lists before abbreviating, and
// shownServices how many it then keeps.
const (
	maxServices   = 4
	shownServices = 2
)

// servicesCell lists services, abbreviated as "ec2, s3, +3 more" beyond
// maxServices; "" when there are none.
func servicesCell(s []string) string {
	if len(s) > maxServices {
		return strings.Join(s[:shownServices], ", ") + fmt.Sprintf(", +%d more", len(s)-shownServices)
	}
	return strings.Join(s, ", ")
}

// unusedCell is "272d", or "" for skip entries whose age is unknown.
func unusedCell(a iamprune.Action) string {
	if a.Kind == iamprune.KindSkip && a.UnusedDays == 0 {
		return ""
	}
	return fmt.Sprintf("%dd", a.UnusedDays)
}

// reasonCell is the reason, with the matching exception appended when the
// reason does not already name it.
func reasonCell(a iamprune.Action) string {
	r := a.Reason
	if n := recommendationNote(a.Recommendation); n != "" {
		r += "; " + n
	}
	if a.Exception == "" || strings.Contains(r, a.Exception) {
		return r
	}
	ex := "exception " + a.Exception
	if a.ExceptionExpires != "" {
		ex += ", expires " + a.ExceptionExpires
	}
	if r == "" {
		return ex
	}
	return r + " [" + ex + "]"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// errWriter remembers the first write error so renderers can write freely
// and check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func errWrap(format string, err error) error {
	return fmt.Errorf("render: cannot write plan as %s: %w", format, err)
}
