package gitops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/iamprune/iamprune/policy"
)

// tfEncodeSite is policy = jsonencode({…}). Statements written as a list
// of objects are edited one by one on their byte ranges (Action narrowed,
// statements dropped), so comments, layout and every reference
// (aws_s3_bucket.b.arn, "${var.prefix}-*", data sources in a Condition)
// stay byte for byte. A literal document (no references, no function
// calls) whose statements cannot be edited that way is rewritten whole in
// terraform fmt's layout; one with references is refused.
type tfEncodeSite struct {
	f      *tfFile
	arg    hclsyntax.Expression
	indent string // of the policy attribute's line
	doc    policy.Document
	lit    bool
	list   *hclsyntax.TupleConsExpr // Statement, when a list of objects
	single bool                     // Statement is one object (not literal)
	stmts  []*hclsyntax.ObjectConsExpr
	edits  []textEdit
	drops  map[int]bool
}

func (f *tfFile) encodeSite(a *hclsyntax.Attribute, arg hclsyntax.Expression) (site, error) {
	obj, ok := arg.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil, fmt.Errorf("line %d: jsonencode(...) must hold one object ({…}); edit it by hand", arg.StartRange().Start.Line)
	}
	s := &tfEncodeSite{f: f, arg: arg, indent: lineIndent(f.src, a.SrcRange.Start.Byte)}
	if v, diags := arg.Value(nil); !diags.HasErrors() && v.IsWhollyKnown() {
		js, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return nil, fmt.Errorf("the policy in jsonencode(...): %v", err)
		}
		if s.doc, err = policy.Parse(js); err != nil {
			return nil, fmt.Errorf("the policy in jsonencode(...) is not a valid policy document: %w", err)
		}
		s.lit = true
	}
	if s.lit {
		if list, ok := objItem(obj, "Statement").(*hclsyntax.TupleConsExpr); ok {
			s.list = list
			for _, e := range list.Exprs {
				o, ok := e.(*hclsyntax.ObjectConsExpr)
				if !ok {
					s.list, s.stmts = nil, nil
					break
				}
				s.stmts = append(s.stmts, o)
			}
		}
		return s, nil
	}
	return s, s.referenceStatements(obj)
}

// referenceStatements finds the statements of a document that uses
// references. They can only be edited in place, so each must be an object
// written out, with keys written out.
func (s *tfEncodeSite) referenceStatements(doc *hclsyntax.ObjectConsExpr) error {
	refuse := func(line int, why string) error {
		return fmt.Errorf("line %d: the policy in jsonencode(...) uses references, so it can only be edited statement by statement, and %s; edit it by hand", line, why)
	}
	switch st := objItem(doc, "Statement").(type) {
	case *hclsyntax.TupleConsExpr:
		s.list = st
		for i, e := range st.Exprs {
			o, ok := e.(*hclsyntax.ObjectConsExpr)
			if !ok {
				return refuse(e.StartRange().Start.Line, fmt.Sprintf("statement %d is not an object written out ({…})", i+1))
			}
			s.stmts = append(s.stmts, o)
		}
	case *hclsyntax.ObjectConsExpr:
		s.single, s.stmts = true, []*hclsyntax.ObjectConsExpr{st}
	case nil:
		return refuse(doc.StartRange().Start.Line, "it has no Statement written out")
	default:
		return refuse(st.StartRange().Start.Line, "its Statement is not a list written out ([{…}, …])")
	}
	for i, o := range s.stmts {
		for _, it := range o.Items {
			if _, ok := evalString(it.KeyExpr, nil, nil); !ok {
				return refuse(it.KeyExpr.StartRange().Start.Line, fmt.Sprintf("a key of statement %d is an expression", i+1))
			}
		}
	}
	return nil
}

// objItem returns the value of the item keyed key (bare or quoted).
func objItem(o *hclsyntax.ObjectConsExpr, key string) hclsyntax.Expression {
	if it := objItemOf(o, key); it != nil {
		return it.ValueExpr
	}
	return nil
}

func objItemOf(o *hclsyntax.ObjectConsExpr, key string) *hclsyntax.ObjectConsItem {
	for i, it := range o.Items {
		if k, ok := evalString(it.KeyExpr, nil, nil); ok && k == key {
			return &o.Items[i]
		}
	}
	return nil
}

