package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/jsontree"
)

// Pos is a 1-based line and column in a file; columns count characters.
type Pos struct{ Line, Col int }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// PosAt returns the position of byte offset off in data. Offsets past the
// end are clamped to the end.
func PosAt(data []byte, off int64) Pos {
	off = min(max(off, 0), int64(len(data)))
	line, col := jsontree.Position(data, int(off))
	return Pos{Line: line, Col: col}
}

// rawAt is a JSON value and the byte offset where it starts in its file.
type rawAt struct {
	raw json.RawMessage
	off int64
	// tree is raw's parse tree when known, with offsets counted so that
	// raw[0] is at base; nil means raw is parsed when split.
	tree *jsontree.Node
	base int
}

// parsed returns v's tree and the offset of raw[0] in its terms.
func (v rawAt) parsed() (*jsontree.Node, int, error) {
	if v.tree != nil {
		return v.tree, v.base, nil
	}
	t, err := jsontree.Parse(v.raw)
	return t, 0, err
}

// child is the value n of v's tree.
func (v rawAt) child(n *jsontree.Node, base int) rawAt {
	s, e := n.Start-base, n.End-base
	return rawAt{raw: v.raw[s:e:e], off: v.off + int64(s), tree: n, base: n.Start}
}

// memberAt is one member of a JSON object.
type memberAt struct {
	key string
	val rawAt
}

// splitArray returns the elements of a syntactically valid JSON array, with
// offsets relative to data. null is an empty array, as encoding/json has it.
func splitArray(data []byte) ([]rawAt, error) { return splitArrayAt(rawAt{raw: data}) }

// splitArrayAt is splitArray with offsets relative to v's file.
func splitArrayAt(v rawAt) ([]rawAt, error) {
	switch k := jsonKind(v.raw); k {
	case "null":
		return nil, nil
	case "array":
	default:
		return nil, fmt.Errorf("want array, got %s", k)
	}
	t, base, err := v.parsed()
	if err != nil {
		return nil, err
	}
	var out []rawAt
	for _, e := range t.Elems {
		out = append(out, v.child(e, base))
	}
	return out, nil
}

// splitObject returns the members of a syntactically valid JSON object in
// file order, duplicates included, with offsets relative to data.
func splitObject(data []byte) ([]memberAt, error) { return splitObjectAt(rawAt{raw: data}) }

// splitObjectAt is splitObject with offsets relative to v's file.
func splitObjectAt(v rawAt) ([]memberAt, error) {
	if k := jsonKind(v.raw); k != "object" {
		return nil, fmt.Errorf("want object, got %s", k)
	}
	t, base, err := v.parsed()
	if err != nil {
		return nil, err
	}
	var out []memberAt
	for _, m := range t.Members {
		out = append(out, memberAt{key: m.Key, val: v.child(m.Value, base)})
	}
	return out, nil
}

