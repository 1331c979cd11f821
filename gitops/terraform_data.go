package gitops

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/iamprune/iamprune/policy"
)

// tfDataSite is a data "aws_iam_policy_document" block, edited statement
// by statement: actions/not_actions are rewritten, dropped statement blocks
// removed, everything else (resources with references, conditions,
// principals, comments) left as it was. A dynamic "statement" block whose
// for_each is a literal list or map makes one statement per element, in
// place; its statements are edited in the for_each value.
type tfDataSite struct {
	f     *tfFile
	block *hclsyntax.Block
	stmts []tfStmt
	edits []textEdit
	// drops holds, per dynamic block, the for_each elements to delete.
	drops map[*tfDynamic]map[int]bool
}

// tfStmt is one statement: a statement block, or element elem of a
// dynamic block's for_each.
type tfStmt struct {
	block *hclsyntax.Block
	dyn   *tfDynamic
	elem  int
	facts fileStmt
}

type tfDynamic struct {
	block   *hclsyntax.Block
	content *hclsyntax.Body
	iter    string
	forEach hclsyntax.Expression
	keys    []cty.Value
}

func (f *tfFile) dataSite(b *hclsyntax.Block) (site, error) {
	name := fmt.Sprintf("data.%s.%s", tfPolicyDocument, b.Labels[1])
	attrs := make([]string, 0, len(b.Body.Attributes))
	for a := range b.Body.Attributes {
		attrs = append(attrs, a)
	}
	sort.Strings(attrs)
	for _, a := range attrs {
		if strings.HasSuffix(a, "_policy_documents") || a == "source_json" || a == "override_json" {
			return nil, fmt.Errorf("%s merges other documents (%s); edit it by hand", name, a)
		}
	}
	s := &tfDataSite{f: f, block: b}
	for _, blk := range b.Body.Blocks {
		switch {
		case blk.Type == "statement":
			s.stmts = append(s.stmts, tfStmt{block: blk, facts: stmtFacts(blk.Body, nil)})
		case blk.Type == "dynamic" && len(blk.Labels) == 1 && blk.Labels[0] == "statement":
			stmts, err := expandDynamic(blk)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			s.stmts = append(s.stmts, stmts...)
		}
	}
	return s, nil
}

// expandDynamic evaluates a dynamic "statement" block for each element of
// its for_each, which must be a literal.
func expandDynamic(blk *hclsyntax.Block) ([]tfStmt, error) {
	line := blk.DefRange().Start.Line
	d := &tfDynamic{block: blk, iter: "statement"}
	if a := blk.Body.Attributes["iterator"]; a != nil {
		d.iter = hcl.ExprAsKeyword(a.Expr)
	}
	for _, c := range blk.Body.Blocks {
		if c.Type == "content" {
			d.content = c.Body
		}
	}
	fe := blk.Body.Attributes["for_each"]
	if fe == nil || d.content == nil || d.iter == "" {
		return nil, fmt.Errorf("dynamic \"statement\" (line %d) needs for_each and a content block", line)
	}
	d.forEach = fe.Expr
	v, diags := fe.Expr.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || !v.CanIterateElements() {
		return nil, fmt.Errorf("the for_each of dynamic \"statement\" (line %d) is not a literal list or map, so its statements are not known; edit it by hand", line)
	}
	var out []tfStmt
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		d.keys = append(d.keys, k)
		ctx := &hcl.EvalContext{Variables: map[string]cty.Value{d.iter: cty.ObjectVal(map[string]cty.Value{"key": k, "value": val})}}
		out = append(out, tfStmt{dyn: d, elem: len(d.keys) - 1, facts: stmtFacts(d.content, ctx)})
	}
	return out, nil
}

// stmtFacts is what a statement body states literally (given ctx).
func stmtFacts(body *hclsyntax.Body, ctx *hcl.EvalContext) fileStmt {
	var f fileStmt
	f.Effect, f.EffectKnown = "Allow", true // the data source's default
	f.SidKnown = true
	if a := body.Attributes["effect"]; a != nil {
		f.Effect, f.EffectKnown = evalString(a.Expr, nil, ctx)
	}
	if a := body.Attributes["sid"]; a != nil {
		f.Sid, f.SidKnown = evalString(a.Expr, nil, ctx)
	}
	for _, k := range []string{"actions", "not_actions"} {
		if a := body.Attributes[k]; a != nil {
			f.Key = map[string]string{"actions": "Action", "not_actions": "NotAction"}[k]
			f.Actions, f.ActionsKnown = evalStrings(a.Expr, ctx)
		}
	}
	return f
}

func (s *tfDataSite) literal() (policy.Document, bool, error) { return policy.Document{}, false, nil }

func (s *tfDataSite) statements() ([]fileStmt, bool) {
	out := make([]fileStmt, len(s.stmts))
	for i, st := range s.stmts {
		out[i] = st.facts
	}
	return out, true
}

func (s *tfDataSite) setActions(i int, oldKey string, v policy.Strings) error {
	name := map[string]string{"Action": "actions", "NotAction": "not_actions"}[oldKey]
	st := s.stmts[i]
	if st.dyn != nil {
		return s.setDynamicActions(i, name, v)
	}
	a := st.block.Body.Attributes[name]
	if a == nil {
		return fmt.Errorf("statement %d has no %s", i, name)
	}
	if name != "actions" {
		s.edits = append(s.edits, rangeEdit(a.NameRange, "actions"))
	}
	s.edits = append(s.edits, s.listEdit(a.Expr.Range(), lineIndent(s.f.src, a.NameRange.Start.Byte), v))
	return nil
}