// evalStrings is a literal string or list of strings.
func evalStrings(e hclsyntax.Expression, ctx *hcl.EvalContext) ([]string, bool) {
	if e == nil {
		return nil, false
	}
	v, diags := e.Value(ctx)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return nil, false
	}
	if v.Type() == cty.String {
		return []string{v.AsString()}, true
	}
	if !v.CanIterateElements() || v.Type().IsMapType() || v.Type().IsObjectType() {
		return nil, false
	}
	out := []string{}
	for it := v.ElementIterator(); it.Next(); {
		_, x := it.Element()
		if x.IsNull() || x.Type() != cty.String {
			return nil, false
		}
		out = append(out, x.AsString())
	}
	return out, true
}

func (s *tfEncodeSite) literal() (policy.Document, bool, error) { return s.doc, s.lit, nil }

func (s *tfEncodeSite) statements() ([]fileStmt, bool) {
	if s.list == nil && !s.single {
		return nil, false
	}
	out := make([]fileStmt, len(s.stmts))
	for i, o := range s.stmts {
		f := &out[i]
		f.Effect, f.EffectKnown = evalString(objItem(o, "Effect"), nil, nil)
		f.Sid, f.SidKnown = "", true
		if e := objItem(o, "Sid"); e != nil {
			f.Sid, f.SidKnown = evalString(e, nil, nil)
		}
		for _, k := range []string{"Action", "NotAction"} {
			if e := objItem(o, k); e != nil {
				f.Key = k
				f.Actions, f.ActionsKnown = evalStrings(e, nil)
			}
		}
	}
	return out, true
}

func (s *tfEncodeSite) setActions(i int, oldKey string, v policy.Strings) error {
	it := objItemOf(s.stmts[i], oldKey)
	if it == nil {
		return fmt.Errorf("statement %d has no %s", i, oldKey)
	}
	val := it.ValueExpr.Range()
	if _, ok := evalStrings(it.ValueExpr, nil); !ok {
		return fmt.Errorf("line %d: the %s of statement %d is an expression (%s), not strings written out, so the narrowed list cannot be written in its place; edit it by hand", val.Start.Line, oldKey, i+1, shorten(s.f.text(val)))
	}
	if oldKey != "Action" {
		s.edits = append(s.edits, rangeEdit(it.KeyExpr.Range(), "Action"))
	}
	text := hclStrings(v.Values, bytes.ContainsRune(s.f.text(val), '\n'), lineIndent(s.f.src, it.KeyExpr.Range().Start.Byte))
	if v.Single && len(v.Values) == 1 {
		text = hclQuote(v.Values[0])
	}
	s.edits = append(s.edits, rangeEdit(val, text))
	return nil
}

func (s *tfEncodeSite) drop(i int) error {
	if s.single {
		return fmt.Errorf("line %d: the policy's Statement is one object, not a list, so its statement cannot be removed; edit it by hand", s.stmts[i].StartRange().Start.Line)
	}
	if s.drops == nil {
		s.drops = map[int]bool{}
	}
	s.drops[i] = true
	return nil
}

func (s *tfEncodeSite) replaceWhole(after policy.Document) error {
	text, err := renderHCLDoc(after, s.indent)
	if err != nil {
		return err
	}
	s.edits = append(s.edits, rangeEdit(s.arg.Range(), text))
	return nil
}

func (s *tfEncodeSite) result() ([]byte, error) {
	edits := s.edits
	if len(s.drops) > 0 {
		edits = append(edits, dropElems(s.f.src, exprRanges(s.list.Exprs), s.drops)...)
	}
	return applyEdits(s.f.src, edits)
}

func (s *tfEncodeSite) span() (int, int, error) {
	r := s.arg.Range()
	return r.Start.Byte, r.End.Byte, nil
}

// shorten is an expression's text for a message: one line, at most 60
// characters.
func shorten(b []byte) string {
	t := []rune(strings.Join(strings.Fields(string(b)), " "))
	if len(t) > 60 {
		return string(t[:57]) + "..."
	}
	return string(t)
}

func exprRanges(es []hclsyntax.Expression) []hcl.Range {
	out := make([]hcl.Range, len(es))
	for i, e := range es {
		out[i] = e.Range()
	}
	return out
}

func rangeEdit(r hcl.Range, text string) textEdit { return textEdit{r.Start.Byte, r.End.Byte, text} }

// hclQuote writes s as an HCL string, ${ and %{ escaped, so that IAM
// policy variables such as ${aws:username} stay literal.
func hclQuote(s string) string { return string(hclwrite.TokensForValue(cty.StringVal(s)).Bytes()) }

