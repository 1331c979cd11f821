package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
)

// PolicyDocument is an IAM policy document. On input it accepts a JSON
// object (as the CLI prints it) or a URL-encoded JSON string (as the raw API
// returns it); it always holds the compact JSON text.
type PolicyDocument struct {
	JSON string
}

// UnmarshalJSON accepts both encodings.
func (d *PolicyDocument) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		dec, err := url.QueryUnescape(s)
		if err != nil {
			// Some tools emit plain JSON strings, not URL-encoded ones.
			dec = s
		}
		var v any
		if err := json.Unmarshal([]byte(dec), &v); err != nil {
			return fmt.Errorf("policy document string is neither URL-encoded JSON nor JSON: %v", err)
		}
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("policy document is not a JSON object")
		}
		return d.set([]byte(dec))
	}
	if len(b) > 0 && b[0] == '{' {
		return d.set(b)
	}
	if string(b) == "null" {
		return nil
	}
	return fmt.Errorf("policy document must be a JSON object or a URL-encoded string")
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

// URLEncoded returns the document the way the IAM API returns it.
func (d PolicyDocument) URLEncoded() string {
	return url.QueryEscape(d.JSON)
}
