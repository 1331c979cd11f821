// Package jsontree parses JSON into a tree that keeps what encoding/json's
// values lose: the byte offsets of every value and key, and object keys in
// input order, duplicates included. It is the project's one positioned JSON
// parser: the snapshot loader names file:line:column with it, the policy
// parser keeps key order and refuses duplicate keys with it, and gitops
// replaces one value and keeps every other byte with it. It is built on
// encoding/json's Decoder (Token and InputOffset), so it accepts exactly
// what encoding/json accepts.
//
// It imports nothing of the module; any package of the module may import it.
package jsontree

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	p := &parser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	return p.value()
}

type parser struct {
	data []byte
	dec  *json.Decoder
}

// next reads one token and the offset where it starts. The decoder has
// consumed everything before the previous token's end; between it and this
// token there is only whitespace and at most one ',' or ':'.
func (p *parser) next() (json.Token, int, error) {
	i := int(p.dec.InputOffset())
	for i < len(p.data) {
		switch p.data[i] {
		case ' ', '\t', '\r', '\n', ',', ':':
			i++
			continue
		}
		break
	}
	tok, err := p.dec.Token()
	return tok, i, err
}

func (p *parser) end() int { return int(p.dec.InputOffset()) }

func (p *parser) value() (*Node, error) {
	tok, start, err := p.next()
	if err != nil {
		return nil, fmt.Errorf("jsontree: %w", err)
	}
	n := &Node{Start: start}
	switch t := tok.(type) {
	case nil:
		n.Kind, n.Text = Null, "null"
	case bool:
		n.Kind, n.Text = Bool, fmt.Sprint(t)
	case json.Number:
		n.Kind, n.Text = Number, string(t)
	case string:
		n.Kind, n.Text = String, t
	case json.Delim:
		if t == '[' {
			n.Kind, n.Elems = Array, []*Node{}
			for p.dec.More() {
				e, err := p.value()
				if err != nil {
					return nil, err
				}
				n.Elems = append(n.Elems, e)
			}
		} else {
			n.Kind, n.Members = Object, []Member{}
			for p.dec.More() {
				kt, ks, err := p.next()
				if err != nil {
					return nil, fmt.Errorf("jsontree: %w", err)
				}
				m := Member{Key: kt.(string), KeyStart: ks, KeyEnd: p.end()}
				if m.Value, err = p.value(); err != nil {
					return nil, err
				}
				n.Members = append(n.Members, m)
			}
		}
		if _, err := p.dec.Token(); err != nil { // the closing ] or }
			return nil, fmt.Errorf("jsontree: %w", err)
		}
	}
	n.End = p.end()
	return n, nil
}

// Position returns the 1-based line and column of byte offset off in data;
// columns count characters. Offsets outside data are clamped to it.
func Position(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return 1 + bytes.Count(before, []byte{'\n'}), 1 + utf8.RuneCount(before[lineStart:])
}
