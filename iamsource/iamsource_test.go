package iamsource

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

var now = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

func daysAgo(n int) *time.Time { t := now.AddDate(0, 0, -n); return &t }

const acct = "111122223333"

func roleP(name string, created int, last *time.Time) *iamprune.Principal {
	return &iamprune.Principal{ARN: "arn:aws:iam::" + acct + ":role/" + name, Kind: iamprune.KindRole, Name: name,
		Account: acct, CreateDate: *daysAgo(created), RoleLastUsed: last}
}

func userP(name string, created int, keys ...iamprune.AccessKey) *iamprune.Principal {
	return &iamprune.Principal{ARN: "arn:aws:iam::" + acct + ":user/" + name, Kind: iamprune.KindUser, Name: name,
		Account: acct, CreateDate: *daysAgo(created), AccessKeys: keys, KeysKnown: true}
}

func date(t *time.Time) iamprune.ReportTime { return iamprune.ReportDate(*t) }

var na = iamprune.ReportTime{State: iamprune.ReportNA}

func row(name string, pw bool, pwUsed iamprune.ReportTime, keys ...iamprune.ReportKey) iamprune.CredentialReportUser {
	u := iamprune.CredentialReportUser{User: name, ARN: "arn:aws:iam::" + acct + ":user/" + name,
		PasswordEnabled: iamprune.ReportBool{Value: pw}, PasswordLastUsed: pwUsed, PasswordLastChanged: na}
	if pw {
		u.PasswordLastChanged = date(daysAgo(400))
	}
	u.AccessKeys = [2]iamprune.ReportKey{{LastRotated: na, LastUsedDate: na}, {LastRotated: na, LastUsedDate: na}}
	copy(u.AccessKeys[:], keys)
	return u
}

func slot(active bool, rotated *time.Time, used iamprune.ReportTime) iamprune.ReportKey {
	return iamprune.ReportKey{Active: active, LastRotated: date(rotated), LastUsedDate: used}
}

func facts(ps ...*iamprune.Principal) *iamprune.Facts {
	f := &iamprune.Facts{Account: acct, Principals: map[string]*iamprune.Principal{}}
	for _, p := range ps {
		f.Principals[p.ARN] = p
	}
	return f
}

// summary is what a finding says, without ids and stamps.
func summary(fs []iamprune.Finding) []string {
	var out []string
	for _, f := range fs {
		s := string(f.Type) + " " + f.Resource[strings.LastIndexByte(f.Resource, '/')+1:] + " last=" + ago(f.LastAccessed)
		for _, k := range f.AccessKeys {
			s += " key=" + k.AccessKeyID + "@" + ago(k.LastAccessed)
		}
		for _, sv := range f.Services {
			s += " " + sv.Namespace + "@" + ago(sv.LastAccessed) + "["
			for _, a := range sv.Actions {
				s += a.Action + "@" + ago(a.LastAccessed) + ","
			}
			s += "]"
		}
		out = append(out, s)
	}
	return out
}

func ago(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return fmt.Sprintf("%dd", int(now.Sub(*t).Hours()/24))
}