// jsonKind names the kind of a JSON value by its first byte.
func jsonKind(data []byte) string {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return "nothing"
	}
	switch data[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// file is one snapshot file: its bytes and the name used in messages.
type file struct {
	name string
	data []byte
}

func (f *file) errf(format string, args ...any) error {
	return iamprune.Errorf(iamprune.EINVALID, "%s: %s", f.name, fmt.Sprintf(format, args...))
}

// errLine reports a problem with the value starting at off by its line.
func (f *file) errLine(off int64, format string, args ...any) error {
	return iamprune.Errorf(iamprune.EINVALID, "%s:%d: %s", f.name, PosAt(f.data, off).Line, fmt.Sprintf(format, args...))
}

// errAt reports a problem at an exact line and column.
func (f *file) errAt(off int64, format string, args ...any) error {
	return iamprune.Errorf(iamprune.EINVALID, "%s:%s: %s", f.name, PosAt(f.data, off), fmt.Sprintf(format, args...))
}

// root checks the whole file's syntax first, so that later splitting and
// decoding only meet type and semantic errors.
func (f *file) root() (rawAt, error) {
	t, err := jsontree.Parse(f.data)
	if err == nil {
		return rawAt{raw: f.data, off: 0, tree: t}, nil
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return rawAt{}, f.errf("invalid JSON: %v", err)
	}
	if se.Offset >= int64(len(bytes.TrimRight(f.data, " \t\r\n"))) {
		// Truncated: point just past the last character.
		return rawAt{}, f.errAt(int64(len(bytes.TrimRight(f.data, " \t\r\n"))), "%s (file truncated?)", se.Error())
	}
	// Offset counts the offending byte itself.
	return rawAt{}, f.errAt(se.Offset-1, "%s", se.Error())
}

// elements splits the array v; path names it in messages.
func (f *file) elements(v rawAt, path string) ([]rawAt, error) {
	els, err := splitArrayAt(v)
	if err != nil {
		return nil, f.errAt(v.off, "%s: %v", pathOr(path), err)
	}
	return els, nil
}

// members splits the object v; path names it in messages.
func (f *file) members(v rawAt, path string) ([]memberAt, error) {
	ms, err := splitObjectAt(v)
	if err != nil {
		return nil, f.errAt(v.off, "%s: %v", pathOr(path), err)
	}
	return ms, nil
}

// lookup returns the last member matching key the way encoding/json does
// (case-insensitively), or false.
func lookup(ms []memberAt, key string) (rawAt, bool) {
	var v rawAt
	found := false
	for _, m := range ms {
		if strings.EqualFold(m.key, key) {
			v, found = m.val, true
		}
	}
	return v, found
}

// decode unmarshals v into dst, turning errors into messages with the
// file position and the field path.
func (f *file) decode(v rawAt, path string, dst any) error {
	if err := json.Unmarshal(v.raw, dst); err != nil {
		return f.decodeErr(v, path, err)
	}
	return nil
}

func (f *file) decodeErr(v rawAt, path string, err error) error {
	// Only a direct UnmarshalTypeError has an offset relative to v; one
	// wrapped by a custom unmarshaler is relative to an inner value.
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		off := v.off + valueStart(v.raw, te.Offset)
		return f.errAt(off, "%s: want %s, got %s", pathOr(joinPath(path, te.Field)), typeKind(te.Type), te.Value)
	}
	var ve *valueError
	if errors.As(err, &ve) {
		if i := bytes.Index(v.raw, ve.raw); i >= 0 {
			return f.errAt(v.off+int64(i), "%s: %v", pathOr(joinPath(path, keyBefore(v.raw, i))), ve.err)
		}
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		// Find the bad timestamp and the key it belongs to.
		if i := bytes.Index(v.raw, []byte(`"`+pe.Value+`"`)); i >= 0 {
			key := keyBefore(v.raw, i)
			return f.errAt(v.off+int64(i), "%s: not an RFC 3339 timestamp: %v", pathOr(joinPath(path, key)), err)
		}
	}
	return f.errLine(v.off, "%s: %v", pathOr(path), err)
}

// valueError is returned by this package's custom unmarshalers: raw is the
// value they were given, so the loader can find it in the file.
type valueError struct {
	raw []byte
	err error
}

func (e *valueError) Error() string { return e.err.Error() }
func (e *valueError) Unwrap() error { return e.err }

// valueStart moves an UnmarshalTypeError offset, which points just past the
// offending token, back to the token's first byte.
func valueStart(raw []byte, off int64) int64 {
	if off > int64(len(raw)) {
		off = int64(len(raw))
	}
	if off <= 0 {
		return 0
	}
	switch c := raw[off-1]; {
	case c == '{' || c == '[':
		return off - 1
	case c == '"':
		i := off - 2
		for i >= 0 {
			if raw[i] == '"' && !escaped(raw, i) {
				return i
			}
			i--
		}
		return 0
	}
	i := off
	for i > 0 && strings.IndexByte("0123456789+-.eEtrufalsn", raw[i-1]) >= 0 {
		i--
	}
	return i
}

// escaped reports whether raw[i] is preceded by an odd number of backslashes.
func escaped(raw []byte, i int64) bool {
	n := 0
	for j := i - 1; j >= 0 && raw[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// keyBefore returns the object key whose value starts at off, or "".
func keyBefore(raw []byte, off int) string {
	s := bytes.TrimRight(raw[:off], " \t\r\n")
	if len(s) == 0 || s[len(s)-1] != ':' {
		return ""
	}
	s = bytes.TrimRight(s[:len(s)-1], " \t\r\n")
	if len(s) < 2 || s[len(s)-1] != '"' {
		return ""
	}
	start := bytes.LastIndexByte(s[:len(s)-1], '"')
	if start < 0 {
		return ""
	}
	return string(s[start+1 : len(s)-1])
}

// typeKind names the JSON kind a Go type is decoded from.
func typeKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	}
	return t.String()
}

func joinPath(path, field string) string {
	switch {
	case field == "":
		return path
	case path == "":
		return field
	}
	return path + "." + field
}

// pathOr names the top-level value when the path is empty.
func pathOr(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}
