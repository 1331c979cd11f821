package gitops

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// yamlSite is a policy document that is the block value of a mapping key
// in a YAML CloudFormation template. The tree comes from yaml.v3, but edits
// are made to the text, line by line, so that everything outside the edited
// values (short-form intrinsics such as !Sub, comments, quoting, layout)
// stays byte for byte as it was.
type yamlSite struct {
	src    []byte
	starts []int // byte offset of each line
	key    *yaml.Node
	val    *yaml.Node
	items  []*yaml.Node
	edits  []textEdit
}

var yamlTree = cfnTree[*yaml.Node]{
	get: func(n *yaml.Node, key string) (*yaml.Node, bool) {
		_, v := yamlGet(n, key)
		return v, v != nil
	},
	str: func(n *yaml.Node) (string, bool) {
		if n == nil || n.Kind != yaml.ScalarNode || isCustomTag(n) {
			return "", false
		}
		return n.Value, true
	},
	elems: func(n *yaml.Node) ([]*yaml.Node, bool) {
		if n == nil || n.Kind != yaml.SequenceNode {
			return nil, false
		}
		return n.Content, true
	},
	keys: func(n *yaml.Node) []string {
		var out []string
		if n != nil && n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				out = append(out, n.Content[i].Value)
			}
		}
		return out
	},
}

func yamlGet(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

func isCustomTag(n *yaml.Node) bool {
	return strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!")
}

func yamlHasIntrinsic(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode || isCustomTag(n) {
		return true
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 && (c.Value == "Ref" || strings.HasPrefix(c.Value, "Fn::")) {
			return true
		}
		if yamlHasIntrinsic(c) {
			return true
		}
	}
	return false
}

func newYAMLSite(src []byte, pointer string, chg iamprune.PolicyChange) (*yamlSite, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("empty YAML document")
	}
	root := doc.Content[0]
	var path []string
	if strings.HasPrefix(pointer, "/") {
		for _, tok := range strings.Split(pointer[1:], "/") {
			path = append(path, strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~"))
		}
	} else {
		var err error
		if path, err = yamlTree.locate(root, pointer, chg); err != nil {
			return nil, err
		}
	}
	s := &yamlSite{src: src, starts: []int{0}}
	for i, c := range src {
		if c == '\n' {
			s.starts = append(s.starts, i+1)
		}
	}
	cur := root
	for i, tok := range path {
		switch cur.Kind {
		case yaml.MappingNode:
			k, v := yamlGet(cur, tok)
			if v == nil {
				return nil, fmt.Errorf("%s: no key %q", toPointer(path[:i+1]), tok)
			}
			s.key, cur = k, v
		case yaml.SequenceNode:
			j, err := strconv.Atoi(tok)
			if err != nil || j < 0 || j >= len(cur.Content) {
				return nil, fmt.Errorf("%s: no element %q", toPointer(path[:i+1]), tok)
			}
			s.key, cur = nil, cur.Content[j]
		default:
			return nil, fmt.Errorf("%s: %q is inside a scalar", toPointer(path[:i+1]), tok)
		}
	}
	if s.key == nil || cur.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s does not name a mapping key whose value is a policy document", toPointer(path))
	}
	s.val = cur
	return s, nil
}

func (s *yamlSite) offset(line, col int) int {
	o := s.starts[line-1]
	for c := 1; c < col && o < len(s.src) && s.src[o] != '\n'; c++ {
		_, size := utf8.DecodeRune(s.src[o:])
		o += size
	}
	return o
}

func (s *yamlSite) lineText(l int) string {
	end := len(s.src)
	if l+1 < len(s.starts) {
		end = s.starts[l+1] - 1
	}
	return strings.TrimSuffix(string(s.src[s.starts[l]:end]), "\r")
}

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

