package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Marshal writes d as readable, stable JSON: two-space indentation, keys
// in IAM's conventional order (Version, Id, Statement; Sid, Effect,
// Principal, NotPrincipal, Action, NotAction, Resource, NotResource,
// Condition), each element in the string or list form it was read in, and
// Condition blocks with their keys in input order. The same document
// always gives the same bytes. There is no trailing newline.
func Marshal(d Document) ([]byte, error) {
	c, err := compactDoc(d)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, c, "", "  "); err != nil {
		return nil, fmt.Errorf("policy: cannot indent document: %w", err)
	}
	return out.Bytes(), nil
}

// MarshalStatement writes one statement as compact JSON, as Marshal would
// write it inside a document. Tests compare Deny statements byte for byte
// with it.
func MarshalStatement(s Statement) ([]byte, error) {
	var b bytes.Buffer
	if err := writeStatement(&b, s); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return b.Bytes(), nil
}

func compactDoc(d Document) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	sep := ""
	if d.Version != "" {
		b.WriteString(`"Version":`)
		writeString(&b, d.Version)
		sep = ","
	}
	if d.ID != "" {
		b.WriteString(sep + `"Id":`)
		writeString(&b, d.ID)
		sep = ","
	}
	b.WriteString(sep + `"Statement":`)
	single := d.SingleStatement && len(d.Statement) == 1
	if !single {
		b.WriteByte('[')
	}
	for i, s := range d.Statement {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeStatement(&b, s); err != nil {
			return nil, fmt.Errorf("policy: Statement[%d]: %w", i, err)
		}
	}
	if !single {
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeStatement(b *bytes.Buffer, s Statement) error {
	b.WriteByte('{')
	sep := ""
	key := func(k string) {
		b.WriteString(sep)
		writeString(b, k)
		b.WriteByte(':')
		sep = ","
	}
	if s.Sid != "" {
		key("Sid")
		writeString(b, s.Sid)
	}
	key("Effect")
	writeString(b, s.Effect)
	for _, p := range []struct {
		name string
		p    *Principal
	}{{"Principal", s.Principal}, {"NotPrincipal", s.NotPrincipal}} {
		if p.p != nil {
			key(p.name)
			writePrincipal(b, p.p)
		}
	}
	for _, e := range []struct {
		name string
		v    Strings
	}{{"Action", s.Action}, {"NotAction", s.NotAction}, {"Resource", s.Resource}, {"NotResource", s.NotResource}} {
		if e.v.Set() {
			key(e.name)
			writeStrings(b, e.v)
		}
	}
	if s.Condition != nil {
		key("Condition")
		if err := json.Compact(b, s.Condition); err != nil {
			return fmt.Errorf("invalid Condition: %w", err)
		}
	}
	b.WriteByte('}')
	return nil
}

func writeStrings(b *bytes.Buffer, s Strings) {
	if s.Single && len(s.Values) == 1 {
		writeString(b, s.Values[0])
		return
	}
	b.WriteByte('[')
	for i, v := range s.Values {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, v)
	}
	b.WriteByte(']')
}

func writePrincipal(b *bytes.Buffer, p *Principal) {
	if p.Wildcard {
		b.WriteString(`"*"`)
		return
	}
	b.WriteByte('{')
	for i, e := range p.Entries {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, e.Type)
		b.WriteByte(':')
		writeStrings(b, e.Values)
	}
	b.WriteByte('}')
}
