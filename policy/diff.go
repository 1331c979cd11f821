package policy

import (
	"fmt"
	"strings"
)

// UnifiedDiff returns a unified diff (three lines of context) from a to b,
// headed "--- aName" and "+++ bName", or "" when they are equal. It is a
// plain line diff (Myers' algorithm), for showing a refinement to a
// reviewer; it does not mark a missing final newline.
func UnifiedDiff(aName, bName string, a, b []byte) string {
	al, bl := splitLines(string(a)), splitLines(string(b))
	ops := diffLines(al, bl)
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

// diffLines is Myers' O(ND) diff. It keeps, per edit distance d, only the
// diagonals d can reach, so memory grows with d², not with d·(N+M).
func diffLines(a, b []string) []diffOp {
	n, m := len(a), len(b)
	total := n + m
	off := total + 1
	v := make([]int, 2*total+3)
	var trace [][]int
	found := false
	for d := 0; d <= total && !found; d++ {
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				found = true
				break
			}
		}
	}
	// Walk back from (n, m), collecting ops in reverse.
	var rev []diffOp
	x, y := n, m
	for d := len(trace) - 1; d >= 0; d-- {
		tv := trace[d]
		at := func(k int) int { return tv[k+d+1] }
		k := x - y
		var prevK int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := at(prevK)
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			rev = append(rev, diffOp{kind: ' ', line: a[x-1]})
			x, y = x-1, y-1
		}
		if d > 0 {
			if x == prevX {
				rev = append(rev, diffOp{kind: '+', line: b[y-1]})
			} else {
				rev = append(rev, diffOp{kind: '-', line: a[x-1]})
			}
		}
		x, y = prevX, prevY
	}
	ops := make([]diffOp, 0, len(rev))
	ai, bi := 0, 0
	for i := len(rev) - 1; i >= 0; i-- {
		o := rev[i]
		o.a, o.b = ai, bi
		if o.kind != '+' {
			ai++
		}
		if o.kind != '-' {
			bi++
		}
		ops = append(ops, o)
	}
	return ops
}
