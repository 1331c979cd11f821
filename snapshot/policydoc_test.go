package snapshot

import (
	"encoding/json"
	"net/url"
	"testing"
)

func TestPolicyDocumentDecode(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"object", `{"Version": "2012-10-17", "Statement": []}`, `{"Version":"2012-10-17","Statement":[]}`},
		{"IAM RFC 3986", `"%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Sid%22%3A%20%22a%2Bb%20c%22%7D"`,
			`{"Version": "2012-10-17", "Sid": "a+b c"}`},
		// With RFC 3986, + is literal: it must not become a space.
		{"literal + beside %20", `"%7B%22Sid%22%3A%20%22a+b%20c%22%7D"`, `{"Sid": "a+b c"}`},
		{"literal + without spaces", `"%7B%22Sid%22%3A%22x+y%22%7D"`, `{"Sid":"x+y"}`},
		// Form encoding: + between tokens only parses as a space.
		{"form-encoded", `"%7B%22Version%22%3A+%222012-10-17%22%2C+%22Sid%22%3A+%22a+b%22%7D"`, `{"Version": "2012-10-17", "Sid": "a b"}`},
		{"plain JSON string with %", `"{\"Sid\": \"50%\"}"`, `{"Sid": "50%"}`},
		{"null", `null`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d PolicyDocument
			if err := json.Unmarshal([]byte(tt.in), &d); err != nil {
				t.Fatal(err)
			}
			if d.JSON != compact(t, tt.want) {
				t.Errorf("JSON = %s, want %s", d.JSON, compact(t, tt.want))
			}
		})
	}
	for _, bad := range []string{`"%7Bnot%20json"`, `"%ZZ"`, `"[1]"`, `5`, `[]`} {
		var d PolicyDocument
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s: decoded %q, want an error", bad, d.JSON)
		}
	}
}

func compact(t *testing.T, s string) string {
	if s == "" {
		return ""
	}
	var d PolicyDocument
	if err := d.set([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return d.JSON
}

// URLEncoded is what the emulator serves: IAM's encoding, which every
// common decoder reads back the same.
func TestPolicyDocumentURLEncoded(t *testing.T) {
	d := PolicyDocument{JSON: `{"Sid":"a+b c","Resource":"arn:aws:s3:::bucket/*"}`}
	enc := d.URLEncoded()
	for name, unescape := range map[string]func(string) (string, error){"path": url.PathUnescape, "query": url.QueryUnescape} {
		got, err := unescape(enc)
		if err != nil || got != d.JSON {
			t.Errorf("%s-unescape(%s) = %q, %v", name, enc, got, err)
		}
	}
	var back PolicyDocument
	if err := json.Unmarshal([]byte(`"`+enc+`"`), &back); err != nil || back.JSON != d.JSON {
		t.Errorf("decoding %s gave %q, %v", enc, back.JSON, err)
	}
}
