package policy

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/iamprune/iamprune"
)

// IAM's policy size quotas, in characters not counting whitespace.
const (
	// LimitInlineRole is the aggregate of all inline policies of a role.
	LimitInlineRole = 10240
	// LimitInlineUser is the aggregate of all inline policies of a user.
	LimitInlineUser = 2048
	// LimitInlineGroup is the aggregate of all inline policies of a group.
	LimitInlineGroup = 5120
	// LimitManaged is one customer-managed policy version.
	LimitManaged = 6144
)

// Size is the size IAM charges d against its quotas: the characters of the
// document without whitespace. Whitespace inside strings is not counted
// either, as IAM does not count it anywhere.
func Size(d Document) int {
	c, err := compactDoc(d)
	if err != nil {
		// An invalid Condition cannot be sent to IAM at all; count it as
		// too large for any quota rather than as small.
		return int(^uint(0) >> 1)
	}
	return countNonSpace(string(c))
}

func countNonSpace(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// Split packs d's statements, in order, into as few documents as fit limit
// each (first fit, so that the order is kept within each document). A
// statement too large on its own is cut into several with parts of its
// Action list; attached together, the documents allow and deny exactly
// what d does. A single statement that still cannot fit (one huge action,
// resource list or condition, or a NotAction statement, whose list cannot be
// cut without broadening it) is an EINVALID error.
func Split(d Document, limit int) ([]Document, error) {
	if Size(d) <= limit {
		return []Document{d.Clone()}, nil
	}
	envelope := func(ss ...Statement) Document {
		return Document{Version: d.Version, ID: d.ID, Statement: ss}
	}
	sids := map[string]bool{}
	for _, s := range d.Statement {
		sids[s.Sid] = true
	}
	var parts []Statement
	for i, s := range d.Statement {
		if Size(envelope(s)) <= limit {
			parts = append(parts, s.Clone())
			continue
		}
		chunks, err := cutStatement(s, limit, envelope, sids)
		if err != nil {
			return nil, iamprune.Errorf(iamprune.EINVALID, "policy: split: Statement[%d]: %v", i, err)
		}
		parts = append(parts, chunks...)
	}
	var out []Document
	cur := envelope()
	for _, s := range parts {
		next := envelope(append(cur.Statement, s)...)
		if len(cur.Statement) > 0 && Size(next) > limit {
			out = append(out, cur)
			next = envelope(s)
		}
		cur = next
	}
	if len(cur.Statement) > 0 {
		out = append(out, cur)
	}
	return out, nil
}

// cutStatement cuts s's Action list into statements of at most limit
// characters in their own document. IAM needs Sids unique within a
// document, so the parts get fresh ones.
func cutStatement(s Statement, limit int, envelope func(...Statement) Document, sids map[string]bool) ([]Statement, error) {
	if !s.Action.Set() || len(s.Action.Values) < 2 {
		return nil, fmt.Errorf("%d characters alone, over the limit of %d, and it has no Action list to cut", Size(envelope(s)), limit)
	}
	empty := s.Clone()
	empty.Action = Strings{Values: []string{}}
	if s.Sid != "" {
		// Parts after the first get a numbered Sid; reserve room for the
		// longest number freshSid can pick.
		empty.Sid += strings.Repeat("9", len(strconv.Itoa(len(s.Action.Values)+len(sids)+1)))
	}
	base := Size(envelope(empty)) // counts "[]"
	var (
		out  []Statement
		cur  []string
		size = base
	)
	flush := func() {
		st := s.Clone()
		st.Action = Strings{Values: cur}
		out = append(out, st)
		cur, size = nil, base
	}
	for _, a := range s.Action.Values {
		var b bytes.Buffer
		writeString(&b, a)
		cost := countNonSpace(b.String())
		if len(cur) > 0 {
			cost++ // the comma
		}
		if len(cur) > 0 && size+cost > limit {
			flush()
			cost--
		}
		cur = append(cur, a)
		size += cost
	}
	flush()
	for i := range out {
		if i > 0 && s.Sid != "" {
			out[i].Sid = freshSid(s.Sid, i+1, sids)
		}
		if n := Size(envelope(out[i])); n > limit {
			return nil, fmt.Errorf("an action list part is %d characters, over the limit of %d", n, limit)
		}
	}
	return out, nil
}

// freshSid returns sid followed by a number, the first one not in use.
func freshSid(sid string, n int, used map[string]bool) string {
	for ; ; n++ {
		c := sid + strconv.Itoa(n)
		if !used[c] {
			used[c] = true
			return c
		}
	}
}
