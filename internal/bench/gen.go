// Package bench generates synthetic organisations and measures iamprune
// on them: snapshot planning, API planning through the emulator with and
// without rate limits, calls per finding, wall time, the fraction of the
// rate-limit bound reached and peak RSS (docs/performance.md). scripts/bench
// runs it; its generator is also what tests use for organisations of a
// given size.
package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/iamprune/iamprune/snapshot"
)

// Generated organisations: the home account (the delegated administrator,
// with the organisation's unused-access analyzer) and member accounts
// numbered from MemberBase. RoleName is the role iamprune assumes in each
// member; it trusts the home account with ExternalID.
const (
	HomeAccount  = "111122223333"
	MemberBase   = 200000000000
	RoleName     = "iamprune-member"
	ExternalID   = "iamprune-bench"
	Region       = "us-east-1"
	FindingsUnit = 5 // findings per unit of Spec.Units
)

// Captured is when generated snapshots were captured; plans of them run
// with --now Now.
var (
	Captured = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	Now      = "2026-11-28T12:00:00Z"
)

// Spec sizes an organisation: Accounts member accounts (0: the findings
// are the home account's own, under an account analyzer), each with
// Units units of FindingsUnit findings in the mix of real findings: a
// role unused for months (UnusedIAMRole), a role with an unused service
// (UnusedPermission), a user with two unused access keys (two
// UnusedIAMUserAccessKey) and a user with an unused console password
// (UnusedIAMUserPassword; every fourth never used).
type Spec struct {
	Accounts int
	Units    int
}

// Findings is how many findings the organisation has.
func (s Spec) Findings() int { return max(s.Accounts, 1) * s.Units * FindingsUnit }

// MemberAccount is the id of member i (0-based).
func MemberAccount(i int) string { return fmt.Sprintf("%012d", MemberBase+i) }

// Org is a generated organisation on disk.
type Org struct {
	Spec Spec
	// Home is the home account's snapshot folder; Members those of the
	// member accounts, in account order.
	Home    string
	Members []string
}

// Write generates s under dir (which must exist): dir/home and
// dir/member-ACCOUNT. Generation is deterministic: the same Spec gives the
// same bytes.
func Write(dir string, s Spec) (*Org, error) {
	o := &Org{Spec: s, Home: filepath.Join(dir, "home")}
	var findings []snapshot.Finding
	home := account{id: HomeAccount}
	if s.Accounts == 0 {
		findings = home.units(s.Units)
	}
	for i := range s.Accounts {
		m := account{id: MemberAccount(i)}
		findings = append(findings, m.units(s.Units)...)
		m.roles = append(m.roles, memberRole(m.id))
		d := filepath.Join(dir, "member-"+m.id)
		if err := m.write(d, nil, ""); err != nil {
			return nil, err
		}
		o.Members = append(o.Members, d)
	}
	typ := "ORGANIZATION_UNUSED_ACCESS"
	if s.Accounts == 0 {
		typ = "ACCOUNT_UNUSED_ACCESS"
	}
	if err := home.write(o.Home, findings, typ); err != nil {
		return nil, err
	}
	return o, nil
}

// account collects one account's IAM state while it is generated.
type account struct {
	id       string
	roles    []snapshot.RoleDetail
	users    []snapshot.UserDetail
	keys     []snapshot.AccessKey
	profiles []snapshot.LoginProfile
}

func day(d int) *time.Time { t := Captured.AddDate(0, 0, -d); return &t }

