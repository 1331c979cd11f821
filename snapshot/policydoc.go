package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/iamprune/iamprune/policy"
)

// PolicyDocument is an IAM policy document. On input it accepts a JSON
// object (as the CLI prints it) or a URL-encoded JSON string (as the raw API
// returns it); it always holds the compact JSON text.
type PolicyDocument struct {
	JSON string
}

// UnmarshalJSON accepts both encodings.
func (d *PolicyDocument) UnmarshalJSON(b []byte) error {
	if err := d.unmarshal(bytes.TrimSpace(b)); err != nil {
		return &valueError{raw: b, err: err}
	}
	return nil
}

func (d *PolicyDocument) unmarshal(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		doc, err := policy.DecodePolicyString(s)
		if err != nil {
			return err
		}
		return d.set([]byte(doc))
	case len(b) > 0 && b[0] == '{':
		return d.set(b)
	case string(b) == "null":
		return nil
	}
	return errors.New("policy document must be a JSON object or a URL-encoded string")
}

func (d *PolicyDocument) set(raw []byte) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return err
	}
	d.JSON = buf.String()
	return nil
}

// MarshalJSON writes the document as a JSON object, as the CLI does.
func (d PolicyDocument) MarshalJSON() ([]byte, error) {
	if d.JSON == "" {
		return []byte("null"), nil
	}
	return []byte(d.JSON), nil
}

// URLEncoded returns the document the way the IAM API returns it: RFC 3986
// percent-encoding, so spaces are %20 and '+' is %2B. Both url.PathUnescape
// and url.QueryUnescape (and Java's URLDecoder, which AWS suggests) decode
// it to the same text.
func (d PolicyDocument) URLEncoded() string {
	return strings.ReplaceAll(url.QueryEscape(d.JSON), "+", "%20")
}
