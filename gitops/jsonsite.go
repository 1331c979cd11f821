package gitops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/iamprune/iamprune/policy"
)

// jsonSite is a policy document held as a JSON value inside src (a JSON
// policy file, a CloudFormation JSON template, a Terraform heredoc).
type jsonSite struct {
	src  []byte
	node *jnode
	// cfn: Ref/Fn:: objects are references; interp: ${…} in strings are
	// Terraform interpolations (heredocs), with $${ and %%{ as escapes.
	cfn, interp bool
	edits       []textEdit
	drops       map[int]bool
}

func (s *jsonSite) span() (int, int, error) { return s.node.start, s.node.end, nil }

func (s *jsonSite) text(n *jnode) []byte { return s.src[n.start:n.end] }

func (s *jsonSite) literal() (policy.Document, bool, error) {
	if s.cfn && s.node.hasIntrinsic() {
		return policy.Document{}, false, nil
	}
	raw := s.text(s.node)
	if s.interp {
		if hasInterpolation(string(raw)) {
			return policy.Document{}, false, nil
		}
		raw = []byte(unescapeTemplate(string(raw)))
	}
	d, err := policy.Parse(raw)
	if err != nil {
		return d, false, fmt.Errorf("the policy in the file is not a valid policy document: %w", err)
	}
	return d, true, nil
}

func (s *jsonSite) stmtNodes() ([]*jnode, bool) {
	st := s.node.get("Statement")
	if st == nil || st.kind != '[' {
		return nil, false
	}
	for _, e := range st.elems {
		if e.kind != '{' {
			return nil, false
		}
	}
	return st.elems, true
}

func (s *jsonSite) statements() ([]fileStmt, bool) {
	elems, ok := s.stmtNodes()
	if !ok {
		return nil, false
	}
	out := make([]fileStmt, len(elems))
	for i, e := range elems {
		f := &out[i]
		if v := e.get("Effect"); v != nil && v.kind == '"' {
			f.Effect, f.EffectKnown = v.str, true
		}
		if v := e.get("Sid"); v == nil {
			f.SidKnown = true
		} else if v.kind == '"' {
			f.Sid, f.SidKnown = v.str, true
		}
		for _, k := range []string{"Action", "NotAction"} {
			v := e.get(k)
			if v == nil {
				continue
			}
			f.Key = k
			f.Actions, f.ActionsKnown = jsonStrings(v)
		}
	}
	return out, true
}

func jsonStrings(v *jnode) ([]string, bool) {
	switch v.kind {
	case '"':
		return []string{v.str}, true
	case '[':
		out := []string{}
		for _, e := range v.elems {
			if e.kind != '"' {
				return nil, false
			}
			out = append(out, e.str)
		}
		return out, true
	}
	return nil, false
}

func (s *jsonSite) setActions(i int, oldKey string, v policy.Strings) error {
	elems, _ := s.stmtNodes()
	m := elems[i].member(oldKey)
	if m == nil {
		return fmt.Errorf("statement %d has no %s", i, oldKey)
	}
	if oldKey != "Action" {
		s.edits = append(s.edits, textEdit{m.keyStart, m.keyEnd, `"Action"`})
	}
	multi := bytes.ContainsRune(s.text(m.val), '\n')
	s.edits = append(s.edits, textEdit{m.val.start, m.val.end, renderJSONStrings(v, multi, lineIndent(s.src, m.keyStart))})
	return nil
}

func (s *jsonSite) drop(i int) error {
	if s.drops == nil {
		s.drops = map[int]bool{}
	}
	s.drops[i] = true
	return nil
}

func (s *jsonSite) replaceWhole(after policy.Document) error {
	pretty, err := prettyJSON(after)
	if err != nil {
		return err
	}
	text := indentJSON(pretty, lineIndent(s.src, s.node.start))
	if s.interp {
		text = escapeTemplate(text)
	}
	s.edits = append(s.edits, textEdit{s.node.start, s.node.end, text})
	return nil
}

func (s *jsonSite) result() ([]byte, error) {
	edits := s.edits
	if len(s.drops) > 0 {
		elems, _ := s.stmtNodes()
		starts, ends, dropped := make([]int, len(elems)), make([]int, len(elems)), make([]bool, len(elems))
		for i, e := range elems {
			starts[i], ends[i], dropped[i] = e.start, e.end, s.drops[i]
		}
		for i := range elems {
			if dropped[i] {
				a, b := dropRange(starts, ends, dropped, i)
				edits = append(edits, textEdit{a, b, ""})
			}
		}
	}
	return applyEdits(s.src, edits)
}

// renderJSONStrings writes an Action value: a string when it was one,
// else a list, one value per line when the old value spanned lines.
func renderJSONStrings(v policy.Strings, multi bool, indent string) string {
	if v.Single && len(v.Values) == 1 {
		return jsonString(v.Values[0])
	}
	if !multi {
		q := make([]string, len(v.Values))
		for i, x := range v.Values {
			q[i] = jsonString(x)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	var b strings.Builder
	b.WriteString("[")
	for i, x := range v.Values {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n" + indent + "  " + jsonString(x))
	}
	b.WriteString("\n" + indent + "]")
	return b.String()
}

func jsonString(s string) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	_ = e.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// hasInterpolation reports a Terraform ${ or %{ sequence that is not
// escaped as $${ or %%{.
func hasInterpolation(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if (s[i] == '$' || s[i] == '%') && s[i+1] == '{' && (i == 0 || s[i-1] != s[i]) {
			return true
		}
		if (s[i] == '$' || s[i] == '%') && i+2 < len(s) && s[i+1] == s[i] && s[i+2] == '{' {
			i += 2 // escaped
		}
	}
	return false
}

func unescapeTemplate(s string) string {
	return strings.NewReplacer("$${", "${", "%%{", "%{").Replace(s)
}

// escapeTemplate keeps IAM policy variables such as ${aws:username} literal
// in Terraform strings and heredocs.
func escapeTemplate(s string) string {
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
}
