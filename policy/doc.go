// Package policy reads, refines and writes IAM policy documents: it parses
// the full policy grammar, matches action wildcards against the embedded
// catalogue, shrinks Allow statements to what usage data shows is used,
// accounts for IAM's size limits and splits documents that exceed them.
// Allowed is a small evaluator for action-level questions, used by the
// property tests to prove that refinement removes exactly the unused access.
//
// It is pure: it imports the root, catalog and internal/jsontree. decide,
// apply, remediate, render, the adapters that handle policies, app and cmd
// import it.
package policy

import "encoding/json"

// IAM policy language versions.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Effects.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// Document is an IAM policy document.
type Document struct {
	Version string // "" when absent
	ID      string // the Id element; "" when absent
	// SingleStatement records that Statement was written as one object
	// rather than a list; Marshal keeps that form while there is exactly
	// one statement.
	SingleStatement bool
	Statement       []Statement
}

// Statement is one policy statement. Exactly one of Action and NotAction is
// set; at most one of Resource and NotResource, and of Principal and
// NotPrincipal.
type Statement struct {
	Sid          string // "" when absent
	Effect       string // Allow or Deny
	Principal    *Principal
	NotPrincipal *Principal
	Action       Strings
	NotAction    Strings
	Resource     Strings
	NotResource  Strings
	// Condition is the Condition block as compact JSON with its keys in
	// input order, so that it is written back exactly; nil when absent.
	Condition json.RawMessage
}

// Strings is a policy element that may be written as one string or as a
// list of strings. It is absent when Values is nil; an empty list is a
// non-nil empty slice.
type Strings struct {
	Values []string
	// Single records that the element was written as a string: Marshal keeps
	// that form while it holds exactly one value.
	Single bool
}

// Set reports whether the element is present.
func (s Strings) Set() bool { return s.Values != nil }

// List returns a list-form element holding values.
func List(values ...string) Strings {
	return Strings{Values: append([]string{}, values...)}
}

// One returns a string-form element holding value.
func One(value string) Strings { return Strings{Values: []string{value}, Single: true} }

// Principal is a Principal or NotPrincipal element: "*" or a map from
// principal type (AWS, Service, Federated, CanonicalUser) to values, kept
// in input order.
type Principal struct {
	Wildcard bool // the element was the string "*"
	Entries  []PrincipalEntry
}

// PrincipalEntry is one principal type with its values.
type PrincipalEntry struct {
	Type   string
	Values Strings
}

// Clone returns a deep copy of d, so that a refined or split document never
// shares slices with its input.
func (d Document) Clone() Document {
	out := d
	out.Statement = make([]Statement, len(d.Statement))
	for i, s := range d.Statement {
		out.Statement[i] = s.Clone()
	}
	return out
}

// Clone returns a deep copy of s.
func (s Statement) Clone() Statement {
	out := s
	out.Principal = s.Principal.clone()
	out.NotPrincipal = s.NotPrincipal.clone()
	out.Action = s.Action.clone()
	out.NotAction = s.NotAction.clone()
	out.Resource = s.Resource.clone()
	out.NotResource = s.NotResource.clone()
	if s.Condition != nil {
		out.Condition = append(json.RawMessage{}, s.Condition...)
	}
	return out
}

func (s Strings) clone() Strings {
	if s.Values != nil {
		s.Values = append([]string{}, s.Values...)
	}
	return s
}

func (p *Principal) clone() *Principal {
	if p == nil {
		return nil
	}
	out := &Principal{Wildcard: p.Wildcard}
	for _, e := range p.Entries {
		out.Entries = append(out.Entries, PrincipalEntry{Type: e.Type, Values: e.Values.clone()})
	}
	return out
}
