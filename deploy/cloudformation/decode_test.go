package cloudformation

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/iamprune/iamprune"
)

// A CloudFormation YAML template decodes to plain maps, lists and scalars
// with every short-form tag (!Ref, !GetAtt, ...) turned into its long form
// ({"Ref": ...}, {"Fn::GetAtt": [...]}), so that the checks see one shape.

// shortForms maps the short-form tags to their long-form keys.
var shortForms = map[string]string{
	"!Ref":         "Ref",
	"!Condition":   "Condition",
	"!GetAtt":      "Fn::GetAtt",
	"!Sub":         "Fn::Sub",
	"!If":          "Fn::If",
	"!Join":        "Fn::Join",
	"!Equals":      "Fn::Equals",
	"!Not":         "Fn::Not",
	"!And":         "Fn::And",
	"!Or":          "Fn::Or",
	"!Select":      "Fn::Select",
	"!Split":       "Fn::Split",
	"!FindInMap":   "Fn::FindInMap",
	"!Base64":      "Fn::Base64",
	"!GetAZs":      "Fn::GetAZs",
	"!ImportValue": "Fn::ImportValue",
	"!Cidr":        "Fn::Cidr",
}

// template is a decoded template.
type template struct {
	name string // for messages
	root map[string]any
}

func loadTemplate(path string) (*template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cloudformation: cannot read template: %w", err)
	}
	return decodeTemplate(path, data)
}

// decodeTemplate decodes YAML template text; name is used in messages.
func decodeTemplate(name string, data []byte) (*template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "cloudformation: %s: %v", name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, iamprune.Errorf(iamprune.EINVALID, "cloudformation: %s: not one YAML document", name)
	}
	v, err := longForm(name, doc.Content[0])
	if err != nil {
		return nil, err
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, iamprune.Errorf(iamprune.EINVALID, "cloudformation: %s:%d: the template must be a mapping", name, doc.Content[0].Line)
	}
	return &template{name: name, root: root}, nil
}

func longForm(name string, n *yaml.Node) (any, error) {
	bad := func(format string, args ...any) error {
		return iamprune.Errorf(iamprune.EINVALID, "cloudformation: %s:%d: %s", name, n.Line, fmt.Sprintf(format, args...))
	}
	if n.Kind == yaml.AliasNode {
		return longForm(name, n.Alias)
	}
	if fn, ok := shortForms[n.Tag]; ok {
		inner := *n
		inner.Tag = ""
		switch {
		case n.Kind == yaml.ScalarNode && fn == "Fn::GetAtt":
			res, attr, ok := strings.Cut(n.Value, ".")
			if !ok || res == "" || attr == "" {
				return nil, bad("!GetAtt %q is not RESOURCE.ATTRIBUTE", n.Value)
			}
			return map[string]any{fn: []any{res, attr}}, nil
		case n.Kind == yaml.ScalarNode:
			// Every scalar argument of an intrinsic is a string.
			inner.Tag = "!!str"
		case fn == "Ref" || fn == "Condition":
			return nil, bad("%s takes a name, not a %s", n.Tag, kindName(n.Kind))
		}
		v, err := longForm(name, &inner)
		if err != nil {
			return nil, err
		}
		return map[string]any{fn: v}, nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, bad("unknown tag %s", n.Tag)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, bad("%v", err)
		}
		return v, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := longForm(name, c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, iamprune.Errorf(iamprune.EINVALID, "cloudformation: %s:%d: a key must be a scalar", name, k.Line)
			}
			if _, dup := out[k.Value]; dup {
				return nil, iamprune.Errorf(iamprune.EINVALID, "cloudformation: %s:%d: key %q is given twice", name, k.Line, k.Value)
			}
			v, err := longForm(name, vn)
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	}
	return nil, bad("unexpected YAML node")
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "sequence"
	case yaml.MappingNode:
		return "mapping"
	}
	return "scalar"
}

// section returns a top-level section (Parameters, Resources, ...), empty
// when absent.
func (t *template) section(name string) map[string]any {
	m, _ := t.root[name].(map[string]any)
	return m
}

// resourceType returns the Type of resource name, "" when there is none.
func (t *template) resourceType(name string) string {
	r, _ := t.section("Resources")[name].(map[string]any)
	s, _ := r["Type"].(string)
	return s
}

// resourcesOf returns the names of the resources of type typ.
func (t *template) resourcesOf(typ string) []string {
	var out []string
	for name := range t.section("Resources") {
		if t.resourceType(name) == typ {
			out = append(out, name)
		}
	}
	return sortedStrings(out)
}

// dig follows string keys through maps and int indexes through lists.
func dig(v any, path ...any) (any, bool) {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[k]; !ok {
				return nil, false
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil, false
			}
			v = l[k]
		}
	}
	return v, true
}

// walk calls fn for every map in v, with its path.
func walk(v any, path string, fn func(path string, m map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(path, x)
		for _, k := range sortedKeys(x) {
			walk(x[k], strings.TrimPrefix(path+"."+k, "."), fn)
		}
	case []any:
		for i, e := range x {
			walk(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}
