package gitops

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// Terraform support is a careful scanner, not an HCL implementation: it
// tokenises strings (with nested ${…} templates), heredocs and comments
// exactly, matches brackets, and understands the body structure (attributes
// and blocks) far enough to find and edit policies.

type tfTok struct {
	kind       byte // 'i' ident, 's' string, 'h' heredoc, 'n' number, '\n', or the punctuation byte
	start, end int
	text       string
	// bodyStart and bodyEnd delimit a heredoc's content.
	bodyStart, bodyEnd int
}

func tfLex(src []byte) ([]tfTok, error) {
	var toks []tfTok
	line := func(i int) int { return 1 + strings.Count(string(src[:i]), "\n") }
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '\n':
			toks = append(toks, tfTok{kind: '\n', start: i, end: i + 1})
			i++
		case c == '#' || c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			j := strings.Index(string(src[i+2:]), "*/")
			if j < 0 {
				return nil, fmt.Errorf("line %d: unterminated /* comment", line(i))
			}
			i += j + 4
		case c == '"':
			j, err := tfString(src, i)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", line(i), err)
			}
			toks = append(toks, tfTok{kind: 's', start: i, end: j, text: string(src[i:j])})
			i = j
		case c == '<' && i+1 < len(src) && src[i+1] == '<':
			m := heredocRE.FindSubmatch(src[i:])
			if m == nil {
				toks = append(toks, tfTok{kind: '<', start: i, end: i + 1})
				i++
				continue
			}
			marker := string(m[2])
			body := i + len(m[0])
			t := tfTok{kind: 'h', start: i, bodyStart: body}
			for k := body; ; {
				nl := strings.IndexByte(string(src[k:]), '\n')
				lineEnd := len(src)
				if nl >= 0 {
					lineEnd = k + nl
				}
				if strings.TrimSpace(string(src[k:lineEnd])) == marker {
					t.bodyEnd, t.end = k, lineEnd
					break
				}
				if nl < 0 {
					return nil, fmt.Errorf("line %d: heredoc %s is not terminated", line(i), marker)
				}
				k = lineEnd + 1
			}
			t.text = string(src[t.start:t.end])
			toks = append(toks, t)
			i = t.end
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && (isIdentStart(src[j]) || src[j] >= '0' && src[j] <= '9' || src[j] == '-') {
				j++
			}
			toks = append(toks, tfTok{kind: 'i', start: i, end: j, text: string(src[i:j])})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && strings.IndexByte("0123456789.eE", src[j]) >= 0 {
				j++
			}
			toks = append(toks, tfTok{kind: 'n', start: i, end: j, text: string(src[i:j])})
			i = j
		default:
			toks = append(toks, tfTok{kind: c, start: i, end: i + 1})
			i++
		}
	}
	return toks, nil
}

