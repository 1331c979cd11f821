package policy

import (
	"fmt"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// UnifiedDiff returns a unified diff (three lines of context) from a to b,
// headed "--- aName" and "+++ bName", or "" when they are equal. It is a
// plain line diff, for showing a refinement to a reviewer; it does not mark
// a missing final newline.
func UnifiedDiff(aName, bName string, a, b []byte) string {
	ops := diffLines(splitLines(string(a)), splitLines(string(b)))
	const context = 3
	var out strings.Builder
	i := 0
	for i < len(ops) {
		// Find the next change, then grow the hunk while changes are
		// within 2*context lines of each other.
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(0, i-context)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j + 1
			} else if j-end >= 2*context {
				break
			}
		}
		end = min(len(ops), end+context)
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
		}
		writeHunk(&out, ops, start, end)
		i = end
	}
	return out.String()
}

type diffOp struct {
	kind byte // ' ', '-' or '+'
	line string
	a, b int // 0-based line numbers before this op in a and b
}

func writeHunk(out *strings.Builder, ops []diffOp, start, end int) {
	var na, nb int
	for _, o := range ops[start:end] {
		if o.kind != '+' {
			na++
		}
		if o.kind != '-' {
			nb++
		}
	}
	fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(ops[start].a, na), hunkRange(ops[start].b, nb))
	for _, o := range ops[start:end] {
		out.WriteByte(o.kind)
		out.WriteString(o.line)
		out.WriteByte('\n')
	}
}

// hunkRange formats a range as GNU diff does: "3" for one line, "3,4",
// and "2,0" (the line before) for none.
func hunkRange(before, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", before)
	case 1:
		return fmt.Sprintf("%d", before+1)
	}
	return fmt.Sprintf("%d,%d", before+1, n)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffLines diffs two line lists with diffmatchpatch's line mode (Myers'
// algorithm, no time limit; go-git's line diff is the same). Every line is
// given a final newline first, so that a missing one at the end of either
// text is no difference.
func diffLines(a, b []string) []diffOp {
	join := func(ls []string) string {
		if len(ls) == 0 {
			return ""
		}
		return strings.Join(ls, "\n") + "\n"
	}
	kinds := map[diffmatchpatch.Operation]byte{diffmatchpatch.DiffEqual: ' ', diffmatchpatch.DiffDelete: '-', diffmatchpatch.DiffInsert: '+'}
	var ops []diffOp
	ai, bi := 0, 0
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	ra, rb, lines := dmp.DiffLinesToRunes(join(a), join(b))
	for _, d := range dmp.DiffCharsToLines(dmp.DiffMainRunes(ra, rb, false), lines) {
		kind := kinds[d.Type]
		for _, l := range splitLines(d.Text) {
			ops = append(ops, diffOp{kind: kind, line: l, a: ai, b: bi})
			if kind != '+' {
				ai++
			}
			if kind != '-' {
				bi++
			}
		}
	}
	return ops
}
