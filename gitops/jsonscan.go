package gitops

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/iamprune/iamprune/internal/jsontree"
)

// jnode is a JSON value with the byte offsets it occupies in its source, so
// that one value can be replaced and every other byte kept as it was.
type jnode struct {
	kind       byte // '{', '[', '"', 'n' (number), 'l' (literal true/false/null)
	start, end int
	members    []jmember
	elems      []*jnode
	str        string // decoded string value
}

type jmember struct {
	key              string
	keyStart, keyEnd int
	val              *jnode
}

func (n *jnode) get(key string) *jnode {
	if n == nil || n.kind != '{' {
		return nil
	}
	for _, m := range n.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

func (n *jnode) member(key string) *jmember {
	if n == nil || n.kind != '{' {
		return nil
	}
	for i := range n.members {
		if n.members[i].key == key {
			return &n.members[i]
		}
	}
	return nil
}

// parseJSONOffsets parses src (one JSON value, surrounding whitespace
// allowed) keeping offsets.
func parseJSONOffsets(src []byte) (*jnode, error) {
	t, err := jsontree.Parse(src)
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, _ := jsontree.Position(src, int(se.Offset)-1)
			return nil, fmt.Errorf("line %d: %v", line, se)
		}
		return nil, err
	}
	return fromTree(t), nil
}

// fromTree is the jsontree node in the shape the editors walk.
func fromTree(t *jsontree.Node) *jnode {
	n := &jnode{start: t.Start, end: t.End}
	switch t.Kind {
	case jsontree.Object:
		n.kind = '{'
		for _, m := range t.Members {
			n.members = append(n.members, jmember{key: m.Key, keyStart: m.KeyStart, keyEnd: m.KeyEnd, val: fromTree(m.Value)})
		}
	case jsontree.Array:
		n.kind = '['
		for _, e := range t.Elems {
			n.elems = append(n.elems, fromTree(e))
		}
	case jsontree.String:
		n.kind, n.str = '"', t.Text
	case jsontree.Number:
		n.kind = 'n'
	default:
		n.kind = 'l'
	}
	return n
}

// jsonPointer resolves an RFC 6901 pointer ("" is the whole document).
func (n *jnode) pointer(ptr string) (*jnode, *jmember, error) {
	if ptr == "" {
		return n, nil, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, nil, fmt.Errorf("JSON pointer %q must start with '/'", ptr)
	}
	cur := n
	var mem *jmember
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch cur.kind {
		case '{':
			mem = cur.member(tok)
			if mem == nil {
				return nil, nil, fmt.Errorf("JSON pointer %q: no key %q", ptr, tok)
			}
			cur = mem.val
		case '[':
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(cur.elems) {
				return nil, nil, fmt.Errorf("JSON pointer %q: no element %q", ptr, tok)
			}
			mem, cur = nil, cur.elems[i]
		default:
			return nil, nil, fmt.Errorf("JSON pointer %q: %q is inside a scalar", ptr, tok)
		}
	}
	return cur, mem, nil
}

// hasIntrinsic reports whether a CloudFormation JSON value uses an
// intrinsic function (Ref, Fn::…), which a literal document would lose.
func (n *jnode) hasIntrinsic() bool {
	switch n.kind {
	case '{':
		for _, m := range n.members {
			if m.key == "Ref" || strings.HasPrefix(m.key, "Fn::") {
				return true
			}
			if m.val.hasIntrinsic() {
				return true
			}
		}
	case '[':
		for _, e := range n.elems {
			if e.hasIntrinsic() {
				return true
			}
		}
	}
	return false
}

// lineIndent returns the leading whitespace of the line holding offset i.
func lineIndent(src []byte, i int) string {
	ls := strings.LastIndexByte(string(src[:i]), '\n') + 1
	j := ls
	for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
		j++
	}
	return string(src[ls:j])
}

// indentJSON re-indents pretty JSON so that it can start mid-line at a
// line indented by prefix.
func indentJSON(pretty []byte, prefix string) string {
	return strings.ReplaceAll(string(pretty), "\n", "\n"+prefix)
}
