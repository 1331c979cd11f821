package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
	var probe any
	if err := json.Unmarshal(data, &probe); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(data, se.Offset)
			return node{}, fmt.Errorf("invalid JSON at line %d, column %d: %s", line, col, se.Error())
		}
		return node{}, fmt.Errorf("invalid JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := readNode(dec)
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

func readNode(dec *json.Decoder) (node, error) {
	tok, err := dec.Token()
	if err != nil {
		return node{}, err
	}
	switch t := tok.(type) {
	case nil:
		return node{kind: kNull}, nil
	case bool:
		if t {
			return node{kind: kBool, text: "true"}, nil
		}
		return node{kind: kBool, text: "false"}, nil
	case json.Number:
		return node{kind: kNumber, text: string(t)}, nil
	case string:
		return node{kind: kString, text: t}, nil
	case json.Delim:
		if t == '[' {
			n := node{kind: kArray, elems: []node{}}
			for dec.More() {
				e, err := readNode(dec)
				if err != nil {
					return node{}, within(err, fmt.Sprintf("[%d]", len(n.elems)))
				}
				n.elems = append(n.elems, e)
			}
			_, err := dec.Token()
			return n, err
		}
		n := node{kind: kObject, members: []member{}}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return node{}, err
			}
			key := kt.(string)
			if seen[key] {
				return node{}, &duplicateKey{key: key}
			}
			seen[key] = true
			v, err := readNode(dec)
			if err != nil {
				return node{}, within(err, key)
			}
			n.members = append(n.members, member{key, v})
		}
		_, err := dec.Token()
		return n, err
	}
	return node{}, fmt.Errorf("unexpected JSON token %v", tok)
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

// lineCol places a json.SyntaxError: its Offset counts the offending byte.
func lineCol(data []byte, off int64) (line, col int) {
	at := min(max(off-1, 0), int64(len(data)))
	before := data[:at]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(at) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
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
