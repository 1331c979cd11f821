package snapshot

import (
	"fmt"
	"strings"
)

// loadAuth reads account-authorization-details.json as the CLI prints it.
// Keys other than the four lists (IsTruncated, Marker, ...) are ignored.
func loadAuth(f *file) (AuthDetails, error) {
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
