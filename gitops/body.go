package gitops

import (
	"fmt"
	"sort"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// MaxBodyLen is GitHub's limit on a pull request body (characters; bytes
// are counted here, which is never more lenient).
const MaxBodyLen = 65536

// bodyMargin keeps clear of the limit for truncation notes.
const bodyMargin = 1024

type bodyPolicy struct {
	fc       FileChange
	evidence string
	diff     string   // unified diff Before → After[0] (or → nothing)
	extra    []string // pretty After[1:]
}

// renderBody writes the pull request body: summary, what needs a person,
// each policy's evidence and diff, how to reject, and the plan. Diffs and
// the plan are truncated (with a note) to stay under GitHub's limit; the
// evidence is the last thing cut, and its header never is.
func renderBody(req Request, res *Result, _ string, cfg iamprune.Propose) string {
	var ps []bodyPolicy
	for _, f := range res.Files {
		bp := bodyPolicy{fc: f, evidence: strings.TrimSpace(f.change.Evidence)}
		before := pretty(f.change.Before)
		after := ""
		if len(f.change.After) > 0 {
			after = pretty(f.change.After[0])
		}
		bp.diff = policy.UnifiedDiff("before/"+f.Name, "after/"+f.Name, []byte(before), []byte(after))
		for _, a := range f.change.After[min(1, len(f.change.After)):] {
			bp.extra = append(bp.extra, pretty(a))
		}
		ps = append(ps, bp)
	}
	plan := strings.TrimSpace(req.PlanMarkdown)

	build := func(diffCap, evCap, planCap []int) string {
		return buildBody(req, res, cfg, ps, plan, diffCap, evCap, planCap)
	}
	none := func(n int) []int {
		c := make([]int, n)
		for i := range c {
			c[i] = -1
		}
		return c
	}
	zero := func(n int) []int { return make([]int, n) }
	limit := MaxBodyLen - bodyMargin
	// Truncatable blocks: each policy's diff with its extra documents.
	blocks := make([]int, len(ps))
	for i, p := range ps {
		blocks[i] = len(p.diff)
		for _, e := range p.extra {
			blocks[i] += len(e)
		}
	}
	full := build(none(len(ps)), none(len(ps)), []int{-1})
	if len(full) <= limit {
		return full
	}
	fixed := build(zero(len(ps)), none(len(ps)), []int{0})
	avail := limit - len(fixed)
	if avail > 0 {
		sumDiff := 0
		for _, b := range blocks {
			sumDiff += b
		}
		diffBudget := min(sumDiff, max(avail-len(plan), avail*3/4))
		return build(fairShares(blocks, diffBudget), none(len(ps)), []int{avail - diffBudget})
	}
	// Even the evidence alone is too long: share what is left among it.
	evs := make([]int, len(ps))
	for i, p := range ps {
		evs[i] = len(p.evidence)
	}
	bare := build(zero(len(ps)), zero(len(ps)), []int{0})
	out := build(zero(len(ps)), fairShares(evs, max(0, limit-len(bare))), []int{0})
	if len(out) > MaxBodyLen {
		out = cut(out, MaxBodyLen-200, "\n\n… body truncated to GitHub's limit.\n")
	}
	return out
}

// fairShares divides budget among items of the given sizes: small items
// get all they need, the rest share equally (water filling).
func fairShares(sizes []int, budget int) []int {
	idx := make([]int, len(sizes))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return sizes[idx[a]] < sizes[idx[b]] })
	out := make([]int, len(sizes))
	left := budget
	for k, i := range idx {
		share := left / (len(idx) - k)
		out[i] = min(sizes[i], share)
		left -= out[i]
	}
	return out
}

// cut shortens s to at most n bytes at a line boundary, adding note.
func cut(s string, n int, note string) string {
	if n < 0 || len(s) <= n {
		return s
	}
	keep := max(0, n-len(note))
	t := s[:keep]
	if i := strings.LastIndexByte(t, '\n'); i >= 0 {
		t = t[:i+1]
	} else {
		t = ""
	}
	return t + note
}

