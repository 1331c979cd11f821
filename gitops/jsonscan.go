package gitops

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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
	p := &jparser{s: src}
	p.ws()
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, p.errf("unexpected %q after the value", p.s[p.i])
	}
	return n, nil
}

type jparser struct {
	s []byte
	i int
}

func (p *jparser) errf(format string, args ...any) error {
	line := 1 + strings.Count(string(p.s[:min(p.i, len(p.s))]), "\n")
	return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
}

func (p *jparser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (*jnode, error) {
	if depth > 200 {
		return nil, p.errf("nested too deeply")
	}
	if p.i >= len(p.s) {
		return nil, p.errf("unexpected end of JSON")
	}
	n := &jnode{start: p.i}
	switch c := p.s[p.i]; {
	case c == '{':
		n.kind = '{'
		p.i++
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			break
		}
		for {
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return nil, p.errf("expected an object key")
			}
			k, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, p.errf("expected ':' after key %q", k.str)
			}
			p.i++
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.members = append(n.members, jmember{key: k.str, keyStart: k.start, keyEnd: k.end, val: v})
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == '}' {
				p.i++
				break
			}
			return nil, p.errf("expected ',' or '}' in object")
		}
	case c == '[':
		n.kind = '['
		p.i++
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			break
		}
		for {
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.elems = append(n.elems, v)
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == ']' {
				p.i++
				break
			}
			return nil, p.errf("expected ',' or ']' in array")
		}
	case c == '"':
		n.kind = '"'
		j := p.i + 1
		for ; j < len(p.s) && p.s[j] != '"'; j++ {
			if p.s[j] == '\\' {
				j++
			}
		}
		if j >= len(p.s) {
			return nil, p.errf("unterminated string")
		}
		if err := json.Unmarshal(p.s[p.i:j+1], &n.str); err != nil {
			return nil, p.errf("bad string: %v", err)
		}
		p.i = j + 1
	case c == '-' || (c >= '0' && c <= '9'):
		n.kind = 'n'
		j := p.i
		for j < len(p.s) && strings.IndexByte("+-0123456789.eE", p.s[j]) >= 0 {
			j++
		}
		if _, err := strconv.ParseFloat(string(p.s[p.i:j]), 64); err != nil {
			return nil, p.errf("bad number %q", p.s[p.i:j])
		}
		p.i = j
	default:
		n.kind = 'l'
		for _, lit := range []string{"true", "false", "null"} {
			if strings.HasPrefix(string(p.s[p.i:min(len(p.s), p.i+5)]), lit) {
				p.i += len(lit)
				n.end = p.i
				return n, nil
			}
		}
		return nil, p.errf("unexpected %q", c)
	}
	n.end = p.i
	return n, nil
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
