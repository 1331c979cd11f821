package gitops

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/iamprune/iamprune"
)

// Terraform files are parsed with HCL's own parser (hclsyntax): it finds
// the policy and gives the byte range of every expression. Edits are text
// edits on those ranges, so every other byte of the file stays as it was.

// Terraform resources whose `policy` attribute is a policy document.
var tfPolicyResources = map[string]bool{
	"aws_iam_policy": true, "aws_iam_role_policy": true, "aws_iam_user_policy": true, "aws_iam_group_policy": true,
}

const tfPolicyDocument = "aws_iam_policy_document"

type tfFile struct {
	src  []byte
	body *hclsyntax.Body
	toks hclsyntax.Tokens
}

func parseTF(src []byte) (*tfFile, error) {
	f, diags := hclsyntax.ParseConfig(src, "", hcl.InitialPos)
	if err := diagError(diags); err != nil {
		return nil, err
	}
	toks, diags := hclsyntax.LexConfig(src, "", hcl.InitialPos)
	if err := diagError(diags); err != nil {
		return nil, err
	}
	return &tfFile{src: src, body: f.Body.(*hclsyntax.Body), toks: toks}, nil
}

// diagError turns HCL's error diagnostics into "line N: summary: detail".
func diagError(diags hcl.Diagnostics) error {
	if !diags.HasErrors() {
		return nil
	}
	var msgs []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		m := d.Summary
		if d.Detail != "" {
			m += ": " + d.Detail
		}
		if d.Subject != nil {
			m = fmt.Sprintf("line %d: %s", d.Subject.Start.Line, m)
		}
		msgs = append(msgs, m)
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

func (f *tfFile) text(r hcl.Range) []byte { return f.src[r.Start.Byte:r.End.Byte] }

func (f *tfFile) find(kind string, labels ...string) *hclsyntax.Block {
	for _, b := range f.body.Blocks {
		if b.Type == kind && strings.Join(b.Labels, "\x00") == strings.Join(labels, "\x00") {
			return b
		}
	}
	return nil
}

// literalString is the value of an attribute that is a plain string.
func literalString(body *hclsyntax.Body, name string) (string, bool) {
	a := body.Attributes[name]
	if a == nil {
		return "", false
	}
	return evalString(a.Expr, nil, nil)
}

// newTFSite finds the policy for chg in a Terraform file. Pointers:
// TYPE.NAME (a resource with a policy attribute, or aws_iam_role.NAME with
// an inline_policy block named like the policy) or
// data.aws_iam_policy_document.NAME; "" searches by name.
func newTFSite(src []byte, pointer string, chg iamprune.PolicyChange) (site, error) {
	f, err := parseTF(src)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(pointer, ".")
	switch {
	case pointer == "":
		return f.search(chg.Name)
	case len(parts) == 3 && parts[0] == "data":
		if parts[1] != tfPolicyDocument {
			return nil, fmt.Errorf("data source %q is not %s", parts[1], tfPolicyDocument)
		}
		b := f.find("data", parts[1], parts[2])
		if b == nil {
			return nil, fmt.Errorf("no block data %q %q", parts[1], parts[2])
		}
		return f.dataSite(b)
	case len(parts) == 2:
		b := f.find("resource", parts[0], parts[1])
		if b == nil {
			return nil, fmt.Errorf("no block resource %q %q", parts[0], parts[1])
		}
		if tfPolicyResources[parts[0]] {
			return f.policyAttr(b)
		}
		if parts[0] == "aws_iam_role" || parts[0] == "aws_iam_user" {
			for _, ib := range b.Body.Blocks {
				if n, ok := literalString(ib.Body, "name"); ok && ib.Type == "inline_policy" && n == chg.Name {
					return f.policyAttr(ib)
				}
			}
			return nil, fmt.Errorf("resource %s has no inline_policy block named %q", pointer, chg.Name)
		}
		return nil, fmt.Errorf("resource type %q holds no policy document (want aws_iam_policy, aws_iam_role_policy, aws_iam_user_policy, aws_iam_group_policy, or data.%s.NAME)", parts[0], tfPolicyDocument)
	}
	return nil, fmt.Errorf("pointer %q is not TYPE.NAME or data.%s.NAME", pointer, tfPolicyDocument)
}

// search finds a policy resource labelled name or with that literal name,
// or a policy-document data block labelled name.
func (f *tfFile) search(name string) (site, error) {
	for _, b := range f.body.Blocks {
		if len(b.Labels) != 2 {
			continue
		}
		if b.Type == "data" && b.Labels[0] == tfPolicyDocument && b.Labels[1] == name {
			return f.dataSite(b)
		}
		if b.Type == "resource" && tfPolicyResources[b.Labels[0]] {
			if n, _ := literalString(b.Body, "name"); b.Labels[1] == name || n == name {
				return f.policyAttr(b)
			}
		}
	}
	return nil, fmt.Errorf("no aws_iam_policy / aws_iam_*_policy resource or data.%s named %q; set a pointer", tfPolicyDocument, name)
}

// policyAttr makes a site of the `policy` attribute of a block.
func (f *tfFile) policyAttr(owner *hclsyntax.Block) (site, error) {
	a := owner.Body.Attributes["policy"]
	if a == nil {
		return nil, fmt.Errorf("block %s %s has no policy attribute", owner.Type, strings.Join(owner.Labels, " "))
	}
	switch e := a.Expr.(type) {
	case *hclsyntax.ScopeTraversalExpr:
		if name, ok := policyDocumentRef(e.Traversal); ok {
			b := f.find("data", tfPolicyDocument, name)
			if b == nil {
				return nil, fmt.Errorf("policy refers to data.%s.%s, which is not in this file", tfPolicyDocument, name)
			}
			return f.dataSite(b)
		}
	case *hclsyntax.FunctionCallExpr:
		switch {
		case e.Name == "jsonencode" && len(e.Args) == 1 && !e.ExpandFinal:
			return f.encodeSite(a, e.Args[0])
		case e.Name == "file" || e.Name == "templatefile":
			return nil, fmt.Errorf("policy = %s(...) reads another file; map the policy to that file instead", e.Name)
		}
	case *hclsyntax.TemplateExpr:
		switch f.tokenAt(e.SrcRange.Start.Byte).Type {
		case hclsyntax.TokenOHeredoc:
			return f.heredocSite(e)
		case hclsyntax.TokenOQuote:
			return f.stringSite(e)
		}
	}
	return nil, fmt.Errorf("line %d: policy = … is not jsonencode({…}), a string or heredoc holding JSON, or data.%s.NAME.json; edit it by hand", a.SrcRange.Start.Line, tfPolicyDocument)
}

// policyDocumentRef matches data.aws_iam_policy_document.NAME.json.
func policyDocumentRef(t hcl.Traversal) (string, bool) {
	if len(t) != 4 || t.RootName() != "data" {
		return "", false
	}
	var names []string
	for _, step := range t[1:] {
		a, ok := step.(hcl.TraverseAttr)
		if !ok {
			return "", false
		}
		names = append(names, a.Name)
	}
	return names[1], names[0] == tfPolicyDocument && names[2] == "json"
}

// tokenAt returns the token starting at byte offset off.
func (f *tfFile) tokenAt(off int) hclsyntax.Token {
	for _, t := range f.toks {
		if t.Range.Start.Byte == off && t.Type != hclsyntax.TokenNewline {
			return t
		}
	}
	return hclsyntax.Token{}
}

// tokensIn returns the tokens within r.
func (f *tfFile) tokensIn(r hcl.Range) hclsyntax.Tokens {
	var out hclsyntax.Tokens
	for _, t := range f.toks {
		if t.Range.Start.Byte >= r.Start.Byte && t.Range.End.Byte <= r.End.Byte {
			out = append(out, t)
		}
	}
	return out
}