func pretty(raw []byte) string {
	d, err := policy.Parse(raw)
	if err != nil {
		return string(raw) + "\n"
	}
	b, err := policy.Marshal(d)
	if err != nil {
		return string(raw) + "\n"
	}
	return string(b) + "\n"
}

func fileLoc(f FileChange) string {
	if f.Pointer == "" {
		return "`" + f.Path + "`"
	}
	return "`" + f.Path + "` (`" + f.Pointer + "`)"
}

func buildBody(req Request, res *Result, cfg iamprune.Propose, ps []bodyPolicy, plan string, diffCap, evCap, planCap []int) string {
	var b strings.Builder
	writeOverview(&b, req, res, cfg, ps)
	writeTodo(&b, res, ps)
	writePolicyChanges(&b, ps, diffCap, evCap)

	b.WriteString("### How to reject this change\n\n")
	b.WriteString("- **Close this pull request.** iamprune does not reopen a closed proposal; it proposes again only when its refinement changes (for example when more permissions age out).\n")
	b.WriteString("- **To keep these permissions for good**, add an exception for the principal (optionally only for the services that must stay) through the exceptions pull-request workflow: see iamprune's `docs/exceptions.md`. Once it is merged, iamprune stops proposing their removal.\n")
	b.WriteString("- Do not push commits to this branch: iamprune adds each run's proposals to it and stops updating it once it holds commits of others. Merge, then change the code as usual.\n\n")

	if plan != "" && planCap[0] != 0 {
		b.WriteString("<details><summary>The plan this proposal comes from</summary>\n\n")
		b.WriteString(cut(plan, planCap[0], "\n\n_… plan truncated to fit GitHub's size limit._"))
		b.WriteString("\n\n</details>\n")
	}
	return b.String()
}

// writeOverview writes the heading, the counts and the table of policies,
// with those earlier runs put on the branch.
func writeOverview(b *strings.Builder, req Request, res *Result, cfg iamprune.Propose, ps []bodyPolicy) {
	written, paths := 0, map[string]bool{}
	for _, p := range ps {
		if p.fc.Status == StatusWritten {
			written++
			paths[p.fc.Path] = true
		}
	}
	fmt.Fprintf(b, "## Least-privilege proposal for AWS account %s\n\n", req.Account)
	b.WriteString("IAM Access Analyzer found permissions that the principals below were granted but did not use. " +
		"iamprune narrowed their policies to what was used, in the code that defines them. " +
		"**Nothing in AWS has changed**: when this pull request is merged, your normal deployment applies it.\n\n")
	fmt.Fprintf(b, "%d %s refined in %d %s", written, plural(written, "policy", "policies"), len(paths), plural(len(paths), "file", "files"))
	if req.RunID != "" {
		fmt.Fprintf(b, " · iamprune run `%s`", req.RunID)
	}
	fmt.Fprintf(b, " · branch `%s` → `%s`\n\n", res.Branch, cfg.Base)

	b.WriteString("| Principal | Policy | File | Result |\n|---|---|---|---|\n")
	for _, p := range ps {
		r := map[string]string{
			StatusWritten:      "refined",
			StatusUnchanged:    "already refined",
			StatusRemoveByHand: "**remove by hand**",
		}[p.fc.Status]
		if p.fc.ExtraParts > 0 {
			r += fmt.Sprintf(", **+%d new %s needed**", p.fc.ExtraParts, plural(p.fc.ExtraParts, "policy", "policies"))
		}
		fmt.Fprintf(b, "| `%s` | `%s` | %s | %s |\n", p.fc.Principal, p.fc.Name, fileLoc(p.fc), r)
	}
	b.WriteString("\n")
	if len(res.earlier) > 0 {
		b.WriteString("### Also on this branch\n\nEarlier iamprune runs proposed these refinements too; the Files tab shows their diffs, and the branch's commit messages name each run.\n\n")
		b.WriteString("| Principal | Policy | File |\n|---|---|---|\n")
		for _, e := range res.earlier {
			fmt.Fprintf(b, "| `%s` | `%s` | `%s` |\n", e.Principal, e.Name, e.Loc)
		}
		b.WriteString("\n")
	}
}

