// Package jsontree parses JSON into a tree that keeps what encoding/json's
// values lose: the byte offsets of every value and key, and object keys in
// input order, duplicates included. It is the project's one positioned JSON
// parser: the snapshot loader names file:line:column with it, the policy
// parser keeps key order and refuses duplicate keys with it, and gitops
// replaces one value and keeps every other byte with it. It accepts exactly
// what encoding/json accepts (json.Valid), and decodes strings as it does;
// past that check a plain byte scanner builds the tree, fast enough for
// snapshot files of hundreds of megabytes.
//
// It imports nothing of the module; any package of the module may import it.
package jsontree

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind is the kind of a JSON value.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// Node is one JSON value and where it is in its source.
type Node struct {
	Kind Kind
	// Start and End are the byte offsets of the value in the parsed data:
	// data[Start:End] is its text, quotes and brackets included.
	Start, End int
	// Text is a string's decoded value, a number's literal, or "true",
	// "false" or "null".
	Text    string
	Elems   []*Node  // an array's elements
	Members []Member // an object's members in input order, duplicates included
}

// Member is one key and value of an object.
type Member struct {
	Key string
	// KeyStart and KeyEnd are the offsets of the key, quotes included.
	KeyStart, KeyEnd int
	Value            *Node
}

// Get returns the value of the first member named key of an object, or nil
// (also for a nil node or one that is not an object).
func (n *Node) Get(key string) *Node {
	if m := n.Member(key); m != nil {
		return m.Value
	}
	return nil
}

// Member returns the first member named key of an object, or nil.
func (n *Node) Member(key string) *Member {
	if n == nil || n.Kind != Object {
		return nil
	}
	for i := range n.Members {
		if n.Members[i].Key == key {
			return &n.Members[i]
		}
	}
	return nil
}

// Parse parses data, one JSON value with optional surrounding whitespace.
// Invalid JSON gives encoding/json's own error, a *json.SyntaxError whose
// Offset counts the offending byte.
func Parse(data []byte) (*Node, error) {
	if !json.Valid(data) {
		var v json.RawMessage
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("jsontree: invalid JSON")
	}
	p := &scanner{data: data}
	return p.value()
}

// scanner walks JSON that json.Valid accepted, so it meets no syntax
// error: it only finds where each value starts and ends. Strings decode
// as encoding/json decodes them (escapes, and U+FFFD for invalid UTF-8).
type scanner struct {
	data []byte
	i    int
}

// skip moves past whitespace and the one ',' or ':' between tokens.
func (p *scanner) skip() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\r', '\n', ',', ':':
			p.i++
			continue
		}
		return
	}
}

func (p *scanner) value() (*Node, error) {
	p.skip()
	n := &Node{Start: p.i}
	switch c := p.data[p.i]; c {
	case '{':
		p.i++
		n.Kind, n.Members = Object, []Member{}
		for p.skip(); p.data[p.i] != '}'; p.skip() {
			ks := p.i
			key, err := p.str()
			if err != nil {
				return nil, err
			}
			m := Member{Key: key, KeyStart: ks, KeyEnd: p.i}
			if m.Value, err = p.value(); err != nil {
				return nil, err
			}
			n.Members = append(n.Members, m)
		}
		p.i++
	case '[':
		p.i++
		n.Kind, n.Elems = Array, []*Node{}
		for p.skip(); p.data[p.i] != ']'; p.skip() {
			e, err := p.value()
			if err != nil {
				return nil, err
			}
			n.Elems = append(n.Elems, e)
		}
		p.i++
	case '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		n.Kind, n.Text = String, s
	case 't', 'f', 'n':
		word := map[byte]string{'t': "true", 'f': "false", 'n': "null"}[c]
		n.Kind, n.Text = Bool, word
		if c == 'n' {
			n.Kind = Null
		}
		p.i += len(word)
	default:
		for p.i < len(p.data) && strings.IndexByte("0123456789+-.eE", p.data[p.i]) >= 0 {
			p.i++
		}
		n.Kind, n.Text = Number, string(p.data[n.Start:p.i])
	}
	n.End = p.i
	return n, nil
}

// str reads the string at p.i and moves past its closing quote.
func (p *scanner) str() (string, error) {
	start, plain := p.i, true
	p.i++
	for p.data[p.i] != '"' {
		switch c := p.data[p.i]; {
		case c == '\\':
			plain = false
			p.i += 2
		case c >= utf8.RuneSelf:
			plain = false
			p.i++
		default:
			p.i++
		}
	}
	p.i++
	raw := p.data[start:p.i]
	if plain {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("jsontree: %w", err)
	}
	return s, nil
}

// Position returns the 1-based line and column of byte offset off in data;
// columns count characters. Offsets outside data are clamped to it.
func Position(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return 1 + bytes.Count(before, []byte{'\n'}), 1 + utf8.RuneCount(before[lineStart:])
}
