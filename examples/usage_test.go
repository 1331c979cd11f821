package examples

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/snapshot"
)

func loadDemoSnapshot(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	sub, err := fs.Sub(Demo, DemoSnapshotDir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Load(sub, DemoSnapshotDir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// The credential report says what access-keys.json and
// login-profiles.json say, for every user and no one else.
func TestDemoCredentialReport(t *testing.T) {
	s := loadDemoSnapshot(t)
	rep := s.CredentialReport
	if rep == nil {
		t.Fatal("the demo has no credential-report.csv")
	}
	facts, err := s.Facts(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	users := 0
	for _, row := range rep.Users {
		if row.User == iamprune.RootUserName {
			continue
		}
		users++
		p := facts.Principal(row.ARN)
		if p == nil || p.Name != row.User || !p.CreateDate.Equal(row.CreationTime) {
			t.Errorf("row %s: no such user in the authorization details (or another name or creation date)", row.User)
			continue
		}
		if has, _ := row.HasPassword(); has != (p.LoginProfile != nil) {
			t.Errorf("%s: password_enabled %v, login profile %v", row.User, has, p.LoginProfile != nil)
		} else if has {
			last, known := row.PasswordUse()
			if !known || !sameTime(last, p.LoginProfile.PasswordLastUsed) || !row.PasswordLastChanged.At.Equal(p.LoginProfile.CreateDate) {
				t.Errorf("%s: password last used %v, last changed %v; login profile says %v, %v", row.User, last, row.PasswordLastChanged.At, p.LoginProfile.PasswordLastUsed, p.LoginProfile.CreateDate)
			}
		}
		n := 0
		for i := range row.AccessKeys {
			if !row.HasKey(i) {
				continue
			}
			n++
			k := keyCreated(p, row.AccessKeys[i].LastRotated.At)
			last, known := row.KeyUse(i)
			if k == nil || !known || !sameTime(last, k.LastUsed) || row.AccessKeys[i].Active != (k.Status == "Active") {
				t.Errorf("%s key %d: %+v does not match access-keys.json (%+v)", row.User, i+1, row.AccessKeys[i], k)
			}
		}
		if n != len(p.AccessKeys) {
			t.Errorf("%s: %d keys in the report, %d in access-keys.json", row.User, n, len(p.AccessKeys))
		}
	}
	if want := len(s.Auth.UserDetailList); users != want {
		t.Errorf("%d user rows, want %d", users, want)
	}
}

func keyCreated(p *iamprune.Principal, at time.Time) *iamprune.AccessKey {
	for i := range p.AccessKeys {
		if p.AccessKeys[i].CreateDate.Equal(at) {
			return &p.AccessKeys[i]
		}
	}
	return nil
}

// Every UnusedPermission finding's principal has last-accessed data, and
// each service and action the finding dates is dated the same there.
func TestDemoLastAccessed(t *testing.T) {
	s := loadDemoSnapshot(t)
	findings, _, err := s.Findings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range findings {
		if f.Type != iamprune.UnusedPermission {
			continue
		}
		n++
		data := s.ServiceLastAccessed(f.Resource)
		if data == nil {
			t.Errorf("%s: no last-accessed data for an UnusedPermission finding", f.Resource)
			continue
		}
		for _, su := range f.Services {
			sv := service(data, su.Namespace)
			if sv == nil || !sameTime(sv.LastAuthenticated, su.LastAccessed) {
				t.Errorf("%s %s: last-accessed %+v, finding says %v", f.Resource, su.Namespace, sv, su.LastAccessed)
				continue
			}
			for _, a := range su.Actions {
				name := strings.TrimPrefix(a.Action, su.Namespace+":")
				if got, ok := action(sv, name); !ok || !sameTime(got, a.LastAccessed) {
					t.Errorf("%s %s: last-accessed %v (tracked %v), finding says %v", f.Resource, a.Action, got, ok, a.LastAccessed)
				}
			}
		}
	}
	if n == 0 || len(s.LastAccessed) != n {
		t.Errorf("%d UnusedPermission findings, %d last-accessed entries: want one each", n, len(s.LastAccessed))
	}
}

func service(d *iamprune.ServiceLastAccessed, ns string) *iamprune.ServiceAccess {
	for i := range d.Services {
		if d.Services[i].Namespace == ns {
			return &d.Services[i]
		}
	}
	return nil
}

func action(sv *iamprune.ServiceAccess, name string) (*time.Time, bool) {
	for _, a := range sv.Actions {
		if a.Name == name {
			return a.LastAccessed, true
		}
	}
	return nil, false
}