// writeTodo lists what a person must do besides merging.
func writeTodo(b *strings.Builder, res *Result, ps []bodyPolicy) {
	var todo []string
	for _, p := range ps {
		f := p.fc
		if f.Status == StatusRemoveByHand {
			todo = append(todo, fmt.Sprintf("`%s` of `%s` grants nothing that was used: remove it by hand from %s. "+
				"iamprune does not delete resources or files, because other code may refer to them.", f.Name, f.Principal, fileLoc(f)))
		}
		if f.ExtraParts > 0 {
			todo = append(todo, fmt.Sprintf("The refined `%s` of `%s` is larger than IAM allows for one policy and was split into %d documents. "+
				"This pull request writes the first into %s; create %d new customer-managed %s with the additional %s shown below and attach %s to the principal, "+
				"or the principal loses the permissions they hold.", f.Name, f.Principal, f.ExtraParts+1, fileLoc(f), f.ExtraParts,
				plural(f.ExtraParts, "policy", "policies"), plural(f.ExtraParts, "document", "documents"), plural(f.ExtraParts, "it", "them")))
		}
	}
	for _, u := range res.Unmapped {
		todo = append(todo, fmt.Sprintf("Not in this pull request: `%s` of `%s`: %s.", u.Policy, u.Principal, u.Why))
	}
	if len(todo) > 0 {
		b.WriteString("### Needs a person\n\n")
		for _, t := range todo {
			b.WriteString("- " + t + "\n")
		}
		b.WriteString("\n")
	}
}

// writePolicyChanges writes each policy's evidence and diff, cut to their
// caps (-1: no cap; 0: omitted).
func writePolicyChanges(b *strings.Builder, ps []bodyPolicy, diffCap, evCap []int) {
	b.WriteString("### Policy changes\n\n")
	for i, p := range ps {
		fmt.Fprintf(b, "#### `%s` of `%s`\n\n%s (%s, mapped by %s)\n\n", p.fc.Name, p.fc.Principal, fileLoc(p.fc), p.fc.Form, p.fc.MappedBy)
		b.WriteString("**Evidence**\n\n")
		ev := p.evidence
		if ev == "" {
			ev = "_The plan gives no evidence for this policy._"
		}
		b.WriteString(cut(ev, evCap[i], "\n\n_… evidence truncated to fit GitHub's size limit; the full text is in the plan (`iamprune plan -o markdown`)._") + "\n\n")
		rest := diffCap[i]
		if rest != 0 {
			d := cut(p.diff, rest, "… diff truncated to fit GitHub's size limit; see the Files tab.\n")
			fmt.Fprintf(b, "```diff\n%s```\n\n", d)
			if rest > 0 {
				rest = max(0, rest-len(d))
			}
			for k, e := range p.extra {
				if rest == 0 {
					fmt.Fprintf(b, "_Additional document %d of %d omitted: it did not fit GitHub's size limit; get it from `iamprune plan -o json`._\n\n", k+2, len(p.extra)+1)
					continue
				}
				x := cut(e, rest, "… truncated; get the whole document from `iamprune plan -o json`.\n")
				fmt.Fprintf(b, "Additional document %d of %d (a new policy):\n\n```json\n%s```\n\n", k+2, len(p.extra)+1, x)
				if rest > 0 {
					rest = max(0, rest-len(x))
				}
			}
		} else {
			b.WriteString("_Diff omitted to fit GitHub's size limit; see the Files tab._\n\n")
		}
	}
}