func (s *tfDataSite) listEdit(r hcl.Range, indent string, v policy.Strings) textEdit {
	return rangeEdit(r, hclStrings(v.Values, strings.Contains(string(s.f.text(r)), "\n"), indent))
}

// setDynamicActions edits the value that content's actions come from:
// ITER.value.FIELD in an object of the for_each.
func (s *tfDataSite) setDynamicActions(i int, name string, v policy.Strings) error {
	st := s.stmts[i]
	d := st.dyn
	refuse := func(why string) error {
		return fmt.Errorf("statement %d comes from the dynamic \"statement\" block on line %d, and %s; edit it by hand", i+1, d.block.DefRange().Start.Line, why)
	}
	a := d.content.Attributes[name]
	if a == nil {
		return fmt.Errorf("statement %d has no %s", i, name)
	}
	if name != "actions" {
		return refuse("its not_actions would become actions for every element")
	}
	field, ok := iterField(a.Expr, d.iter)
	if !ok {
		return refuse(fmt.Sprintf("its actions are not %s.value.FIELD", d.iter))
	}
	obj, ok := s.element(d, st.elem).(*hclsyntax.ObjectConsExpr)
	var val hclsyntax.Expression
	if ok {
		val = objItem(obj, field)
	}
	if val == nil {
		return refuse(fmt.Sprintf("its for_each element %s is not an object with %s", string(hclwrite.TokensForValue(d.keys[st.elem]).Bytes()), field))
	}
	s.edits = append(s.edits, s.listEdit(val.Range(), lineIndent(s.f.src, val.Range().Start.Byte), v))
	return nil
}

// iterField matches ITER.value.FIELD and ITER.value["FIELD"].
func iterField(e hclsyntax.Expression, iter string) (string, bool) {
	t, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(t.Traversal) != 3 || t.Traversal.RootName() != iter {
		return "", false
	}
	if v, ok := t.Traversal[1].(hcl.TraverseAttr); !ok || v.Name != "value" {
		return "", false
	}
	switch f := t.Traversal[2].(type) {
	case hcl.TraverseAttr:
		return f.Name, true
	case hcl.TraverseIndex:
		if f.Key.Type() == cty.String {
			return f.Key.AsString(), true
		}
	}
	return "", false
}

// element returns the expression of the for_each element that made
// statement elem: the elem-th of a list, the item with its key in a map.
func (s *tfDataSite) element(d *tfDynamic, elem int) hclsyntax.Expression {
	switch fe := d.forEach.(type) {
	case *hclsyntax.TupleConsExpr:
		if len(fe.Exprs) == len(d.keys) {
			return fe.Exprs[elem]
		}
	case *hclsyntax.ObjectConsExpr:
		if it := s.item(fe, d.keys[elem]); it != nil {
			return it.ValueExpr
		}
	}
	return nil
}

func (s *tfDataSite) item(o *hclsyntax.ObjectConsExpr, key cty.Value) *hclsyntax.ObjectConsItem {
	if key.Type() != cty.String {
		return nil
	}
	return objItemOf(o, key.AsString())
}

func (s *tfDataSite) drop(i int) error {
	st := s.stmts[i]
	if st.dyn == nil {
		s.edits = append(s.edits, dropBlock(s.f.src, st.block))
		return nil
	}
	if s.element(st.dyn, st.elem) == nil {
		return fmt.Errorf("statement %d comes from the dynamic \"statement\" block on line %d, whose for_each is not a list or map written out; edit it by hand", i+1, st.dyn.block.DefRange().Start.Line)
	}
	if s.drops == nil {
		s.drops = map[*tfDynamic]map[int]bool{}
	}
	if s.drops[st.dyn] == nil {
		s.drops[st.dyn] = map[int]bool{}
	}
	s.drops[st.dyn][st.elem] = true
	return nil
}

// dropBlock removes a block's lines. Blocks separated by blank lines stay
// so: one of the two blank lines around the removed block goes too.
func dropBlock(src []byte, b *hclsyntax.Block) textEdit {
	start := b.TypeRange.Start.Byte
	start -= len(lineIndent(src, start))
	end := b.CloseBraceRange.End.Byte
	for end < len(src) && (src[end] == ' ' || src[end] == '\t' || src[end] == '\r') {
		end++
	}
	if end < len(src) && src[end] == '\n' {
		end++
	}
	if start >= 2 && src[start-1] == '\n' && src[start-2] == '\n' {
		if end < len(src) && src[end] == '\n' {
			end++
		} else {
			start--
		}
	}
	return textEdit{start, end, ""}
}

func (s *tfDataSite) replaceWhole(policy.Document) error {
	return fmt.Errorf("data.%s cannot be rewritten as a whole", tfPolicyDocument)
}

func (s *tfDataSite) result() ([]byte, error) {
	edits := s.edits
	for d, elems := range s.drops {
		switch fe := d.forEach.(type) {
		case *hclsyntax.TupleConsExpr:
			edits = append(edits, dropElems(s.f.src, exprRanges(fe.Exprs), elems)...)
		case *hclsyntax.ObjectConsExpr:
			items := make([]hcl.Range, len(fe.Items))
			drop := map[int]bool{}
			for j, it := range fe.Items {
				// A map item spans key to value.
				items[j] = hcl.RangeBetween(it.KeyExpr.Range(), it.ValueExpr.Range())
				for e := range elems {
					if s.item(fe, d.keys[e]) == &fe.Items[j] {
						drop[j] = true
					}
				}
			}
			edits = append(edits, dropElems(s.f.src, items, drop)...)
		}
	}
	return applyEdits(s.f.src, edits)
}

// span is the whole data block.
func (s *tfDataSite) span() (int, int, error) {
	return s.block.TypeRange.Start.Byte, s.block.CloseBraceRange.End.Byte, nil
}
