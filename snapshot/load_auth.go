package snapshot

import (
	"encoding/json"
	"fmt"
	"strings"
)

// loadAuth reads account-authorization-details.json as the CLI prints it.
// Keys other than the four lists (IsTruncated, Marker, ...) are ignored.
func loadAuth(f *file) (AuthDetails, error) {
	if a, ok := loadAuthFast(f.data); ok {
		return a, nil
	}
	return loadAuthPositioned(f)
}

// loadAuthPositioned reads the file through its positioned tree, each
// element on its own, so that a message names the line and field.
func loadAuthPositioned(f *file) (AuthDetails, error) {
	var a AuthDetails
	root, err := f.root()
	if err != nil {
		return a, err
	}
	ms, err := f.members(root, "")
	if err != nil {
		return a, err
	}
	for _, m := range ms {
		var err error
		switch {
		case strings.EqualFold(m.key, "UserDetailList"):
			a.UserDetailList, err = authList(f, m, func(u *UserDetail) string {
				return firstMissing(req{"Arn", u.Arn == ""}, req{"UserName", u.UserName == ""}, req{"CreateDate", u.CreateDate.IsZero()})
			})
		case strings.EqualFold(m.key, "RoleDetailList"):
			a.RoleDetailList, err = authList(f, m, func(r *RoleDetail) string {
				return firstMissing(req{"Arn", r.Arn == ""}, req{"RoleName", r.RoleName == ""}, req{"CreateDate", r.CreateDate.IsZero()})
			})
		case strings.EqualFold(m.key, "GroupDetailList"):
			a.GroupDetailList, err = authList(f, m, func(*GroupDetail) string { return "" })
		case strings.EqualFold(m.key, "Policies"):
			a.Policies, err = authList(f, m, func(*ManagedPolicyDetail) string { return "" })
		}
		if err != nil {
			return a, err
		}
	}
	return a, nil
}

func authList[T any](f *file, m memberAt, check func(*T) string) ([]T, error) {
	els, err := f.elements(m.val, m.key)
	if err != nil {
		return nil, err
	}
	dec := decodeInto(check)
	out := make([]T, 0, len(els))
	for i, v := range els {
		t, err := dec(f, v, fmt.Sprintf("%s[%d]", m.key, i))
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// loadAuthFast decodes good authorization details with encoding/json
// alone, without the positioned tree: most of a snapshot's size besides
// the findings. It reports false at the first doubt (any error, a missing
// field), and loadAuth then reads the file the positioned way, so that
// what is accepted and every message stay the same. A list that is
// present is never nil, as loadAuth leaves it.
func loadAuthFast(data []byte) (AuthDetails, bool) {
	var a AuthDetails
	if jsonKind(data) != "object" {
		return a, false
	}
	var top struct {
		Users    json.RawMessage `json:"UserDetailList"`
		Groups   json.RawMessage `json:"GroupDetailList"`
		Roles    json.RawMessage `json:"RoleDetailList"`
		Policies json.RawMessage `json:"Policies"`
	}
	if json.Unmarshal(data, &top) != nil {
		return a, false
	}
	ok := fastList(top.Users, &a.UserDetailList, func(u *UserDetail) bool { return u.Arn != "" && u.UserName != "" && !u.CreateDate.IsZero() }) &&
		fastList(top.Roles, &a.RoleDetailList, func(r *RoleDetail) bool { return r.Arn != "" && r.RoleName != "" && !r.CreateDate.IsZero() }) &&
		fastList(top.Groups, &a.GroupDetailList, nil) &&
		fastList(top.Policies, &a.Policies, nil)
	return a, ok
}

// fastList decodes raw, when present, into a list that is never nil;
// good, when set, must hold for every element.
func fastList[T any](raw json.RawMessage, dst *[]T, good func(*T) bool) bool {
	if raw == nil {
		return true
	}
	if json.Unmarshal(raw, dst) != nil {
		return false
	}
	if *dst == nil {
		*dst = []T{}
	}
	for i := range *dst {
		if good != nil && !good(&(*dst)[i]) {
			return false
		}
	}
	return true
}
