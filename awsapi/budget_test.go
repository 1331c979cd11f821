package awsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

// syntheticAccount writes a snapshot of an account with, per unit of n:
// a role unused since its last use (UnusedIAMRole), a role with unused
// services (UnusedPermission), a user with two unused keys (one finding
// each) and a user with an unused password; every fourth password was
// never used.
func syntheticAccount(t *testing.T, n int) string {
	t.Helper()
	const acct = "111122223333"
	captured := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	updated := captured.Add(-6 * time.Hour)
	day := func(d int) *time.Time { v := captured.AddDate(0, 0, -d); return &v }
	var (
		auth     snapshot.AuthDetails
		keys     []snapshot.AccessKey
		profiles []snapshot.LoginProfile
		findings []snapshot.Finding
	)
	finding := func(typ, resource, rtype string, details ...snapshot.FindingDetail) {
		findings = append(findings, snapshot.Finding{
			Id: fmt.Sprintf("f-%04d", len(findings)), Resource: resource, ResourceOwnerAccount: acct, ResourceType: rtype,
			Status: "ACTIVE", FindingType: typ, CreatedAt: day(200), UpdatedAt: &updated, AnalyzedAt: &updated, FindingDetails: details,
		})
	}
	for i := range n {
		role := snapshot.RoleDetail{Path: "/", RoleName: fmt.Sprintf("idle-%d", i), RoleId: fmt.Sprintf("AROAIDLE%04d", i),
			Arn: fmt.Sprintf("arn:aws:iam::%s:role/idle-%d", acct, i), CreateDate: *day(900), RoleLastUsed: &snapshot.RoleLastUsed{LastUsedDate: day(150 + i)}}
		busy := snapshot.RoleDetail{Path: "/", RoleName: fmt.Sprintf("app-%d", i), RoleId: fmt.Sprintf("AROAAPP%04d", i),
			Arn: fmt.Sprintf("arn:aws:iam::%s:role/app-%d", acct, i), CreateDate: *day(900), RoleLastUsed: &snapshot.RoleLastUsed{LastUsedDate: day(1)}}
		auth.RoleDetailList = append(auth.RoleDetailList, role, busy)
		finding("UnusedIAMRole", role.Arn, "AWS::IAM::Role", snapshot.FindingDetail{UnusedIamRoleDetails: &snapshot.UnusedIamRoleDetails{LastAccessed: day(150 + i)}})
		finding("UnusedPermission", busy.Arn, "AWS::IAM::Role", snapshot.FindingDetail{UnusedPermissionDetails: &snapshot.UnusedPermissionDetails{ServiceNamespace: "s3", LastAccessed: day(300)}})

		ku := snapshot.UserDetail{Path: "/", UserName: fmt.Sprintf("svc-%d", i), UserId: fmt.Sprintf("AIDASVC%04d", i),
			Arn: fmt.Sprintf("arn:aws:iam::%s:user/svc-%d", acct, i), CreateDate: *day(800)}
		pu := snapshot.UserDetail{Path: "/", UserName: fmt.Sprintf("person-%d", i), UserId: fmt.Sprintf("AIDAPER%04d", i),
			Arn: fmt.Sprintf("arn:aws:iam::%s:user/person-%d", acct, i), CreateDate: *day(800)}
		auth.UserDetailList = append(auth.UserDetailList, ku, pu)
		for k := range 2 {
			id := fmt.Sprintf("AKIASVC%04dKEY%d0000", i, k)
			keys = append(keys, snapshot.AccessKey{UserName: ku.UserName, AccessKeyId: id, Status: "Active", CreateDate: *day(700 - k), LastUsedDate: day(100 + k)})
			finding("UnusedIAMUserAccessKey", ku.Arn, "AWS::IAM::User", snapshot.FindingDetail{UnusedIamUserAccessKeyDetails: &snapshot.UnusedIamUserAccessKeyDetails{AccessKeyId: id, LastAccessed: day(100 + k)}})
		}
		lp := snapshot.LoginProfile{UserName: pu.UserName, CreateDate: *day(600)}
		if i%4 != 0 {
			lp.PasswordLastUsed = day(120)
		}
		profiles = append(profiles, lp)
		finding("UnusedIAMUserPassword", pu.Arn, "AWS::IAM::User", snapshot.FindingDetail{UnusedIamUserPasswordDetails: &snapshot.UnusedIamUserPasswordDetails{LastAccessed: lp.PasswordLastUsed}})
	}
	dir := t.TempDir()
	write := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(snapshot.MetaFile, snapshot.Meta{AccountID: acct, Partition: "aws", Region: "eu-west-1", CapturedAt: captured,
		CallerARN: "arn:aws:sts::" + acct + ":assumed-role/SecurityAudit/iamprune"})
	write(snapshot.AuthDetailsFile, auth)
	write(snapshot.AccessKeysFile, keys)
	write(snapshot.LoginProfilesFile, profiles)
	write(snapshot.FindingsFile, findings)
	return dir
}

// TestCallsPerFinding reads a synthetic account of 300 findings through
// the emulator as plan does, and holds analyzer mode to at most one read
// call per finding: the credential report replaces the per-user reads,
// and roles and passwords IAM has a use of need no GetFindingV2. What is
// read must still equal the snapshot: the findings, and the last use of
// every key and password.
func TestCallsPerFinding(t *testing.T) {
	isolateEnv(t)
	snap, err := snapshot.LoadDir(syntheticAccount(t, 60))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want, _, err := snap.Findings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantFacts, err := snap.Facts(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emulator.New(snap, emulator.Options{}))
	defer srv.Close()
	cfg, counter, err := LoadConfig(ctx, Options{Region: "eu-west-1", Endpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}

	facts := NewFacts(cfg, WithReportPolling(time.Millisecond, 10*time.Millisecond, 10*time.Second))
	src := NewFindingSource(cfg, iamprune.AnalyzerAuto)
	src.UseIAM(facts)
	findings, _, err := src.Findings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := facts.Facts(ctx, findings)
	if err != nil {
		t.Fatal(err)
	}

	sameJSON(t, "findings", findings, want)
	for arn, p := range got.Principals {
		w := wantFacts.Principals[arn]
		if p.KeysKnown {
			sameJSON(t, "keys of "+arn, p.AccessKeys, w.AccessKeys)
		}
		if p.LoginProfileKnown && (p.LoginProfile == nil) != (w.LoginProfile == nil) ||
			p.LoginProfile != nil && fmt.Sprint(p.LoginProfile.PasswordLastUsed) != fmt.Sprint(w.LoginProfile.PasswordLastUsed) {
			t.Errorf("login profile of %s = %+v, want %+v", arn, p.LoginProfile, w.LoginProfile)
		}
	}
	// Only the never-used passwords need GetLoginProfile, for their creation date.
	if fb := facts.Fallbacks(); len(fb) != 1 || fb[FallbackPasswordCreated] != 15 {
		t.Errorf("fallbacks = %v, want %d %q", fb, 15, FallbackPasswordCreated)
	}
	ops := counter.ByOperation()
	for _, op := range []string{"IAM.GetAccessKeyLastUsed", "IAM.GetUser"} {
		if ops[op] != 0 {
			t.Errorf("%s called %d times", op, ops[op])
		}
	}
	perFinding := float64(counter.Total()) / float64(len(findings))
	t.Logf("%d findings, %d calls (%.2f per finding): %v", len(findings), counter.Total(), perFinding, ops)
	if len(findings) != 300 || perFinding > 1.0 {
		t.Errorf("%d findings read with %d calls: %.2f per finding, want at most 1.0", len(findings), counter.Total(), perFinding)
	}
}
