package gitops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/iamprune/iamprune/policy"
)

// A policy in a heredoc or a quoted string is JSON inside a Terraform
// template. Both are edited by the JSON editor (jsonSite with interp) on
// the template's text: a heredoc's body as it stands, a quoted string's
// text with its backslash escapes decoded and re-encoded afterwards.
// ${…} interpolations stay as they are written.

// tfHeredocSite is a JSON policy in a heredoc: a jsonSite on its body.
type tfHeredocSite struct {
	file       []byte
	start, end int // the body, from after <<EOF\n to the closing marker's line
	*jsonSite
}

func (f *tfFile) heredocSite(e *hclsyntax.TemplateExpr) (site, error) {
	toks := f.tokensIn(e.SrcRange)
	if len(toks) < 2 || toks[0].Type != hclsyntax.TokenOHeredoc || toks[len(toks)-1].Type != hclsyntax.TokenCHeredoc {
		return nil, fmt.Errorf("line %d: internal error: heredoc tokens", e.SrcRange.Start.Line)
	}
	start := toks[0].Range.End.Byte
	end := toks[len(toks)-1].Range.Start.Byte
	for end > start && f.src[end-1] != '\n' {
		end-- // the closing marker's indentation belongs to it
	}
	body := f.src[start:end]
	root, err := parseJSONOffsets(body)
	if err != nil {
		return nil, fmt.Errorf("the heredoc policy is not JSON: %v", err)
	}
	return &tfHeredocSite{file: f.src, start: start, end: end, jsonSite: &jsonSite{src: body, node: root, interp: true}}, nil
}

func (s *tfHeredocSite) span() (int, int, error) { return s.start, s.end, nil }

func (s *tfHeredocSite) result() ([]byte, error) {
	body, err := s.jsonSite.result()
	if err != nil {
		return nil, err
	}
	return splice(s.file, s.start, s.end, body), nil
}

func splice(src []byte, start, end int, text []byte) []byte {
	out := append([]byte{}, src[:start]...)
	out = append(out, text...)
	return append(out, src[end:]...)
}

// tfStringSite is policy = "{\"Version\": …}": the JSON editor works on
// the decoded text, which is encoded back into one quoted string.
type tfStringSite struct {
	file       []byte
	start, end int // the quoted string, quotes included
	*jsonSite
}

func (f *tfFile) stringSite(e *hclsyntax.TemplateExpr) (site, error) {
	toks := f.tokensIn(e.SrcRange)
	var b strings.Builder
	for i := 1; i < len(toks)-1; i++ {
		switch t := toks[i]; t.Type {
		case hclsyntax.TokenQuotedLit:
			v, diags := hclsyntax.ParseExpression(append(append([]byte(`"`), t.Bytes...), '"'), "", hcl.InitialPos)
			s, ok := evalString(v, diags, nil)
			if !ok {
				return nil, fmt.Errorf("line %d: internal error: decoding %q", t.Range.Start.Line, t.Bytes)
			}
			b.WriteString(escapeTemplate(s))
		case hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			j := closeSequence(toks, i)
			b.Write(f.src[t.Range.Start.Byte:toks[j].Range.End.Byte])
			i = j
		default:
			return nil, fmt.Errorf("line %d: internal error: unexpected %s in a string", t.Range.Start.Line, t.Type)
		}
	}
	text := []byte(b.String())
	root, err := parseJSONOffsets(text)
	if err != nil {
		return nil, fmt.Errorf("the policy string is not JSON: %v", err)
	}
	return &tfStringSite{file: f.src, start: e.SrcRange.Start.Byte, end: e.SrcRange.End.Byte, jsonSite: &jsonSite{src: text, node: root, interp: true}}, nil
}

// closeSequence returns the index of the } that ends the ${ or %{ at i.
func closeSequence(toks hclsyntax.Tokens, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch toks[j].Type {
		case hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
		case hclsyntax.TokenTemplateSeqEnd:
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return len(toks) - 1
}

// evalString is the value of e when it is a string that needs nothing
// but ctx (nil: no variables, no functions).
func evalString(e hclsyntax.Expression, diags hcl.Diagnostics, ctx *hcl.EvalContext) (string, bool) {
	if diags.HasErrors() {
		return "", false
	}
	v, diags := e.Value(ctx)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || !v.Type().Equals(cty.String) {
		return "", false
	}
	return v.AsString(), true
}

func (s *tfStringSite) span() (int, int, error) { return s.start, s.end, nil }

// replaceWhole writes compact JSON: a string holds one line.
func (s *tfStringSite) replaceWhole(after policy.Document) error {
	pretty, err := prettyJSON(after)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := json.Compact(&b, pretty); err != nil {
		return err
	}
	s.edits = append(s.edits, textEdit{s.node.start, s.node.end, escapeTemplate(b.String())})
	return nil
}

func (s *tfStringSite) result() ([]byte, error) {
	text, err := s.jsonSite.result()
	if err != nil {
		return nil, err
	}
	q, err := quoteTemplate(text)
	if err != nil {
		return nil, err
	}
	return splice(s.file, s.start, s.end, q), nil
}

// quoteTemplate encodes template text (literal parts with $${ escapes,
// ${…} sequences as written) as one quoted Terraform string.
func quoteTemplate(text []byte) ([]byte, error) {
	toks, diags := hclsyntax.LexTemplate(text, "", hcl.InitialPos)
	if err := diagError(diags); err != nil {
		return nil, fmt.Errorf("internal error: the edited policy string: %v", err)
	}
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)
	out := []byte{'"'}
	for i := 0; i < len(toks); i++ {
		switch t := toks[i]; t.Type {
		case hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			j := closeSequence(toks, i)
			out = append(out, text[t.Range.Start.Byte:toks[j].Range.End.Byte]...)
			i = j
		case hclsyntax.TokenEOF:
		default:
			out = append(out, esc.Replace(string(t.Bytes))...)
		}
	}
	return append(out, '"'), nil
}
