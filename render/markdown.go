package render

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// Markdown writes the plan as GitHub-flavoured Markdown, for a pull-request
// or ticket comment: a summary, a table per principal, the warnings and a
// note on what each kind means.
type Markdown struct{}

var _ Renderer = Markdown{}

// Render implements Renderer.
func (Markdown) Render(w io.Writer, p *iamprune.Plan) error {
	ew := &errWriter{w: w}
	heading := "## iamprune plan"
	if acct := account(p); acct != "" {
		heading += " for account " + codeSpan(acct)
	}
	ew.printf("%s\n\n", heading)
	var meta []string
	if !p.GeneratedAt.IsZero() {
		meta = append(meta, "Generated "+p.GeneratedAt.UTC().Format(time.RFC3339))
	}
	if p.Source != "" {
		meta = append(meta, "from "+codeSpan(p.Source))
	}
	if len(meta) > 0 {
		ew.printf("%s.\n\n", strings.Join(meta, " "))
	}

	if len(p.Actions) == 0 {
		ew.printf("%s (%d %s read)\n", emptyPlanMessage, p.Findings, plural(p.Findings, "finding", "findings"))
	} else {
		ew.printf("**Plan:** %s.\n", escapeText(summary(p)))
		if b := remediationBreakdown(p); b != "" {
			ew.printf("\nRemediations: %s.\n", escapeText(b))
		}
		for _, g := range groupByPrincipal(p) {
			ew.printf("\n### %s\n\n", codeSpan(g.Principal))
			ew.printf("| Kind | Target | Services | Unused | Remediate on | Reason |\n")
			ew.printf("|---|---|---|---|---|---|\n")
			for _, a := range g.Actions {
				ew.printf("| %s | %s | %s | %s | %s | %s |\n",
					cell(codeSpan(string(a.Kind))),
					cell(codeOrDash(a.Target)),
					cell(servicesMarkdown(a.Services)),
					cell(dashText(unusedCell(a))),
					cell(dashText(a.RemediateOn)),
					cell(dashText(reasonCell(a))))
			}
			for _, a := range g.Actions {
				policiesMarkdown(ew, a)
			}
		}
	}
	if len(p.Warnings) > 0 {
		ew.printf("\n### Warnings\n\n")
		for _, wn := range p.Warnings {
			ew.printf("- %s: %s\n", codeSpan(oneLine(wn.Source)), escapeText(oneLine(wn.Message)))
		}
	}
	if len(p.Actions) > 0 {
		ew.printf("\n%s", kindsNote)
	}
	if ew.err != nil {
		return errWrap("markdown", ew.err)
	}
	return nil
}

const kindsNote = `<details>
<summary>What the kinds mean</summary>

- ` + "`notify`" + `: unused past the notify threshold; the owner is told when remediation will happen.
- ` + "`deactivate-access-key`, `delete-access-key`, `delete-login-profile`, `quarantine-role`, `deny-unused-services`" + `: remediations that change IAM when the plan is applied; each can be rolled back.
- ` + "`rewrite-policy`" + `: the principal's own policies are rewritten down to what is used (the diffs show exactly how); rolled back by restoring the previous documents, versions and attachments.
- ` + "`propose-policy`" + `: the same refinement, proposed as a pull request against the infrastructure code instead of changing IAM.
- ` + "`exempt`" + `: an unexpired exception covers it.
- ` + "`protected`" + `: a principal iamprune never touches (service-linked, Identity Center, organisation access, the caller, or a configured pattern).
- ` + "`skip`" + `: the finding is not active, or the principal or key no longer exists.

To ask for an exception, open a pull request against the exceptions file.
</details>
`

// servicesMarkdown is the services cell with each namespace as code.
func servicesMarkdown(s []string) string {
	if len(s) == 0 {
		return "—"
	}
	shown := s
	more := ""
	if len(s) > maxServices {
		shown = s[:shownServices]
		more = ", +" + strconv.Itoa(len(s)-shownServices) + " more"
	}
	parts := make([]string, len(shown))
	for i, ns := range shown {
		parts[i] = codeSpan(ns)
	}
	return strings.Join(parts, ", ") + more
}

func codeOrDash(s string) string {
	if s == "" {
		return "—"
	}
	return codeSpan(s)
}

func dashText(s string) string {
	if s == "" {
		return "—"
	}
	return escapeText(s)
}

// cell makes inline Markdown safe inside a table cell. GFM splits cells on
// | before any inline parsing, even inside code spans, so every | is escaped
// (an escaped \| inside a code span renders as |).
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

// markdownSpecial are the characters escapeText backslash-escapes so that
// free text (reasons, glob patterns such as BreakGlass*) renders literally.
// | is left to cell, which escapes it where it matters.
const markdownSpecial = "\\`*_[]<>#~!&"

// escapeText backslash-escapes Markdown punctuation in free text.
func escapeText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		if strings.ContainsRune(markdownSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// codeSpan wraps s in a code span whose backtick fence is longer than any
// run of backticks inside it, padding with spaces when s starts or ends with
// a backtick (CommonMark strips one such space on each side).
func codeSpan(s string) string {
	s = oneLine(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
