package render

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
)

// FormatVersion is the version of every JSON document iamprune writes for
// programs (plan, apply and rollback results, history, holds, notices and
// the exceptions reports), carried in their "format_version" field and
// described by the JSON Schemas in docs/schema/. A field added bumps the
// minor number; a field renamed, removed or changed in meaning (which the
// contract forbids) would bump the major one. See docs/exports.md.
const FormatVersion = "1.0"

// FormatMajor is the major part of FormatVersion: a saved plan of another
// major version is refused.
const FormatMajor = "1"

// SameMajor reports whether version v (e.g. "1.3") has FormatVersion's
// major number; "" (written before format_version existed) counts as 1.
func SameMajor(v string) bool {
	if v == "" {
		return true
	}
	major, _, _ := strings.Cut(v, ".")
	return major == FormatMajor
}

// writeVersioned writes v, a value that encodes as a JSON object, indented
// by two spaces with "format_version" as its first member.
func writeVersioned(w io.Writer, v any, escapeHTML bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b := bytes.TrimSpace(buf.Bytes())
	if len(b) < 2 || b[0] != '{' {
		return errWrap("JSON", errNotObject)
	}
	head := `{"format_version":"` + FormatVersion + `"`
	if !bytes.Equal(b, []byte("{}")) {
		head += ","
	}
	compact := append([]byte(head), b[1:]...)
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

var errNotObject = jsonError("not a JSON object")

type jsonError string

func (e jsonError) Error() string { return string(e) }
