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
