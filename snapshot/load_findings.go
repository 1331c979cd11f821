package snapshot

import (
	"encoding/json"
	"fmt"
	"strings"
)

// decodeFinding decodes one get-finding-v2 output. findingDetails is split
// by hand so that errors inside a union element carry their position.
func decodeFinding(f *file, v rawAt, path string) (Finding, error) {
	var shadow struct {
		Finding
		// Shadows Finding.FindingDetails (shallower field wins).
		FindingDetails json.RawMessage `json:"findingDetails"`
	}
	if err := json.Unmarshal(v.raw, &shadow); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			// The path runs through the embedded struct; drop its name.
			te.Field = strings.TrimPrefix(te.Field, "Finding.")
		}
		return Finding{}, f.decodeErr(v, path, err)
	}
	fd := shadow.Finding
	if missing := firstMissing(req{"id", fd.Id == ""}, req{"status", fd.Status == ""},
		req{"resource", fd.Resource == ""}, req{"findingType", fd.FindingType == ""}); missing != "" {
		return fd, f.errLine(v.off, "%s.%s: missing", path, missing)
	}
	ms, err := f.members(v, path)
	if err != nil {
		return fd, err
	}
	dv, ok := lookup(ms, "findingDetails")
	if !ok {
		return fd, nil
	}
	dpath := path + ".findingDetails"
	els, err := f.elements(dv, dpath)
	if err != nil {
		return fd, err
	}
	fd.FindingDetails = make([]FindingDetail, 0, len(els))
	for i, e := range els {
		d, err := decodeDetail(f, e, fmt.Sprintf("%s[%d]", dpath, i))
		if err != nil {
			return fd, err
		}
		fd.FindingDetails = append(fd.FindingDetails, d)
	}
	return fd, nil
}

func decodeDetail(f *file, v rawAt, path string) (FindingDetail, error) {
	var d FindingDetail
	ms, err := f.members(v, path)
	if err != nil {
		return d, err
	}
	if len(ms) != 1 {
		return d, f.errAt(v.off, "%s: want exactly one member (a union), got %d", path, len(ms))
	}
	m := ms[0]
	mpath := path + "." + m.key
	if err := d.setMember(m.key, m.val.raw); err != nil {
		return d, f.decodeErr(m.val, mpath, err)
	}
	var missing string
	switch {
	case d.UnusedIamUserAccessKeyDetails != nil:
		missing = firstMissing(req{"accessKeyId", d.UnusedIamUserAccessKeyDetails.AccessKeyId == ""})
	case d.UnusedPermissionDetails != nil:
		p := d.UnusedPermissionDetails
		missing = firstMissing(req{"serviceNamespace", p.ServiceNamespace == ""})
		for i, a := range p.Actions {
			if missing == "" && a.Action == "" {
				missing = fmt.Sprintf("actions[%d].action", i)
			}
		}
	}
	if missing != "" {
		return d, f.errLine(m.val.off, "%s.%s: missing", mpath, missing)
	}
	return d, nil
}