// hclStrings writes a list of strings on one line, or one per line at
// indent (terraform fmt's layout, with a trailing comma).
func hclStrings(vals []string, multi bool, indent string) string {
	q := make([]string, len(vals))
	for i, x := range vals {
		q[i] = hclQuote(x)
	}
	if !multi {
		return "[" + strings.Join(q, ", ") + "]"
	}
	return "[\n" + indent + "  " + strings.Join(q, ",\n"+indent+"  ") + ",\n" + indent + "]"
}

// dropElems deletes the dropped elements of a list: whole lines when an
// element has its own lines, else the element and one comma.
func dropElems(src []byte, elems []hcl.Range, dropped map[int]bool) []textEdit {
	starts, ends, drop := make([]int, len(elems)), make([]int, len(elems)), make([]bool, len(elems))
	for i, r := range elems {
		starts[i], ends[i], drop[i] = r.Start.Byte, r.End.Byte, dropped[i]
	}
	var edits []textEdit
	for i := range elems {
		if !drop[i] {
			continue
		}
		if a, b, ok := ownLines(src, starts[i], ends[i]); ok {
			edits = append(edits, textEdit{a, b, ""})
			continue
		}
		a, b := dropRange(starts, ends, drop, i)
		edits = append(edits, textEdit{a, b, ""})
	}
	return edits
}

// ownLines widens [start, end) to whole lines (with a trailing comma) when
// nothing else shares them.
func ownLines(src []byte, start, end int) (int, int, bool) {
	a := start - len(lineIndent(src, start))
	if a > 0 && src[a-1] != '\n' {
		return 0, 0, false
	}
	b := end
	if b < len(src) && src[b] == ',' {
		b++
	}
	for b < len(src) && (src[b] == ' ' || src[b] == '\t' || src[b] == '\r') {
		b++
	}
	if b < len(src) && src[b] != '\n' {
		return 0, 0, false
	}
	return a, min(b+1, len(src)), true
}

// renderHCLDoc writes a document as an HCL object in IAM's key order, laid
// out by hclwrite.Format (terraform fmt), its lines after the first
// indented by indent.
func renderHCLDoc(d policy.Document, indent string) (string, error) {
	js, err := prettyJSON(d)
	if err != nil {
		return "", err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var b strings.Builder
	if err := renderHCLValue(&b, dec, indent); err != nil {
		return "", fmt.Errorf("internal error: rendering the policy: %v", err)
	}
	const lead = "x = "
	out := strings.TrimPrefix(string(hclwrite.Format([]byte(lead+b.String()))), lead)
	return strings.ReplaceAll(out, "\n", "\n"+indent), nil
}

// renderHCLValue writes the next JSON value of dec as HCL, one item per
// line (hclwrite.Format indents and aligns them). Lists of scalars stay
// on one line when it is at most 100 columns wide at indent.
func renderHCLValue(b *strings.Builder, dec *json.Decoder, indent string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case string:
		b.WriteString(hclQuote(t))
	case json.Delim:
		if t == '{' {
			return renderHCLObject(b, dec, indent)
		}
		var parts []string
		scalars := true
		for dec.More() {
			var p strings.Builder
			if err := renderHCLValue(&p, dec, indent+"  "); err != nil {
				return err
			}
			parts = append(parts, p.String())
			scalars = scalars && !strings.HasSuffix(p.String(), "}") && !strings.HasSuffix(p.String(), "]")
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		if one := "[" + strings.Join(parts, ", ") + "]"; scalars && len(indent)+len(one) <= 100 {
			b.WriteString(one)
		} else {
			b.WriteString("[\n" + strings.Join(parts, ",\n") + ",\n]")
		}
	case nil:
		b.WriteString("null")
	default:
		fmt.Fprint(b, t) // json.Number, bool
	}
	return nil
}

func renderHCLObject(b *strings.Builder, dec *json.Decoder, indent string) error {
	if !dec.More() {
		_, err := dec.Token()
		b.WriteString("{}")
		return err
	}
	b.WriteString("{\n")
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		key := k.(string)
		if !hclsyntax.ValidIdentifier(key) {
			key = hclQuote(key)
		}
		b.WriteString(key + " = ")
		if err := renderHCLValue(b, dec, indent+"  "); err != nil {
			return err
		}
		b.WriteString("\n")
	}
	_, err := dec.Token()
	b.WriteString("}")
	return err
}
