package policy

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/iamprune/iamprune"
)

// Parse reads an IAM policy document. Errors are *iamprune.Error with code
// EINVALID and name the JSON path of the offending element, as in
// "policy: Statement[2].Action: must be a string or a list of strings".
//
// Parse checks the grammar, not the meaning: element names are case
// sensitive as in IAM, unknown elements are refused, and a statement needs
// an Effect and exactly one of Action and NotAction.
func Parse(data []byte) (Document, error) {
	root, err := decodeNode(data)
	if err != nil {
		return Document{}, invalid("%v", err)
	}
	d, err := parseDocument(root)
	if err != nil {
		return Document{}, invalid("%v", err)
	}
	return d, nil
}

func invalid(format string, args ...any) error {
	return iamprune.Errorf(iamprune.EINVALID, "policy: "+format, args...)
}

func parseDocument(root node) (Document, error) {
	var d Document
	if root.kind != kObject {
		return d, fmt.Errorf("document: must be an object, got %s", root.kind)
	}
	seenStatement := false
	for _, m := range root.members {
		switch m.key {
		case "Version":
			if m.val.kind != kString {
				return d, fmt.Errorf("%s: must be a string, got %s", joinPath("", m.key), m.val.kind)
			}
			if m.val.text != Version2012 && m.val.text != Version2008 {
				return d, fmt.Errorf("%s: %q is not %s or %s", joinPath("", m.key), m.val.text, Version2012, Version2008)
			}
			d.Version = m.val.text
		case "Id":
			if m.val.kind != kString {
				return d, fmt.Errorf("%s: must be a string, got %s", joinPath("", m.key), m.val.kind)
			}
			d.ID = m.val.text
		case "Statement":
			seenStatement = true
			switch m.val.kind {
			case kObject:
				s, err := parseStatement(m.val, "Statement")
				if err != nil {
					return d, err
				}
				d.Statement, d.SingleStatement = []Statement{s}, true
			case kArray:
				d.Statement = []Statement{}
				for i, e := range m.val.elems {
					s, err := parseStatement(e, fmt.Sprintf("Statement[%d]", i))
					if err != nil {
						return d, err
					}
					d.Statement = append(d.Statement, s)
				}
			default:
				return d, fmt.Errorf("Statement: must be an object or a list of objects, got %s", m.val.kind)
			}
		default:
			return d, fmt.Errorf("%s: unknown element (want Version, Id or Statement)", joinPath("", m.key))
		}
	}
	if !seenStatement {
		return d, fmt.Errorf("Statement: missing")
	}
	return d, nil
}

func parseStatement(n node, path string) (Statement, error) {
	var s Statement
	if n.kind != kObject {
		return s, fmt.Errorf("%s: must be an object, got %s", path, n.kind)
	}
	var err error
	for _, m := range n.members {
		p := joinPath(path, m.key)
		switch m.key {
		case "Sid":
			if m.val.kind != kString {
				return s, fmt.Errorf("%s: must be a string, got %s", p, m.val.kind)
			}
			s.Sid = m.val.text
		case "Effect":
			if m.val.kind != kString || (m.val.text != Allow && m.val.text != Deny) {
				return s, fmt.Errorf("%s: must be \"Allow\" or \"Deny\"", p)
			}
			s.Effect = m.val.text
		case "Action":
			s.Action, err = parseStrings(m.val, p)
		case "NotAction":
			s.NotAction, err = parseStrings(m.val, p)
		case "Resource":
			s.Resource, err = parseStrings(m.val, p)
		case "NotResource":
			s.NotResource, err = parseStrings(m.val, p)
		case "Principal":
			s.Principal, err = parsePrincipal(m.val, p)
		case "NotPrincipal":
			s.NotPrincipal, err = parsePrincipal(m.val, p)
		case "Condition":
			s.Condition, err = parseCondition(m.val, p)
		default:
			return s, fmt.Errorf("%s: unknown element (want Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource or Condition)", p)
		}
		if err != nil {
			return s, err
		}
	}
	switch {
	case s.Effect == "":
		return s, fmt.Errorf("%s.Effect: missing", path)
	case s.Action.Set() == s.NotAction.Set():
		return s, fmt.Errorf("%s: needs exactly one of Action and NotAction", path)
	case s.Resource.Set() && s.NotResource.Set():
		return s, fmt.Errorf("%s: has both Resource and NotResource", path)
	case s.Principal != nil && s.NotPrincipal != nil:
		return s, fmt.Errorf("%s: has both Principal and NotPrincipal", path)
	}
	return s, nil
}

func parseStrings(n node, path string) (Strings, error) {
	switch n.kind {
	case kString:
		return One(n.text), nil
	case kArray:
		out := Strings{Values: make([]string, 0, len(n.elems))}
		for _, e := range n.elems {
			if e.kind != kString {
				return Strings{}, fmt.Errorf("%s: must be a string or a list of strings", path)
			}
			out.Values = append(out.Values, e.text)
		}
		return out, nil
	}
	return Strings{}, fmt.Errorf("%s: must be a string or a list of strings", path)
}

func parsePrincipal(n node, path string) (*Principal, error) {
	switch n.kind {
	case kString:
		if n.text != "*" {
			return nil, fmt.Errorf("%s: a string principal must be \"*\"; use {\"AWS\": %q} for an account or ARN", path, n.text)
		}
		return &Principal{Wildcard: true}, nil
	case kObject:
		p := &Principal{Entries: []PrincipalEntry{}}
		for _, m := range n.members {
			v, err := parseStrings(m.val, joinPath(path, m.key))
			if err != nil {
				return nil, err
			}
			p.Entries = append(p.Entries, PrincipalEntry{Type: m.key, Values: v})
		}
		return p, nil
	}
	return nil, fmt.Errorf("%s: must be \"*\" or an object of principal types", path)
}

// conditionValueKinds are the scalar kinds a condition value may take:
// IAM accepts "true", true and 10 alike.
var conditionValueKinds = []kind{kString, kBool, kNumber}

// parseCondition checks the shape {operator: {key: value or [values]}} and
// keeps the block as compact JSON in input order.
func parseCondition(n node, path string) ([]byte, error) {
	if n.kind != kObject {
		return nil, fmt.Errorf("%s: must be an object of condition operators, got %s", path, n.kind)
	}
	for _, op := range n.members {
		opPath := joinPath(path, op.key)
		if op.val.kind != kObject {
			return nil, fmt.Errorf("%s: must be an object of condition keys, got %s", opPath, op.val.kind)
		}
		for _, k := range op.val.members {
			kPath := joinPath(opPath, k.key)
			vals := []node{k.val}
			if k.val.kind == kArray {
				vals = k.val.elems
			}
			for _, v := range vals {
				if !slices.Contains(conditionValueKinds, v.kind) {
					return nil, fmt.Errorf("%s: must be a string, number or boolean, or a list of them", kPath)
				}
			}
		}
	}
	var b bytes.Buffer
	n.compact(&b)
	return b.Bytes(), nil
}
