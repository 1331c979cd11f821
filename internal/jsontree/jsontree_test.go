package jsontree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseOffsets(t *testing.T) {
	src := []byte(" {\"a\" : [1, \"x\\u0041\", true,null],\n \"b\":{}, \"a\":-2.5e1 } ")
	n, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	text := func(n *Node) string { return string(src[n.Start:n.End]) }
	if n.Kind != Object || text(n) != string(src[1:len(src)-1]) {
		t.Fatalf("root %v %q", n.Kind, text(n))
	}
	if len(n.Members) != 3 || n.Members[0].Key != "a" || n.Members[1].Key != "b" || n.Members[2].Key != "a" {
		t.Fatalf("members %+v", n.Members)
	}
	m := n.Members[0]
	if string(src[m.KeyStart:m.KeyEnd]) != `"a"` {
		t.Errorf("key text %q", src[m.KeyStart:m.KeyEnd])
	}
	arr := m.Value
	want := []struct {
		kind       Kind
		text, body string
	}{{Number, "1", "1"}, {String, "xA", `"x\u0041"`}, {Bool, "true", "true"}, {Null, "null", "null"}}
	if arr.Kind != Array || text(arr) != `[1, "x\u0041", true,null]` || len(arr.Elems) != len(want) {
		t.Fatalf("array %q %d", text(arr), len(arr.Elems))
	}
	for i, w := range want {
		e := arr.Elems[i]
		if e.Kind != w.kind || e.Text != w.text || text(e) != w.body {
			t.Errorf("element %d = %v %q %q, want %v %q %q", i, e.Kind, e.Text, text(e), w.kind, w.text, w.body)
		}
	}
	if b := n.Get("b"); b == nil || b.Kind != Object || text(b) != "{}" {
		t.Errorf("b = %+v", b)
	}
	if a := n.Get("a"); a != arr {
		t.Errorf("Get returns the first member")
	}
	if last := n.Members[2].Value; last.Text != "-2.5e1" || text(last) != "-2.5e1" {
		t.Errorf("number %q %q", last.Text, text(last))
	}
	if line, col := Position(src, n.Members[1].KeyStart); line != 2 || col != 2 {
		t.Errorf("Position of b = %d:%d, want 2:2", line, col)
	}
}

func TestParseSyntaxError(t *testing.T) {
	for _, src := range []string{"", "{", `{"a" 1}`, "[1,]", "1 2", `{"a":1}}`} {
		_, err := Parse([]byte(src))
		var se *json.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *json.SyntaxError", src, err)
		}
	}
}

func TestPositionCountsCharacters(t *testing.T) {
	src := []byte("ab\n\u00e9\u00e9x")
	if line, col := Position(src, len(src)-1); line != 2 || col != 3 {
		t.Errorf("Position = %d:%d, want 2:3", line, col)
	}
	if line, col := Position(src, 99); line != 2 || col != 4 {
		t.Errorf("Position past the end = %d:%d, want 2:4", line, col)
	}
}

// tokenParse is the reference parser: encoding/json's Decoder, token by
// token, with InputOffset for the positions.
func tokenParse(data []byte) (*Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	next := func() (json.Token, int, error) {
		i := int(dec.InputOffset())
		for i < len(data) && strings.IndexByte(" \t\r\n,:", data[i]) >= 0 {
			i++
		}
		tok, err := dec.Token()
		return tok, i, err
	}
	var value func() (*Node, error)
	value = func() (*Node, error) {
		tok, start, err := next()
		if err != nil {
			return nil, err
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
				for dec.More() {
					e, err := value()
					if err != nil {
						return nil, err
					}
					n.Elems = append(n.Elems, e)
				}
			} else {
				n.Kind, n.Members = Object, []Member{}
				for dec.More() {
					kt, ks, err := next()
					if err != nil {
						return nil, err
					}
					m := Member{Key: kt.(string), KeyStart: ks, KeyEnd: int(dec.InputOffset())}
					if m.Value, err = value(); err != nil {
						return nil, err
					}
					n.Members = append(n.Members, m)
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
		}
		n.End = int(dec.InputOffset())
		return n, nil
	}
	return value()
}

// TestParseMatchesDecoder holds the scanner to encoding/json's Decoder on
// every kind of value, escapes, invalid UTF-8, whitespace and nesting.
func TestParseMatchesDecoder(t *testing.T) {
	srcs := []string{
		`0`, ` -1.5E+3 `, `"plain"`, `"esc\"aped\\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800"`, "\"bad utf8 \xff\xfe here\"",
		"\"caf\u00e9 \u2603\"", `true`, `false`, `null`, `[]`, `{}`, ` [ ] `, "{ \n\t}",
		`{"a":{"b":[1,{"c":null,"c":true}],"":""},"k\u0041":[[[]]],"n":-0.0e-0}`,
		"[\n  {\"findingDetails\": [{\"x\": {\"y\": \"z\"}}], \"id\" : \"1\"} ,\r\n  2\n]\n",
	}
	for _, src := range srcs {
		want, err := tokenParse([]byte(src))
		if err != nil {
			t.Fatalf("reference parser on %q: %v", src, err)
		}
		got, err := Parse([]byte(src))
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("Parse(%q)\n got %s\nwant %s", src, g, w)
		}
	}
}
