package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
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
		doc, err := DecodePolicyString(s)
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

// DecodePolicyString turns a policy document string into JSON text. IAM
// returns documents percent-encoded per RFC 3986 (spaces as %20, '+' as
// %2B), so '+' is first taken literally (url.PathUnescape). Only when that
// does not give a JSON object is '+' read as a space, for text written by
// form encoders (url.QueryEscape, Python quote_plus). A string that already
// is a JSON object is taken as is: encoded text cannot start with '{'.
func DecodePolicyString(s string) (string, error) {
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") {
		if err := checkObject(t); err != nil {
			return "", fmt.Errorf("policy document string is not valid JSON: %v", err)
		}
		return t, nil
	}
	var firstErr error
	for _, unescape := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
		dec, err := unescape(s)
		if err == nil {
			err = checkObject(dec)
		}
		if err == nil {
			return dec, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return "", fmt.Errorf("policy document string is neither a JSON object nor URL-encoded JSON: %v", firstErr)
}

func checkObject(s string) error {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return err
	}
	if _, ok := v.(map[string]any); !ok {
		return errors.New("not a JSON object")
	}
	return nil
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