// blockEnd returns the offset just after the last line that belongs to the
// block opened on line l (0-based) by something at column col: lines
// indented deeper, and with dashOK a sequence written at col itself.
func (s *yamlSite) blockEnd(l, col int, dashOK bool) int {
	end := s.starts[l] + len(s.lineText(l))
	for k := l + 1; k < len(s.starts); k++ {
		t := s.lineText(k)
		tr := strings.TrimSpace(t)
		if tr == "" {
			continue
		}
		if ind := indentOf(t); ind > col || dashOK && ind == col && (tr == "-" || strings.HasPrefix(tr, "- ")) {
			end = s.starts[k] + len(t)
			continue
		}
		break
	}
	return end
}

// afterColon returns the offset just after the ':' that ends key k.
func (s *yamlSite) afterColon(k *yaml.Node) (int, error) {
	o := s.offset(k.Line, k.Column)
	line := s.lineText(k.Line - 1)
	rel := o - s.starts[k.Line-1]
	i := strings.Index(line[rel:], ":")
	if i < 0 {
		return 0, fmt.Errorf("line %d: cannot find the ':' after key %q", k.Line, k.Value)
	}
	return o + i + 1, nil
}

func (s *yamlSite) literal() (policy.Document, bool, error) {
	if yamlHasIntrinsic(s.val) {
		return policy.Document{}, false, nil
	}
	var b strings.Builder
	yamlToJSON(&b, s.val)
	d, err := policy.Parse([]byte(b.String()))
	if err != nil {
		return d, false, fmt.Errorf("the policy in the file is not a valid policy document: %w", err)
	}
	return d, true, nil
}

func yamlToJSON(b *strings.Builder, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonString(n.Content[i].Value) + ":")
			yamlToJSON(b, n.Content[i+1])
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			yamlToJSON(b, c)
		}
		b.WriteByte(']')
	default:
		switch n.ShortTag() {
		case "!!int", "!!float":
			if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
				b.WriteString(n.Value)
				return
			}
		case "!!bool":
			if v, err := strconv.ParseBool(n.Value); err == nil {
				b.WriteString(strconv.FormatBool(v))
				return
			}
		case "!!null":
			b.WriteString("null")
			return
		}
		b.WriteString(jsonString(n.Value))
	}
}

func (s *yamlSite) statements() ([]fileStmt, bool) {
	if s.val.Style&yaml.FlowStyle != 0 {
		return nil, false
	}
	_, st := yamlGet(s.val, "Statement")
	if st == nil || st.Kind != yaml.SequenceNode || st.Style&yaml.FlowStyle != 0 {
		return nil, false
	}
	s.items = st.Content
	out := make([]fileStmt, len(st.Content))
	for i, it := range st.Content {
		if it.Kind != yaml.MappingNode || it.Style&yaml.FlowStyle != 0 {
			return nil, false
		}
		if _, ok := s.dash(it); !ok {
			return nil, false
		}
		f := &out[i]
		f.Effect, f.EffectKnown = yamlTree.str(yamlTree.must(it, "Effect"))
		if _, v := yamlGet(it, "Sid"); v == nil {
			f.SidKnown = true
		} else {
			f.Sid, f.SidKnown = yamlTree.str(v)
		}
		for _, k := range []string{"Action", "NotAction"} {
			if _, v := yamlGet(it, k); v != nil {
				f.Key = k
				f.Actions, f.ActionsKnown = yamlStrings(v)
			}
		}
	}
	return out, true
}

func yamlStrings(v *yaml.Node) ([]string, bool) {
	if s, ok := yamlTree.str(v); ok {
		return []string{s}, true
	}
	list, ok := yamlTree.elems(v)
	if !ok {
		return nil, false
	}
	out := []string{}
	for _, e := range list {
		x, ok := yamlTree.str(e)
		if !ok {
			return nil, false
		}
		out = append(out, x)
	}
	return out, true
}

// dash returns the column (0-based) of the "- " that opens sequence item
// it, which must be on the item's first line with only spaces before it.
func (s *yamlSite) dash(it *yaml.Node) (int, bool) {
	line := s.lineText(it.Line - 1)
	rel := s.offset(it.Line, it.Column) - s.starts[it.Line-1]
	i := strings.LastIndex(line[:rel], "-")
	if i < 0 || strings.TrimSpace(line[:i]) != "" {
		return 0, false
	}
	return i, true
}

