// Package yamlnode is the strict YAML reading shared by iamprune's config and
// exceptions files. It works on yaml.Node so that every problem can name the
// file, the line and the key path, and it collects all problems of a file so
// that one run shows them all. It stays, on top of yaml.v3, because yaml.v3's
// own decoding errors name neither the key path nor every problem at once.
//
// It imports the root and internal/input; config and exceptions import it.
package yamlnode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
	"go.yaml.in/yaml/v3"
)

// Problems collects positioned messages for one file.
type Problems struct {
	Name string
	list []problem
}

type problem struct {
	line int
	msg  string
}

// Add records "name:line: path: message"; an empty path is left out, and so
// is a line below 1 (a problem of the file as a whole).
func (p *Problems) Add(line int, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	if line < 1 {
		p.list = append(p.list, problem{0, fmt.Sprintf("%s: %s", p.Name, msg)})
		return
	}
	p.list = append(p.list, problem{line, fmt.Sprintf("%s:%d: %s", p.Name, line, msg)})
}

// Len is the number of problems recorded.
func (p *Problems) Len() int { return len(p.list) }

// Err returns nil when nothing was recorded, else an EINVALID error listing
// every problem, one per line, in file order.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b problem) int { return a.line - b.line })
	msgs := make([]string, len(p.list))
	for i, pr := range p.list {
		msgs[i] = pr.msg
	}
	return &iamprune.Error{Code: iamprune.EINVALID, Message: strings.Join(msgs, "\n")}
}

var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse reads the single YAML document in data and returns its root node, or
// nil when the document is empty (no content, only comments, or null).
// Syntax errors come back as EINVALID errors naming name:line.
func Parse(data []byte, name string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(name, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, iamprune.Errorf(iamprune.EINVALID, "%s:%d: only one YAML document is allowed", name, next.Line)
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(name, err)
	}
	root := Deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = Deref(root.Content[0])
	}
	if IsNull(root) {
		return nil, nil
	}
	return root, nil
}

func syntaxError(name string, err error) error {
	if m := syntaxLine.FindStringSubmatch(err.Error()); m != nil {
		return iamprune.Errorf(iamprune.EINVALID, "%s:%s: invalid YAML: %s", name, m[1], m[2])
	}
	return iamprune.Errorf(iamprune.EINVALID, "%s: invalid YAML: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
}

// Deref follows aliases to the node they name.
func Deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is absent or an explicit null (`key:` with no value).
func IsNull(n *yaml.Node) bool {
	n = Deref(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// Describe names what a node is, for "must be X, got Y" messages.
func Describe(n *yaml.Node) string {
	n = Deref(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return input.Snippet(n.Value)
	}
	return "an unsupported YAML node"
}

// Join appends key to a dotted key path.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Fields calls fn for each key of mapping m that is in known, in file order.
// Duplicate keys and keys not in known are recorded as problems (with a
// suggestion when a known key is close); noun names what the keys are, as in
// "unknown key" or "unknown finding type". A non-mapping m is a problem too.
func (p *Problems) Fields(m *yaml.Node, path, noun string, known []string, fn func(key string, keyNode, val *yaml.Node)) {
	m = Deref(m)
	if m.Kind != yaml.MappingNode {
		p.Add(m.Line, path, "must be a mapping, got %s", Describe(m))
		return
	}
	if path == "" && foreign(m, known) {
		// Not iamprune's file at all (/etc/shadow named by mistake): one
		// problem quoting one key, not a snippet of every line.
		k := Deref(m.Content[0])
		p.Add(k.Line, "", "none of its %d keys is known (want %s), the first is %s: is this the right file?",
			len(m.Content)/2, strings.Join(known, ", "), Describe(k))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := Deref(m.Content[i]), m.Content[i+1]
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			p.Add(k.Line, path, "keys must be plain strings, got %s", Describe(k))
			continue
		}
		kp := Join(path, keyName(key))
		if first, dup := seen[key]; dup {
			p.Add(k.Line, kp, "duplicate key (first given on line %d)", first)
			continue
		}
		seen[key] = k.Line
		if !contains(known, key) {
			if s := Suggest(key, known); s != "" {
				p.Add(k.Line, kp, "unknown %s (did you mean %s?)", noun, s)
			} else {
				p.Add(k.Line, kp, "unknown %s (want one of %s)", noun, strings.Join(known, ", "))
			}
			continue
		}
		fn(key, k, Deref(v))
	}
}

// foreign reports whether mapping m has several keys and none of them is
// in known, and none is close to one.
func foreign(m *yaml.Node, known []string) bool {
	if len(m.Content) < 4 {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := Deref(m.Content[i])
		if k.Kind != yaml.ScalarNode || contains(known, k.Value) || Suggest(k.Value, known) != "" {
			return false
		}
	}
	return true
}

// String decodes a string scalar. A null value reports ok=false without a
// problem, so that callers keep their default.
func (p *Problems) String(n *yaml.Node, path string) (s string, ok bool) {
	n = Deref(n)
	if IsNull(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		p.Add(n.Line, path, "must be a string, got %s", Describe(n))
		return "", false
	}
	return n.Value, true
}

// Int decodes a whole-number scalar; null reports ok=false without a problem.
func (p *Problems) Int(n *yaml.Node, path string) (v int, ok bool) {
	n = Deref(n)
	if IsNull(n) {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		p.Add(n.Line, path, "must be a whole number, got %s", Describe(n))
		return 0, false
	}
	return v, true
}

// Bool decodes true or false; null reports ok=false without a problem.
func (p *Problems) Bool(n *yaml.Node, path string) (v, ok bool) {
	n = Deref(n)
	if IsNull(n) {
		return false, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&v) != nil {
		p.Add(n.Line, path, "must be true or false, got %s", Describe(n))
		return false, false
	}
	return v, true
}

// Strings decodes a list of string scalars, calling fn with each item's
// path (path[i]) and node; null reports ok=false without a problem.
func (p *Problems) Strings(n *yaml.Node, path string, fn func(i int, itemPath, s string, item *yaml.Node)) (ok bool) {
	n = Deref(n)
	if IsNull(n) {
		return false
	}
	if n.Kind != yaml.SequenceNode {
		p.Add(n.Line, path, "must be a list, got %s", Describe(n))
		return false
	}
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		if s, ok := p.String(item, ip); ok {
			fn(i, ip, s, Deref(item))
		} else if IsNull(item) {
			p.Add(Deref(item).Line, ip, "empty list item")
		}
	}
	return true
}

// plainKey is what a key of iamprune's own files looks like.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// keyName is a key as a message shows it: as is when it is plain, else as a
// short quoted snippet, since a file that is not iamprune's (a mistyped
// path) yields its lines as keys.
func keyName(key string) string {
	if plainKey.MatchString(key) {
		return key
	}
	return input.Snippet(key)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ReadFile reads a local input file, a regular file of at most
// input.MaxConfig bytes. Failures are EINVALID errors from pkg that name the
// file: "config: config file x.yaml does not exist".
func ReadFile(path, pkg, what string) ([]byte, error) {
	data, err := input.ReadFile(path, input.MaxConfig)
	if err == nil {
		return data, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, iamprune.Errorf(iamprune.EINVALID, "%s: %s %s does not exist", pkg, what, path)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is already in the message
	}
	return nil, iamprune.Errorf(iamprune.EINVALID, "%s: cannot read %s %s: %v", pkg, what, path, err)
}