func TestFindings(t *testing.T) {
	used := func(n int) iamprune.ReportTime { return date(daysAgo(n)) }
	noInfo := iamprune.ReportTime{State: iamprune.ReportNoInformation}
	key := func(id string, created int) iamprune.AccessKey {
		return iamprune.AccessKey{ID: id, Status: "Active", CreateDate: *daysAgo(created)}
	}
	sla := func(arn string, services ...iamprune.ServiceAccess) map[string]LastAccessed {
		return map[string]LastAccessed{arn: {Data: &iamprune.ServiceLastAccessed{ARN: arn, Services: services}}}
	}
	webARN := "arn:aws:iam::" + acct + ":role/Web"
	tests := []struct {
		name     string
		data     Data
		want     []string
		warnings []string
	}{{
		name: "roles: unused, never used, used within the window, younger than the window",
		data: Data{Facts: facts(roleP("Old", 500, daysAgo(100)), roleP("Never", 500, nil), roleP("Busy", 500, daysAgo(89)), roleP("New", 30, nil)),
			Report: &iamprune.CredentialReport{}, LastAccessed: map[string]LastAccessed{}},
		want:     []string{"UnusedIAMRole Never last=never", "UnusedIAMRole Old last=100d"},
		warnings: []string{"1 principals have no service-last-accessed data"},
	}, {
		name: "a shorter tracking period judges more",
		data: Data{Facts: facts(roleP("Busy", 500, daysAgo(10)), roleP("New", 30, nil)), TrackingPeriodDays: 7,
			Report: &iamprune.CredentialReport{}, LastAccessed: map[string]LastAccessed{}},
		want: []string{"UnusedIAMRole Busy last=10d", "UnusedIAMRole New last=never"},
	}, {
		name: "passwords: never used only where the report says so",
		data: Data{Facts: facts(userP("a", 500), userP("b", 500), userP("c", 500), userP("d", 500), userP("e", 500), userP("young", 20)),
			Report: &iamprune.CredentialReport{Users: []iamprune.CredentialReportUser{
				row("a", true, noInfo), row("b", true, na), row("c", true, used(200)), row("d", true, used(3)),
				row("e", false, na), row("young", true, noInfo),
			}}, LastAccessed: map[string]LastAccessed{}},
		want:     []string{"UnusedIAMUserPassword a last=never", "UnusedIAMUserPassword b last=never", "UnusedIAMUserPassword c last=200d"},
		warnings: []string{"5 principals have no service-last-accessed data"},
	}, {
		name: "a gap in the report is a warning, not unused",
		data: Data{Facts: facts(userP("gone", 500), userP("odd", 500)),
			Report: &iamprune.CredentialReport{Users: []iamprune.CredentialReportUser{
				row("odd", true, iamprune.ReportTime{State: iamprune.ReportNotSupported}),
			}}, LastAccessed: map[string]LastAccessed{}},
		warnings: []string{"user gone is not in the credential report", `user odd: password_last_used is "not_supported"`, "2 principals"},
	}, {
		name: "keys: matched by creation date; used, inactive and unmatched keys",
		data: Data{Facts: facts(
			userP("k", 500, key("AKIAOLD", 300), key("AKIANEVER", 40)),
			userP("m", 500, key("AKIAUSED", 300), key("AKIAOFF", 200)),
			userP("x", 500, key("AKIAOTHER", 300))),
			Report: &iamprune.CredentialReport{Users: []iamprune.CredentialReportUser{
				row("k", false, na, slot(true, daysAgo(300), used(120)), slot(true, daysAgo(40), na)),
				row("m", false, na, slot(true, daysAgo(300), used(2)), slot(false, daysAgo(200), na)),
				row("x", false, na, slot(true, daysAgo(299), na)),
			}}, LastAccessed: map[string]LastAccessed{}},
		want:     []string{"UnusedIAMUserAccessKey k last=never key=AKIAOLD@120d key=AKIANEVER@never"},
		warnings: []string{"user x: access_key_1 (last rotated 2026-02-02T00:00:00Z) matches none of the user's keys by creation date", "3 principals"},
	}, {
		name: "permissions: unused services with every action, used services with their unused actions",
		data: Data{Facts: facts(roleP("Web", 500, daysAgo(1))), Report: &iamprune.CredentialReport{},
			LastAccessed: sla(webARN,
				iamprune.ServiceAccess{Namespace: "ec2", LastAuthenticated: daysAgo(200), ActionsTracked: true,
					Actions: []iamprune.ActionAccess{{Name: "DescribeInstances", LastAccessed: daysAgo(200)}, {Name: "RunInstances"}}},
				iamprune.ServiceAccess{Namespace: "s3", LastAuthenticated: daysAgo(5), ActionsTracked: true,
					Actions: []iamprune.ActionAccess{{Name: "GetObject", LastAccessed: daysAgo(5)}, {Name: "DeleteBucket"}, {Name: "PutObject", LastAccessed: daysAgo(100)}}},
				iamprune.ServiceAccess{Namespace: "logs", LastAuthenticated: daysAgo(1)},
				iamprune.ServiceAccess{Namespace: "sns"},
			)},
		want: []string{"UnusedPermission Web last=never ec2@200d[ec2:DescribeInstances@200d,ec2:RunInstances@never,] " +
			"s3@5d[s3:DeleteBucket@never,s3:PutObject@100d,] sns@never[]"},
	}, {
		name: "no data, a failed job, an unused role: no permission finding",
		data: Data{Facts: facts(roleP("Web", 500, daysAgo(1)), roleP("Failed", 500, daysAgo(1)), roleP("Idle", 500, nil)), Report: &iamprune.CredentialReport{},
			LastAccessed: map[string]LastAccessed{
				"arn:aws:iam::" + acct + ":role/Failed": {Err: "job FAILED"},
				"arn:aws:iam::" + acct + ":role/Idle":   sla("x", iamprune.ServiceAccess{Namespace: "sns"})["x"],
			}},
		want:     []string{"UnusedIAMRole Idle last=never"},
		warnings: []string{"role/Failed: job FAILED; permissions not judged", "1 principals have no service-last-accessed data"},
	}, {
		name:     "no report and no last-accessed data at all",
		data:     Data{Facts: facts(userP("a", 500))},
		warnings: []string{"no credential report", "no service-last-accessed data: no UnusedPermission findings"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.data.Now = now
			got, warnings := Findings(&tt.data)
			if s := summary(got); !reflect.DeepEqual(s, tt.want) {
				t.Errorf("findings:\n got %q\nwant %q", s, tt.want)
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings: got %v, want %d", warnings, len(tt.warnings))
			}
			for i, w := range tt.warnings {
				if !strings.Contains(warnings[i].Message, w) {
					t.Errorf("warning %d: %q does not contain %q", i, warnings[i].Message, w)
				}
			}
			for _, f := range got {
				if f.Status != iamprune.StatusActive || f.Account != acct || f.UpdatedAt.IsZero() {
					t.Errorf("finding %+v: want ACTIVE, account and UpdatedAt", f)
				}
				if want := FindingID(acct, f.Resource, f.Type, f.Resource[strings.LastIndexByte(f.Resource, '/')+1:]); f.ID != want {
					t.Errorf("finding id %s, want %s", f.ID, want)
				}
			}
		})
	}
}

