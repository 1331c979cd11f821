package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/iamprune/iamprune/internal/jsontree"
)

// node is a decoded JSON value that keeps object keys in input order, which
// encoding/json maps lose. Condition blocks and principals are written back
// in the order their author chose.
type node struct {
	kind    kind
	text    string // string value, number literal, "true" or "false"
	elems   []node
	members []member
}

type member struct {
	key string
	val node
}

type kind int

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

func (k kind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "a list", "an object"}[k]
}

// decodeNode parses one JSON value. Syntax errors name the line and column;
// a key repeated within one object is refused, because IAM and readers of
// the policy could disagree on which copy counts.
func decodeNode(data []byte) (node, error) {
	t, err := jsontree.Parse(data)
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// Offset counts the offending byte.
			line, col := jsontree.Position(data, int(se.Offset)-1)
			return node{}, fmt.Errorf("invalid JSON at line %d, column %d: %s", line, col, se.Error())
		}
		return node{}, fmt.Errorf("invalid JSON: %v", err)
	}
	n, err := fromTree(t)
	var de *duplicateKey
	if errors.As(err, &de) {
		return node{}, fmt.Errorf("%s: key %q appears more than once", de.path(), de.key)
	}
	return n, err
}

// duplicateKey is built up while unwinding, so that paths cost nothing
// unless there is an error (deeply nested input would make them quadratic).
type duplicateKey struct {
	key      string
	segments []string // innermost first
}

func (e *duplicateKey) Error() string { return "duplicate key " + e.key }

func (e *duplicateKey) path() string {
	p := ""
	for i := len(e.segments) - 1; i >= 0; i-- {
		if s := e.segments[i]; strings.HasPrefix(s, "[") {
			p += s
		} else {
			p = joinPath(p, s)
		}
	}
	return joinPath(p, e.key)
}

// fromTree converts in document order, so the duplicate reported is the
// first one a reader meets.
func fromTree(t *jsontree.Node) (node, error) {
	switch t.Kind {
	case jsontree.Null:
		return node{kind: kNull}, nil
	case jsontree.Bool:
		return node{kind: kBool, text: t.Text}, nil
	case jsontree.Number:
		return node{kind: kNumber, text: t.Text}, nil
	case jsontree.String:
		return node{kind: kString, text: t.Text}, nil
	case jsontree.Array:
		n := node{kind: kArray, elems: make([]node, 0, len(t.Elems))}
		for _, te := range t.Elems {
			e, err := fromTree(te)
			if err != nil {
				return node{}, within(err, fmt.Sprintf("[%d]", len(n.elems)))
			}
			n.elems = append(n.elems, e)
		}
		return n, nil
	}
	n := node{kind: kObject, members: make([]member, 0, len(t.Members))}
	seen := map[string]bool{}
	for _, tm := range t.Members {
		if seen[tm.Key] {
			return node{}, &duplicateKey{key: tm.Key}
		}
		seen[tm.Key] = true
		v, err := fromTree(tm.Value)
		if err != nil {
			return node{}, within(err, tm.Key)
		}
		n.members = append(n.members, member{tm.Key, v})
	}
	return n, nil
}

func within(err error, segment string) error {
	var de *duplicateKey
	if errors.As(err, &de) {
		de.segments = append(de.segments, segment)
	}
	return err
}

// compact writes n as compact JSON, keys in their order, without HTML
// escaping so that condition values such as "<" stay readable.
func (n node) compact(b *bytes.Buffer) {
	switch n.kind {
	case kNull:
		b.WriteString("null")
	case kBool, kNumber:
		b.WriteString(n.text)
	case kString:
		writeString(b, n.text)
	case kArray:
		b.WriteByte('[')
		for i, e := range n.elems {
			if i > 0 {
				b.WriteByte(',')
			}
			e.compact(b)
		}
		b.WriteByte(']')
	case kObject:
		b.WriteByte('{')
		for i, m := range n.members {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, m.key)
			b.WriteByte(':')
			m.val.compact(b)
		}
		b.WriteByte('}')
	}
}

// writeString writes s as a JSON string without HTML escaping.
func writeString(b *bytes.Buffer, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// joinPath appends a key to a JSON path: Statement[0].Action.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	if strings.ContainsAny(key, ".[]\" ") || key == "" {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	return path + "." + key
}
