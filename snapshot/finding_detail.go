package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// JSON names of the FindingDetails union members this version knows.
const (
	MemberUnusedIamRole          = "unusedIamRoleDetails"
	MemberUnusedIamUserAccessKey = "unusedIamUserAccessKeyDetails"
	MemberUnusedIamUserPassword  = "unusedIamUserPasswordDetails"
	MemberUnusedPermission       = "unusedPermissionDetails"
)

// Member returns the JSON name of the member that is set, or "" when none
// is. With more than one set (only possible when built by hand) it returns
// the first known one.
func (d FindingDetail) Member() string {
	switch {
	case d.UnusedIamRoleDetails != nil:
		return MemberUnusedIamRole
	case d.UnusedIamUserAccessKeyDetails != nil:
		return MemberUnusedIamUserAccessKey
	case d.UnusedIamUserPasswordDetails != nil:
		return MemberUnusedIamUserPassword
	case d.UnusedPermissionDetails != nil:
		return MemberUnusedPermission
	}
	for k := range d.Unknown {
		return k
	}
	return ""
}

// IsUnknown reports whether the member set is one this version does not know.
func (d FindingDetail) IsUnknown() bool {
	return len(d.Unknown) > 0 && d.UnusedIamRoleDetails == nil && d.UnusedIamUserAccessKeyDetails == nil &&
		d.UnusedIamUserPasswordDetails == nil && d.UnusedPermissionDetails == nil
}

// UnmarshalJSON decodes a union element: an object with exactly one member.
// Unknown members are kept verbatim. null leaves d unset, as is the
// encoding/json convention.
func (d *FindingDetail) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	if key, val, ok := oneMember(b); ok {
		*d = FindingDetail{}
		if err := d.setMember(key, val); err != nil {
			return fmt.Errorf("finding detail %s: %w", key, err)
		}
		return nil
	}
	ms, err := splitObject(b)
	if err != nil {
		return fmt.Errorf("finding detail: %w", err)
	}
	if len(ms) != 1 {
		return fmt.Errorf("finding detail: want exactly one member, got %d", len(ms))
	}
	*d = FindingDetail{}
	if err := d.setMember(ms[0].key, ms[0].val.raw); err != nil {
		return fmt.Errorf("finding detail %s: %w", ms[0].key, err)
	}
	return nil
}

// setMember decodes raw into the member named key. Errors are relative to
// raw, so that the loader can place them in the file.
func (d *FindingDetail) setMember(key string, raw json.RawMessage) error {
	var dst any
	switch key {
	case MemberUnusedIamRole:
		d.UnusedIamRoleDetails = new(UnusedIamRoleDetails)
		dst = d.UnusedIamRoleDetails
	case MemberUnusedIamUserAccessKey:
		d.UnusedIamUserAccessKeyDetails = new(UnusedIamUserAccessKeyDetails)
		dst = d.UnusedIamUserAccessKeyDetails
	case MemberUnusedIamUserPassword:
		d.UnusedIamUserPasswordDetails = new(UnusedIamUserPasswordDetails)
		dst = d.UnusedIamUserPasswordDetails
	case MemberUnusedPermission:
		d.UnusedPermissionDetails = new(UnusedPermissionDetails)
		dst = d.UnusedPermissionDetails
	default:
		d.Unknown = map[string]json.RawMessage{key: append(json.RawMessage(nil), raw...)}
		return nil
	}
	// A null member would decode to "never used"; refuse rather than guess.
	if k := jsonKind(raw); k != "object" {
		return fmt.Errorf("want object, got %s", k)
	}
	return json.Unmarshal(raw, dst)
}

// MarshalJSON writes the one member that is set; an unknown member is
// written back verbatim.
func (d FindingDetail) MarshalJSON() ([]byte, error) {
	var (
		n   int
		key string
		val any
	)
	set := func(k string, v any) {
		n++
		key, val = k, v
	}
	if d.UnusedIamRoleDetails != nil {
		set(MemberUnusedIamRole, d.UnusedIamRoleDetails)
	}
	if d.UnusedIamUserAccessKeyDetails != nil {
		set(MemberUnusedIamUserAccessKey, d.UnusedIamUserAccessKeyDetails)
	}
	if d.UnusedIamUserPasswordDetails != nil {
		set(MemberUnusedIamUserPassword, d.UnusedIamUserPasswordDetails)
	}
	if d.UnusedPermissionDetails != nil {
		set(MemberUnusedPermission, d.UnusedPermissionDetails)
	}
	for k, raw := range d.Unknown {
		set(k, raw)
	}
	if n != 1 {
		return nil, fmt.Errorf("snapshot: finding detail must have exactly one member, has %d", n)
	}
	var body []byte
	if raw, ok := val.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return nil, errors.New("snapshot: finding detail " + key + " holds invalid JSON")
		}
		body = raw
	} else {
		var err error
		if body, err = json.Marshal(val); err != nil {
			return nil, err
		}
	}
	name, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(name)+len(body)+3)
	out = append(out, '{')
	out = append(out, name...)
	out = append(out, ':')
	out = append(out, body...)
	return append(out, '}'), nil
}

// oneMember returns the key and value of b when b is valid JSON holding an
// object of exactly one member whose key has no escapes: the shape of
// nearly every union element, read without building a tree. Anything
// else reports false, and the caller splits b the general way.
func oneMember(b []byte) (key string, val []byte, ok bool) {
	if !json.Valid(b) {
		return "", nil, false
	}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", nil, false
	}
	i = skipSpace(b, i+1)
	if i >= len(b) || b[i] != '"' {
		return "", nil, false
	}
	end := bytes.IndexByte(b[i+1:], '"')
	if end < 0 || bytes.IndexByte(b[i+1:i+1+end], '\\') >= 0 {
		return "", nil, false
	}
	key = string(b[i+1 : i+1+end])
	i = skipSpace(b, i+2+end)
	if i >= len(b) || b[i] != ':' {
		return "", nil, false
	}
	start := skipSpace(b, i+1)
	// b is valid: the value runs to the last '}', unless a ',' at depth
	// one says there is another member.
	last := bytes.LastIndexByte(b, '}')
	depth, inString, escaped := 0, false, false
	for j := start; j < last; j++ {
		c := b[j]
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ',' && depth == 0:
			return "", nil, false
		}
	}
	return key, bytes.TrimRight(b[start:last], " \t\r\n"), true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}