func TestFindingIDStable(t *testing.T) {
	a := FindingID(acct, "arn:aws:iam::111122223333:role/R", iamprune.UnusedIAMRole, "R")
	if a != FindingID(acct, "arn:aws:iam::111122223333:role/R", iamprune.UnusedIAMRole, "R") {
		t.Fatal("finding id not stable")
	}
	for _, other := range []string{
		FindingID("444455556666", "arn:aws:iam::111122223333:role/R", iamprune.UnusedIAMRole, "R"),
		FindingID(acct, "arn:aws:iam::111122223333:role/S", iamprune.UnusedIAMRole, "R"),
		FindingID(acct, "arn:aws:iam::111122223333:role/R", iamprune.UnusedPermission, "R"),
		FindingID(acct, "arn:aws:iam::111122223333:role/R", iamprune.UnusedIAMRole, "S"),
	} {
		if other == a {
			t.Errorf("finding id %s does not depend on every part", a)
		}
	}
	if len(a) != 36 || strings.Count(a, "-") != 4 {
		t.Errorf("finding id %s is not UUID-shaped", a)
	}
}

func TestSourceLoadError(t *testing.T) {
	boom := errors.New("boom")
	_, _, err := New(func(context.Context) (*Data, error) { return nil, boom }).Findings(context.Background())
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	fs, _, err := New(func(context.Context) (*Data, error) {
		return &Data{Facts: facts(roleP("R", 500, nil)), Now: now, Report: &iamprune.CredentialReport{}, LastAccessed: map[string]LastAccessed{}}, nil
	}).Findings(context.Background())
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings = %v, %v; want one", fs, err)
	}
}