func (s *yamlSite) setActions(i int, oldKey string, v policy.Strings) error {
	k, val := yamlGet(s.items[i], oldKey)
	if k == nil {
		return fmt.Errorf("statement %d has no %s", i, oldKey)
	}
	keyOff := s.offset(k.Line, k.Column)
	colon, err := s.afterColon(k)
	if err != nil {
		return err
	}
	if oldKey != "Action" {
		s.edits = append(s.edits, textEdit{keyOff, colon - 1, "Action"})
	}
	keyCol := keyOff - s.starts[k.Line-1]
	block := val.Kind == yaml.SequenceNode && val.Style&yaml.FlowStyle == 0
	end := s.blockEnd(k.Line-1, keyCol, block)
	var text string
	switch {
	case v.Single && len(v.Values) == 1:
		text = " " + yamlScalar(v.Values[0])
	case val.Kind == yaml.SequenceNode && !block:
		q := make([]string, len(v.Values))
		for j, x := range v.Values {
			q[j] = yamlScalar(x)
		}
		text = " [" + strings.Join(q, ", ") + "]"
	default:
		dashCol := keyCol + 2
		if block && len(val.Content) > 0 {
			if c, ok := s.dash(val.Content[0]); ok {
				dashCol = c
			}
		}
		for _, x := range v.Values {
			text += "\n" + strings.Repeat(" ", dashCol) + "- " + yamlScalar(x)
		}
	}
	s.edits = append(s.edits, textEdit{colon, end, text})
	return nil
}

func (s *yamlSite) drop(i int) error {
	it := s.items[i]
	d, _ := s.dash(it)
	// Comment lines right above the item, at its indentation, describe it.
	first := it.Line - 1
	for first > 0 {
		t := s.lineText(first - 1)
		if !strings.HasPrefix(strings.TrimSpace(t), "#") || indentOf(t) != d {
			break
		}
		first--
	}
	start := s.starts[first]
	end := s.blockEnd(it.Line-1, d, false)
	if end < len(s.src) && s.src[end] == '\n' {
		end++
	}
	s.edits = append(s.edits, textEdit{start, end, ""})
	return nil
}

func (s *yamlSite) replaceWhole(after policy.Document) error {
	pretty, err := prettyJSON(after)
	if err != nil {
		return err
	}
	text, err := renderYAML(pretty, s.offset(s.key.Line, s.key.Column)-s.starts[s.key.Line-1]+2)
	if err != nil {
		return err
	}
	colon, err := s.afterColon(s.key)
	if err != nil {
		return err
	}
	end := s.blockEnd(s.key.Line-1, s.offset(s.key.Line, s.key.Column)-s.starts[s.key.Line-1], false)
	s.edits = append(s.edits, textEdit{colon, end, text})
	return nil
}

func (s *yamlSite) result() ([]byte, error) { return applyEdits(s.src, s.edits) }

// span is the key's value: from its ':' to the end of its block.
func (s *yamlSite) span() (int, int, error) {
	colon, err := s.afterColon(s.key)
	if err != nil {
		return 0, 0, err
	}
	return colon, s.blockEnd(s.key.Line-1, s.offset(s.key.Line, s.key.Column)-s.starts[s.key.Line-1], false), nil
}

// renderYAML turns a JSON document into block YAML indented by indent
// spaces, starting with a newline.
func renderYAML(js []byte, indent int) (string, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(js, &n); err != nil {
		return "", err
	}
	var clear func(*yaml.Node)
	clear = func(x *yaml.Node) {
		x.Style = 0
		for _, c := range x.Content {
			clear(c)
		}
	}
	clear(&n)
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(&n); err != nil {
		return "", err
	}
	pad := strings.Repeat(" ", indent)
	var out strings.Builder
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		out.WriteString("\n" + pad + l)
	}
	return out.String(), nil
}

func yamlScalar(s string) string {
	b, err := yaml.Marshal(s)
	if err != nil {
		return jsonString(s)
	}
	return strings.TrimSuffix(string(b), "\n")
}
