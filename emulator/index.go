package emulator

import (
	"strings"

	"github.com/iamprune/iamprune/snapshot"
)

// index gives the snapshot's entities by name or id. IAM names are unique
// regardless of case, and IAM looks them up that way, so keys are folded.
type index struct {
	users      map[string]*snapshot.UserDetail
	roles      map[string]*snapshot.RoleDetail
	keys       map[string]*snapshot.AccessKey
	keysByUser map[string][]*snapshot.AccessKey
	logins     map[string]*snapshot.LoginProfile
	findings   map[string]*snapshot.Finding
}

func fold(name string) string { return strings.ToLower(name) }

func newIndex(snap *snapshot.Snapshot) *index {
	x := &index{
		users:      map[string]*snapshot.UserDetail{},
		roles:      map[string]*snapshot.RoleDetail{},
		keys:       map[string]*snapshot.AccessKey{},
		keysByUser: map[string][]*snapshot.AccessKey{},
		logins:     map[string]*snapshot.LoginProfile{},
		findings:   map[string]*snapshot.Finding{},
	}
	for i := range snap.Auth.UserDetailList {
		u := &snap.Auth.UserDetailList[i]
		x.users[fold(u.UserName)] = u
	}
	for i := range snap.Auth.RoleDetailList {
		r := &snap.Auth.RoleDetailList[i]
		x.roles[fold(r.RoleName)] = r
	}
	for i := range snap.AccessKeys {
		k := &snap.AccessKeys[i]
		x.keys[k.AccessKeyId] = k
		x.keysByUser[fold(k.UserName)] = append(x.keysByUser[fold(k.UserName)], k)
	}
	for i := range snap.LoginProfiles {
		lp := &snap.LoginProfiles[i]
		x.logins[fold(lp.UserName)] = lp
	}
	for i := range snap.FindingList {
		f := &snap.FindingList[i]
		x.findings[f.Id] = f
	}
	return x
}