var heredocRE = regexp.MustCompile(`^<<(-?)([A-Za-z_][A-Za-z0-9_]*)\r?\n`)

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// tfString returns the end of the quoted string starting at i, skipping
// over ${…} and %{…} templates, which may themselves hold strings.
func tfString(src []byte, i int) (int, error) {
	j := i + 1
	for j < len(src) {
		switch c := src[j]; {
		case c == '\\':
			j += 2
		case c == '"':
			return j + 1, nil
		case c == '\n':
			return 0, fmt.Errorf("unterminated string")
		case (c == '$' || c == '%') && j+1 < len(src) && src[j+1] == c && j+2 < len(src) && src[j+2] == '{':
			j += 3
		case (c == '$' || c == '%') && j+1 < len(src) && src[j+1] == '{':
			depth := 0
			for j++; j < len(src); j++ {
				if src[j] == '"' {
					e, err := tfString(src, j)
					if err != nil {
						return 0, err
					}
					j = e - 1
				} else if src[j] == '{' {
					depth++
				} else if src[j] == '}' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			j++
		default:
			j++
		}
	}
	return 0, fmt.Errorf("unterminated string")
}

// tfLiteral decodes a string token without interpolation.
func tfLiteral(t tfTok) (string, bool) {
	if t.kind != 's' || hasInterpolation(t.text) {
		return "", false
	}
	v, err := strconv.Unquote(t.text)
	if err != nil {
		return "", false
	}
	return unescapeTemplate(v), true
}

// tfItem is an attribute (name = expression) or a block (name labels { }).
type tfItem struct {
	name    string
	nameTok int
	labels  []string
	block   bool
	// open and close are the brace tokens of a block; valStart and valEnd
	// the expression tokens of an attribute.
	open, close      int
	valStart, valEnd int
}

// tfBody parses the items of a body between tokens from and to (exclusive).
func tfBody(src []byte, toks []tfTok, from, to int) ([]tfItem, error) {
	var items []tfItem
	errAt := func(i int, format string, args ...any) error {
		off := len(src)
		if i < len(toks) {
			off = toks[i].start
		}
		return fmt.Errorf("line %d: %s", 1+strings.Count(string(src[:off]), "\n"), fmt.Sprintf(format, args...))
	}
	i := from + 1
	for i < to {
		if toks[i].kind == '\n' {
			i++
			continue
		}
		if toks[i].kind != 'i' {
			return nil, errAt(i, "expected an attribute or block name")
		}
		it := tfItem{name: toks[i].text, nameTok: i}
		i++
		if i < to && toks[i].kind == '=' {
			it.valStart = i + 1
			depth := 0
			for i++; i < to && (depth > 0 || toks[i].kind != '\n'); i++ {
				switch toks[i].kind {
				case '(', '[', '{':
					depth++
				case ')', ']', '}':
					depth--
				}
			}
			it.valEnd = i
			if it.valEnd == it.valStart {
				return nil, errAt(it.nameTok, "attribute %s has no value", it.name)
			}
			items = append(items, it)
			continue
		}
		for i < to && (toks[i].kind == 's' || toks[i].kind == 'i') {
			l := toks[i].text
			if v, ok := tfLiteral(toks[i]); ok {
				l = v
			}
			it.labels = append(it.labels, l)
			i++
		}
		if i >= to || toks[i].kind != '{' {
			return nil, errAt(it.nameTok, "expected '{' after block %s", it.name)
		}
		it.block, it.open = true, i
		depth := 0
		for ; i < to; i++ {
			switch toks[i].kind {
			case '{', '(', '[':
				depth++
			case '}', ')', ']':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if i >= to {
			return nil, errAt(it.nameTok, "block %s is not closed", it.name)
		}
		it.close = i
		items = append(items, it)
		i++
	}
	return items, nil
}

// Terraform resources whose `policy` attribute is a policy document.
var tfPolicyResources = map[string]bool{
	"aws_iam_policy": true, "aws_iam_role_policy": true, "aws_iam_user_policy": true, "aws_iam_group_policy": true,
}

const tfPolicyDocument = "aws_iam_policy_document"

type tfFile struct {
	src  []byte
	toks []tfTok
	top  []tfItem
}

func (f *tfFile) find(kind string, labels ...string) *tfItem {
	for i := range f.top {
		it := &f.top[i]
		if it.block && it.name == kind && len(it.labels) == len(labels) {
			same := true
			for j := range labels {
				same = same && it.labels[j] == labels[j]
			}
			if same {
				return it
			}
		}
	}
	return nil
}

func (f *tfFile) body(it *tfItem) ([]tfItem, error) { return tfBody(f.src, f.toks, it.open, it.close) }

func attr(items []tfItem, name string) *tfItem {
	for i := range items {
		if !items[i].block && items[i].name == name {
			return &items[i]
		}
	}
	return nil
}

// newTFSite finds the policy for chg in a Terraform file. Pointers:
// TYPE.NAME (a resource with a policy attribute, or aws_iam_role.NAME with
// an inline_policy block named like the policy) or
// data.aws_iam_policy_document.NAME; "" searches by name.
func newTFSite(src []byte, pointer string, chg iamprune.PolicyChange) (site, error) {
	toks, err := tfLex(src)
	if err != nil {
		return nil, err
	}
	f := &tfFile{src: src, toks: toks}
	if f.top, err = tfBody(src, toks, -1, len(toks)); err != nil {
		return nil, err
	}
	parts := strings.Split(pointer, ".")
	switch {
	case pointer == "":
		for i := range f.top {
			it := &f.top[i]
			if !it.block || len(it.labels) != 2 {
				continue
			}
			if it.name == "data" && it.labels[0] == tfPolicyDocument && it.labels[1] == chg.Name {
				return f.dataSite(it)
			}
			if it.name == "resource" && tfPolicyResources[it.labels[0]] {
				body, err := f.body(it)
				if err != nil {
					return nil, err
				}
				name := ""
				if a := attr(body, "name"); a != nil && a.valEnd == a.valStart+1 {
					name, _ = tfLiteral(toks[a.valStart])
				}
				if it.labels[1] == chg.Name || name == chg.Name {
					return f.policyAttr(body, it)
				}
			}
		}
		return nil, fmt.Errorf("no aws_iam_policy / aws_iam_*_policy resource or data.%s named %q; set a pointer", tfPolicyDocument, chg.Name)
	case len(parts) == 3 && parts[0] == "data":
		if parts[1] != tfPolicyDocument {
			return nil, fmt.Errorf("data source %q is not %s", parts[1], tfPolicyDocument)
		}
		it := f.find("data", parts[1], parts[2])
		if it == nil {
			return nil, fmt.Errorf("no block data %q %q", parts[1], parts[2])
		}
		return f.dataSite(it)
	case len(parts) == 2:
		it := f.find("resource", parts[0], parts[1])
		if it == nil {
			return nil, fmt.Errorf("no block resource %q %q", parts[0], parts[1])
		}
		body, err := f.body(it)
		if err != nil {
			return nil, err
		}
		if tfPolicyResources[parts[0]] {
			return f.policyAttr(body, it)
		}
		if parts[0] == "aws_iam_role" || parts[0] == "aws_iam_user" {
			for i := range body {
				b := &body[i]
				if !b.block || b.name != "inline_policy" {
					continue
				}
				ib, err := f.body(b)
				if err != nil {
					return nil, err
				}
				if a := attr(ib, "name"); a != nil && a.valEnd == a.valStart+1 {
					if n, _ := tfLiteral(toks[a.valStart]); n == chg.Name {
						return f.policyAttr(ib, b)
					}
				}
			}
			return nil, fmt.Errorf("resource %s has no inline_policy block named %q", pointer, chg.Name)
		}
		return nil, fmt.Errorf("resource type %q holds no policy document (want aws_iam_policy, aws_iam_role_policy, aws_iam_user_policy, aws_iam_group_policy, or data.%s.NAME)", parts[0], tfPolicyDocument)
	}
	return nil, fmt.Errorf("pointer %q is not TYPE.NAME or data.%s.NAME", pointer, tfPolicyDocument)
}

// policyAttr makes a site of the `policy` attribute of a block.
func (f *tfFile) policyAttr(body []tfItem, owner *tfItem) (site, error) {
	a := attr(body, "policy")
	if a == nil {
		return nil, fmt.Errorf("block %s %s has no policy attribute", owner.name, strings.Join(owner.labels, " "))
	}
	val := f.toks[a.valStart:a.valEnd]
	isRef := len(val) == 7
	for i, want := range []string{"data", ".", tfPolicyDocument, ".", "", ".", "json"} {
		if !isRef || want == "." && val[i].kind != '.' || want != "." && val[i].kind != 'i' || want != "" && want != "." && val[i].text != want {
			isRef = false
		}
	}
	switch {
	case len(val) == 1 && val[0].kind == 'h':
		h := val[0]
		body := f.src[h.bodyStart:h.bodyEnd]
		root, err := parseJSONOffsets(body)
		if err != nil {
			return nil, fmt.Errorf("the heredoc policy is not JSON: %v", err)
		}
		return &tfHeredocSite{file: f.src, h: h, jsonSite: &jsonSite{src: body, node: root, interp: true}}, nil
	case isRef:
		it := f.find("data", tfPolicyDocument, val[4].text)
		if it == nil {
			return nil, fmt.Errorf("policy refers to data.%s.%s, which is not in this file", tfPolicyDocument, val[4].text)
		}
		return f.dataSite(it)
	case len(val) >= 4 && val[0].kind == 'i' && val[0].text == "jsonencode" && val[1].kind == '(' && val[2].kind == '{' && val[len(val)-1].kind == ')':
		open := a.valStart + 2
		closeTok := a.valEnd - 2
		for closeTok > open && f.toks[closeTok].kind == '\n' {
			closeTok--
		}
		if f.toks[closeTok].kind != '}' {
			return nil, fmt.Errorf("jsonencode(...) must hold one object")
		}
		return &tfEncodeSite{file: f.src, toks: f.toks, open: open, close: closeTok, indent: lineIndent(f.src, f.toks[a.nameTok].start)}, nil
	}
	return nil, fmt.Errorf("policy = … is not jsonencode({…}), a heredoc, or data.%s.NAME.json; edit it by hand", tfPolicyDocument)
}

// tfHeredocSite is a JSON policy in a heredoc: a jsonSite on its body.
type tfHeredocSite struct {
	file []byte
	h    tfTok
	*jsonSite
}

func (s *tfHeredocSite) span() (int, int, error) { return s.h.bodyStart, s.h.bodyEnd, nil }

func (s *tfHeredocSite) result() ([]byte, error) {
	body, err := s.jsonSite.result()
	if err != nil {
		return nil, err
	}
	out := append([]byte{}, s.file[:s.h.bodyStart]...)
	out = append(out, body...)
	return append(out, s.file[s.h.bodyEnd:]...), nil
}

// tfEncodeSite is policy = jsonencode({…}): rewritten whole, and only when
// it is a literal (no references, no interpolation).
type tfEncodeSite struct {
	file        []byte
	toks        []tfTok
	open, close int
	indent      string
	edits       []textEdit
}

func (s *tfEncodeSite) literal() (policy.Document, bool, error) {
	var b strings.Builder
	prevVal := false
	next := func(i int) byte {
		for i++; i <= s.close && s.toks[i].kind == '\n'; i++ {
		}
		return s.toks[i].kind
	}
	for i := s.open; i <= s.close; i++ {
		t := s.toks[i]
		switch t.kind {
		case '\n', ',':
		case '{', '[':
			if prevVal {
				b.WriteByte(',')
			}
			b.WriteByte(t.kind)
			prevVal = false
		case '}', ']':
			b.WriteByte(t.kind)
			prevVal = true
		case '=', ':':
			b.WriteByte(':')
			prevVal = false
		case 's', 'n', 'i':
			var v string
			switch {
			case t.kind == 's':
				x, ok := tfLiteral(t)
				if !ok {
					return policy.Document{}, false, nil
				}
				v = jsonString(x)
			case t.kind == 'n':
				v = t.text
			case next(i) == '=' || next(i) == ':':
				v = jsonString(t.text)
			case t.text == "true" || t.text == "false" || t.text == "null":
				v = t.text
			default:
				return policy.Document{}, false, nil // a reference
			}
			if prevVal {
				b.WriteByte(',')
			}
			b.WriteString(v)
			prevVal = true
		default:
			return policy.Document{}, false, nil // an operator or function call
		}
	}
	if !json.Valid([]byte(b.String())) {
		return policy.Document{}, false, nil
	}
	d, err := policy.Parse([]byte(b.String()))
	if err != nil {
		return d, false, fmt.Errorf("the policy in jsonencode(...) is not a valid policy document: %w", err)
	}
	return d, true, nil
}

func (s *tfEncodeSite) statements() ([]fileStmt, bool)               { return nil, false }
func (s *tfEncodeSite) setActions(int, string, policy.Strings) error { return errUnsupported }
func (s *tfEncodeSite) drop(int) error                               { return errUnsupported }

var errUnsupported = fmt.Errorf("internal error: unsupported edit")

func (s *tfEncodeSite) replaceWhole(after policy.Document) error {
	pretty, err := prettyJSON(after)
	if err != nil {
		return err
	}
	root, err := parseJSONOffsets(pretty)
	if err != nil {
		return err
	}
	s.edits = append(s.edits, textEdit{s.toks[s.open].start, s.toks[s.close].end, renderHCL(root, pretty, s.indent)})
	return nil
}

func (s *tfEncodeSite) result() ([]byte, error) { return applyEdits(s.file, s.edits) }

func (s *tfEncodeSite) span() (int, int, error) {
	return s.toks[s.open].start, s.toks[s.close].end, nil
}

var hclIdentRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// renderHCL writes a JSON value in HCL object syntax as terraform fmt
// would lay it out (aligned '=' across consecutive one-line attributes).
func renderHCL(n *jnode, src []byte, ind string) string {
	switch n.kind {
	case '"':
		return escapeTemplate(jsonString(n.str))
	case '{':
		if len(n.members) == 0 {
			return "{}"
		}
		keys := make([]string, len(n.members))
		vals := make([]string, len(n.members))
		for i, m := range n.members {
			keys[i] = m.key
			if !hclIdentRE.MatchString(m.key) {
				keys[i] = escapeTemplate(jsonString(m.key))
			}
			vals[i] = renderHCL(m.val, src, ind+"  ")
		}
		var b strings.Builder
		b.WriteString("{\n")
		for i := 0; i < len(keys); {
			// A run of one-line values is aligned together.
			j := i + 1
			if !strings.Contains(vals[i], "\n") {
				for j < len(keys) && !strings.Contains(vals[j], "\n") {
					j++
				}
			}
			w := 0
			for k := i; k < j; k++ {
				w = max(w, len(keys[k]))
			}
			for k := i; k < j; k++ {
				b.WriteString(ind + "  " + keys[k] + strings.Repeat(" ", w-len(keys[k])) + " = " + vals[k] + "\n")
			}
			i = j
		}
		return b.String() + ind + "}"
	case '[':
		scalars := true
		parts := make([]string, len(n.elems))
		for i, e := range n.elems {
			scalars = scalars && e.kind != '{' && e.kind != '['
			parts[i] = renderHCL(e, src, ind+"  ")
		}
		if one := "[" + strings.Join(parts, ", ") + "]"; scalars && len(ind)+len(one) <= 100 {
			return one
		}
		var b strings.Builder
		b.WriteString("[\n")
		for _, p := range parts {
			b.WriteString(ind + "  " + p + ",\n")
		}
		return b.String() + ind + "]"
	}
	return string(src[n.start:n.end])
}

// tfDataSite is a data "aws_iam_policy_document" block, edited statement
// by statement: actions/not_actions are rewritten, dropped statement blocks
// removed, everything else (resources with references, conditions,
// principals, comments) left as it was.
type tfDataSite struct {
	f     *tfFile
	block tfItem
	stmts []tfItem
	attrs [][]tfItem
	edits []textEdit
}

func (f *tfFile) dataSite(it *tfItem) (site, error) {
	body, err := f.body(it)
	if err != nil {
		return nil, err
	}
	s := &tfDataSite{f: f, block: *it}
	for _, b := range body {
		switch {
		case !b.block && strings.HasSuffix(b.name, "_policy_documents") || b.name == "source_json" || b.name == "override_json":
			return nil, fmt.Errorf("data.%s.%s merges other documents (%s); edit it by hand", tfPolicyDocument, it.labels[1], b.name)
		case b.block && b.name == "dynamic":
			return nil, fmt.Errorf("data.%s.%s has dynamic blocks; edit it by hand", tfPolicyDocument, it.labels[1])
		case b.block && b.name == "statement":
			a, err := f.body(&b)
			if err != nil {
				return nil, err
			}
			s.stmts = append(s.stmts, b)
			s.attrs = append(s.attrs, a)
		}
	}
	return s, nil
}

func (s *tfDataSite) literal() (policy.Document, bool, error) { return policy.Document{}, false, nil }

func (s *tfDataSite) strs(a *tfItem) ([]string, bool) {
	val := s.f.toks[a.valStart:a.valEnd]
	if len(val) == 1 {
		v, ok := tfLiteral(val[0])
		return []string{v}, ok
	}
	if val[0].kind != '[' || val[len(val)-1].kind != ']' {
		return nil, false
	}
	out := []string{}
	for _, t := range val[1 : len(val)-1] {
		switch t.kind {
		case '\n', ',':
		default:
			v, ok := tfLiteral(t)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
	}
	return out, true
}

func (s *tfDataSite) statements() ([]fileStmt, bool) {
	out := make([]fileStmt, len(s.stmts))
	for i, attrs := range s.attrs {
		f := &out[i]
		f.Effect, f.EffectKnown = "Allow", true // the data source's default
		f.SidKnown = true
		if a := attr(attrs, "effect"); a != nil {
			v, ok := s.strs(a)
			f.EffectKnown = ok && len(v) == 1 && a.valEnd == a.valStart+1
			if f.EffectKnown {
				f.Effect = v[0]
			}
		}
		if a := attr(attrs, "sid"); a != nil {
			v, ok := s.strs(a)
			f.SidKnown = ok && a.valEnd == a.valStart+1
			if f.SidKnown {
				f.Sid = v[0]
			}
		}
		for _, k := range []string{"actions", "not_actions"} {
			if a := attr(attrs, k); a != nil {
				f.Key = map[string]string{"actions": "Action", "not_actions": "NotAction"}[k]
				f.Actions, f.ActionsKnown = s.strs(a)
			}
		}
	}
	return out, true
}

func (s *tfDataSite) setActions(i int, oldKey string, v policy.Strings) error {
	name := map[string]string{"Action": "actions", "NotAction": "not_actions"}[oldKey]
	a := attr(s.attrs[i], name)
	if a == nil {
		return fmt.Errorf("statement %d has no %s", i, name)
	}
	toks := s.f.toks
	nameTok := toks[a.nameTok]
	if name != "actions" {
		s.edits = append(s.edits, textEdit{nameTok.start, nameTok.end, "actions"})
	}
	start, end := toks[a.valStart].start, toks[a.valEnd-1].end
	multi := strings.Contains(string(s.f.src[start:end]), "\n")
	ind := lineIndent(s.f.src, nameTok.start)
	q := make([]string, len(v.Values))
	for j, x := range v.Values {
		q[j] = escapeTemplate(jsonString(x))
	}
	text := "[" + strings.Join(q, ", ") + "]"
	if multi {
		text = "[\n" + ind + "  " + strings.Join(q, ",\n"+ind+"  ") + ",\n" + ind + "]"
	}
	s.edits = append(s.edits, textEdit{start, end, text})
	return nil
}

func (s *tfDataSite) drop(i int) error {
	src := s.f.src
	st := s.stmts[i]
	start := s.f.toks[st.nameTok].start
	start -= len(lineIndent(src, start))
	end := s.f.toks[st.close].end
	for end < len(src) && (src[end] == ' ' || src[end] == '\t' || src[end] == '\r') {
		end++
	}
	if end < len(src) && src[end] == '\n' {
		end++
	}
	// Blocks separated by blank lines stay so: drop one of the two blank
	// lines around the removed block.
	if start >= 2 && src[start-1] == '\n' && src[start-2] == '\n' {
		if end < len(src) && src[end] == '\n' {
			end++
		} else {
			start--
		}
	}
	s.edits = append(s.edits, textEdit{start, end, ""})
	return nil
}

func (s *tfDataSite) replaceWhole(policy.Document) error {
	return fmt.Errorf("data.%s cannot be rewritten as a whole", tfPolicyDocument)
}

func (s *tfDataSite) result() ([]byte, error) { return applyEdits(s.f.src, s.edits) }

// span is the whole data block.
func (s *tfDataSite) span() (int, int, error) {
	return s.f.toks[s.block.nameTok].start, s.f.toks[s.block.close].end, nil
}