// units adds n units of principals to a and returns their findings.
func (a *account) units(n int) []snapshot.Finding {
	var out []snapshot.Finding
	updated := Captured.Add(-6 * time.Hour)
	finding := func(typ, resource, rtype string, d snapshot.FindingDetail) {
		out = append(out, snapshot.Finding{
			Id: fmt.Sprintf("%s-%06d", a.id, len(out)), Resource: resource, ResourceOwnerAccount: a.id, ResourceType: rtype,
			Status: "ACTIVE", FindingType: typ, CreatedAt: day(200), UpdatedAt: &updated, AnalyzedAt: &updated,
			FindingDetails: []snapshot.FindingDetail{d},
		})
	}
	arn := func(kind, name string) string { return "arn:aws:iam::" + a.id + ":" + kind + "/" + name }
	for i := range n {
		idle := snapshot.RoleDetail{Path: "/", RoleName: fmt.Sprintf("idle-%d", i), RoleId: fmt.Sprintf("AROAIDLE%08d", i),
			Arn: arn("role", fmt.Sprintf("idle-%d", i)), CreateDate: *day(900), RoleLastUsed: &snapshot.RoleLastUsed{LastUsedDate: day(150 + i%100)}}
		app := snapshot.RoleDetail{Path: "/", RoleName: fmt.Sprintf("app-%d", i), RoleId: fmt.Sprintf("AROAAPP%08d", i),
			Arn: arn("role", fmt.Sprintf("app-%d", i)), CreateDate: *day(900), RoleLastUsed: &snapshot.RoleLastUsed{LastUsedDate: day(1)},
			RolePolicyList: []snapshot.PolicyDetail{{PolicyName: "app", PolicyDocument: snapshot.PolicyDocument{JSON: appPolicy}}}}
		a.roles = append(a.roles, idle, app)
		finding("UnusedIAMRole", idle.Arn, "AWS::IAM::Role", snapshot.FindingDetail{UnusedIamRoleDetails: &snapshot.UnusedIamRoleDetails{LastAccessed: idle.RoleLastUsed.LastUsedDate}})
		finding("UnusedPermission", app.Arn, "AWS::IAM::Role", snapshot.FindingDetail{UnusedPermissionDetails: &snapshot.UnusedPermissionDetails{ServiceNamespace: "s3", LastAccessed: day(300)}})

		svc := snapshot.UserDetail{Path: "/", UserName: fmt.Sprintf("svc-%d", i), UserId: fmt.Sprintf("AIDASVC%08d", i), Arn: arn("user", fmt.Sprintf("svc-%d", i)), CreateDate: *day(800)}
		person := snapshot.UserDetail{Path: "/", UserName: fmt.Sprintf("person-%d", i), UserId: fmt.Sprintf("AIDAPER%08d", i), Arn: arn("user", fmt.Sprintf("person-%d", i)), CreateDate: *day(800)}
		a.users = append(a.users, svc, person)
		for k := range 2 {
			id := fmt.Sprintf("AKIA%s%06d%d", a.id[6:], i, k)
			a.keys = append(a.keys, snapshot.AccessKey{UserName: svc.UserName, AccessKeyId: id, Status: "Active", CreateDate: *day(700 - k), LastUsedDate: day(100 + k)})
			finding("UnusedIAMUserAccessKey", svc.Arn, "AWS::IAM::User", snapshot.FindingDetail{UnusedIamUserAccessKeyDetails: &snapshot.UnusedIamUserAccessKeyDetails{AccessKeyId: id, LastAccessed: day(100 + k)}})
		}
		lp := snapshot.LoginProfile{UserName: person.UserName, CreateDate: *day(600)}
		if i%4 != 0 {
			lp.PasswordLastUsed = day(120)
		}
		a.profiles = append(a.profiles, lp)
		finding("UnusedIAMUserPassword", person.Arn, "AWS::IAM::User", snapshot.FindingDetail{UnusedIamUserPasswordDetails: &snapshot.UnusedIamUserPasswordDetails{LastAccessed: lp.PasswordLastUsed}})
	}
	return out
}

const appPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","dynamodb:GetItem"],"Resource":"*"}]}`

// memberRole is the role iamprune assumes in a member account.
func memberRole(acct string) snapshot.RoleDetail {
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + HomeAccount +
		`:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"` + ExternalID + `"}}}]}`
	return snapshot.RoleDetail{Path: "/", RoleName: RoleName, RoleId: "AROAMEMBERROLE" + acct[6:], CreateDate: *day(1000),
		Arn: "arn:aws:iam::" + acct + ":role/" + RoleName, AssumeRolePolicyDocument: &snapshot.PolicyDocument{JSON: trust},
		RoleLastUsed: &snapshot.RoleLastUsed{LastUsedDate: day(1)}}
}

// write writes a's snapshot to dir; the home account (analyzerType set)
// also gets the analyzer and the organisation's findings.
func (a *account) write(dir string, findings []snapshot.Finding, analyzerType string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	role := "iamprune-member"
	if analyzerType != "" {
		role = "iamprune-runner"
	}
	files := []struct {
		name string
		v    any
	}{
		{snapshot.MetaFile, snapshot.Meta{AccountID: a.id, Partition: "aws", Region: Region, CapturedAt: Captured,
			CallerARN: "arn:aws:sts::" + a.id + ":assumed-role/" + role + "/iamprune"}},
		{snapshot.AuthDetailsFile, snapshot.AuthDetails{UserDetailList: a.users, RoleDetailList: a.roles}},
		{snapshot.AccessKeysFile, a.keys},
		{snapshot.LoginProfilesFile, a.profiles},
	}
	if analyzerType != "" {
		files = append(files,
			struct {
				name string
				v    any
			}{snapshot.FindingsFile, findings},
			struct {
				name string
				v    any
			}{snapshot.AnalyzerFile, map[string]snapshot.Analyzer{"analyzer": {
				Arn:  "arn:aws:access-analyzer:" + Region + ":" + a.id + ":analyzer/unused-access",
				Name: "unused-access", Type: analyzerType, Status: "ACTIVE", CreatedAt: day(400),
				Configuration: json.RawMessage(`{"unusedAccess":{"unusedAccessAge":90}}`),
			}}})
	}
	for _, f := range files {
		b, err := json.Marshal(f.v)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
