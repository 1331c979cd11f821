package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

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
