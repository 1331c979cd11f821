package emulator

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/credreport"
	"github.com/iamprune/iamprune/snapshot"
)

var usageNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// loadWith loads testdata/name with extra files added, through the real
// loader.
func loadWith(t *testing.T, name string, extra map[string]string) *snapshot.Snapshot {
	t.Helper()
	dir := filepath.Join("testdata", name)
	fsys := fstest.MapFS{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := fs.ReadFile(os.DirFS(dir), e.Name())
		if err != nil {
			t.Fatal(err)
		}
		fsys[e.Name()] = &fstest.MapFile{Data: b}
	}
	for n, data := range extra {
		fsys[n] = &fstest.MapFile{Data: []byte(data)}
	}
	snap, err := snapshot.Load(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// fetchReport generates and reads the report as a client that polls does.
func fetchReport(t *testing.T, c *iam.Client) (*iamprune.CredentialReport, *iam.GetCredentialReportOutput) {
	t.Helper()
	ctx := context.Background()
	for i := 0; ; i++ {
		g, err := c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if err != nil {
			t.Fatal(err)
		}
		if g.State == types.ReportStateTypeComplete {
			break
		}
		if i == 3 {
			t.Fatalf("report still %s after %d polls", g.State, i)
		}
	}
	out, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := credreport.Parse(out.Content, "served report")
	if err != nil {
		t.Fatalf("served report does not parse: %v\n%s", err, out.Content)
	}
	return rep, out
}

func TestCredentialReportStates(t *testing.T) {
	env := newEnv(t, "basic", Options{Now: func() time.Time { return usageNow }})
	ctx := context.Background()
	_, err := env.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	wantAPIError(t, err, "ReportNotPresent", 410)
	g, err := env.iam.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
	if err != nil || g.State != types.ReportStateTypeStarted {
		t.Fatalf("first Generate = %+v, %v; want STARTED", g, err)
	}
	_, err = env.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	wantAPIError(t, err, "ReportInProgress", 404)
	// The poll that found it in progress was the later call.
	out, err := env.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	if err != nil || out.ReportFormat != types.ReportFormatTypeTextCsv || !out.GeneratedTime.Equal(usageNow) {
		t.Fatalf("Get = %+v, %v", out, err)
	}
	g, err = env.iam.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
	if err != nil || g.State != types.ReportStateTypeComplete {
		t.Fatalf("later Generate = %+v, %v; want COMPLETE", g, err)
	}
}

func TestCredentialReportDerived(t *testing.T) {
	env := newEnv(t, "basic", Options{Now: func() time.Time { return usageNow }})
	rep, _ := fetchReport(t, env.iam)
	if len(rep.Users) != 3 || rep.User(iamprune.RootUserName) != nil {
		t.Fatalf("rows = %+v, want alice, bob and carol, no root row", rep.Users)
	}
	alice, bob, carol := rep.User("alice"), rep.User("bob"), rep.User("carol")
	if last, known := alice.PasswordUse(); !known || !timeEq(last, ptrTime("2026-02-02T02:02:02Z")) {
		t.Errorf("alice password = %v, %v", last, known)
	}
	if last, known := carol.PasswordUse(); !known || last != nil {
		t.Errorf("carol password = %v, %v; want never used", last, known)
	}
	if has, _ := bob.HasPassword(); has || bob.PasswordLastUsed.State != iamprune.ReportNA {
		t.Errorf("bob = %+v, want no password", bob)
	}
	if last, known := alice.KeyUse(0); !known || !timeEq(last, ptrTime("2026-11-20T14:00:00Z")) || alice.AccessKeys[0].LastUsedService != "s3" {
		t.Errorf("alice key 1 = %+v", alice.AccessKeys[0])
	}
	if last, known := alice.KeyUse(1); !known || last != nil || !alice.AccessKeys[1].Active {
		t.Errorf("alice key 2 = %+v, want active and never used", alice.AccessKeys[1])
	}
	if bob.HasKey(1) || !bob.AccessKeys[0].Active {
		t.Errorf("bob keys = %+v", bob.AccessKeys)
	}

	// Writes show in the next report.
	ctx := context.Background()
	if _, err := env.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String("AKIABOB0000000000001"), Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("carol")}); err != nil {
		t.Fatal(err)
	}
	rep, _ = fetchReport(t, env.iam)
	if k := rep.User("bob").AccessKeys[0]; k.Active || !rep.User("bob").HasKey(0) {
		t.Errorf("bob's deactivated key = %+v", k)
	}
	if has, _ := rep.User("carol").HasPassword(); has {
		t.Errorf("carol still has a password: %+v", rep.User("carol"))
	}
}

// fileReport has a root row and MFA, which only a real report knows, a
// user the account no longer has, and alice's keys as IAM saw them.
const fileReport = `user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,2026-01-05T10:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::111122223333:user/alice,2024-01-15T10:00:00+00:00,true,2026-02-02T02:02:02+00:00,2024-01-15T10:01:00+00:00,N/A,true,true,2024-01-15T10:05:00+00:00,2026-11-20T14:00:00+00:00,us-east-1,s3,true,2025-02-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A
ghost,arn:aws:iam::111122223333:user/ghost,2024-01-15T10:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
`

func TestCredentialReportFromFile(t *testing.T) {
	snap := loadWith(t, "basic", map[string]string{snapshot.CredentialReportFile: fileReport})
	env := newEnvFrom(t, snap, Options{Now: func() time.Time { return usageNow }})
	_, out := fetchReport(t, env.iam)
	if !out.GeneratedTime.Equal(snap.Meta.CapturedAt) {
		t.Errorf("GeneratedTime = %v, want the capture time %v", out.GeneratedTime, snap.Meta.CapturedAt)
	}
	// Unchanged rows are served as the file has them; the gone user is not.
	lines := strings.Split(fileReport, "\n")
	if want := strings.Join(lines[:3], "\n") + "\n"; string(out.Content) != want {
		t.Errorf("content =\n%s\nwant\n%s", out.Content, want)
	}

	ctx := context.Background()
	if _, err := env.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String("AKIAALICE00000000001"), Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	rep, _ := fetchReport(t, env.iam)
	alice := rep.User("alice")
	if k := alice.AccessKeys[0]; k.Active || k.LastUsedService != "s3" || !timeEq(k.LastUsedDate.Time(), ptrTime("2026-11-20T14:00:00Z")) {
		t.Errorf("deactivated key = %+v, want inactive with the file's last use", k)
	}
	if !alice.AccessKeys[1].Active {
		t.Errorf("untouched key = %+v", alice.AccessKeys[1])
	}
	if has, _ := alice.HasPassword(); has || !alice.MFAActive || !timeEq(alice.PasswordLastUsed.Time(), ptrTime("2026-02-02T02:02:02Z")) {
		t.Errorf("alice after DeleteLoginProfile = %+v, want no password, its last use and MFA kept", alice)
	}
}

const lastAccessedFile = `[
  {"Arn": "arn:aws:iam::111122223333:role/service-role/app-role", "JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL",
   "JobCompletionDate": "2026-11-27T18:00:00Z",
   "ServicesLastAccessed": [
     {"ServiceName": "Amazon DynamoDB", "ServiceNamespace": "dynamodb", "TotalAuthenticatedEntities": 0,
      "TrackedActionsLastAccessed": [{"ActionName": "DeleteTable"}]},
     {"ServiceName": "Amazon S3", "ServiceNamespace": "s3", "LastAuthenticated": "2026-11-01T00:00:00Z",
      "LastAuthenticatedEntity": "arn:aws:iam::111122223333:role/service-role/app-role", "LastAuthenticatedRegion": "us-east-1",
      "TotalAuthenticatedEntities": 1,
      "TrackedActionsLastAccessed": [{"ActionName": "GetObject", "LastAccessedTime": "2026-11-01T00:00:00Z", "LastAccessedRegion": "us-east-1"}, {"ActionName": "PutObject"}]},
     {"ServiceName": "Amazon SNS", "ServiceNamespace": "sns", "TotalAuthenticatedEntities": 0}
   ]},
  {"Arn": "arn:aws:iam::111122223333:user/alice", "JobStatus": "FAILED", "Error": {"Code": "InternalError", "Message": "try again"}}
]`

func generateJob(t *testing.T, c *iam.Client, arn string, gran types.AccessAdvisorUsageGranularityType) string {
	t.Helper()
	out, err := c.GenerateServiceLastAccessedDetails(context.Background(), &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String(arn), Granularity: gran})
	if err != nil {
		t.Fatal(err)
	}
	return *out.JobId
}

// pollJob polls until the job is no longer in progress, then reads every
// page of MaxItems items.
func pollJob(t *testing.T, c *iam.Client, id string, maxItems int32) (polls int, last *iam.GetServiceLastAccessedDetailsOutput, services []types.ServiceLastAccessed) {
	t.Helper()
	ctx := context.Background()
	in := &iam.GetServiceLastAccessedDetailsInput{JobId: aws.String(id), MaxItems: aws.Int32(maxItems)}
	for {
		out, err := c.GetServiceLastAccessedDetails(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if out.JobStatus == types.JobStatusTypeInProgress {
			if polls++; polls > 3 {
				t.Fatalf("job %s still in progress after %d polls", id, polls)
			}
			continue
		}
		services = append(services, out.ServicesLastAccessed...)
		if !out.IsTruncated {
			return polls, out, services
		}
		in.Marker = out.Marker
	}
}

func TestServiceLastAccessedJobs(t *testing.T) {
	snap := loadWith(t, "basic", map[string]string{snapshot.LastAccessedFile: lastAccessedFile})
	env := newEnvFrom(t, snap, Options{Now: func() time.Time { return usageNow }})
	appRole := "arn:aws:iam::111122223333:role/service-role/app-role"

	id := generateJob(t, env.iam, appRole, types.AccessAdvisorUsageGranularityTypeActionLevel)
	polls, out, services := pollJob(t, env.iam, id, 2)
	if polls != 1 || out.JobStatus != types.JobStatusTypeCompleted || out.JobType != types.AccessAdvisorUsageGranularityTypeActionLevel ||
		!timeEq(out.JobCompletionDate, ptrTime("2026-11-27T18:00:00Z")) || !out.JobCreationDate.Equal(usageNow) {
		t.Fatalf("polls %d, last page %+v", polls, out)
	}
	if len(services) != 3 {
		t.Fatalf("%d services over the pages, want 3", len(services))
	}
	s3 := services[1]
	if *s3.ServiceNamespace != "s3" || !timeEq(s3.LastAuthenticated, ptrTime("2026-11-01T00:00:00Z")) || *s3.TotalAuthenticatedEntities != 1 ||
		len(s3.TrackedActionsLastAccessed) != 2 || *s3.TrackedActionsLastAccessed[0].ActionName != "GetObject" ||
		!timeEq(s3.TrackedActionsLastAccessed[0].LastAccessedTime, ptrTime("2026-11-01T00:00:00Z")) ||
		s3.TrackedActionsLastAccessed[1].LastAccessedTime != nil {
		t.Errorf("s3 = %+v", s3)
	}
	if sns := services[2]; sns.LastAuthenticated != nil || sns.TrackedActionsLastAccessed != nil {
		t.Errorf("sns = %+v, want never used and no tracked actions", sns)
	}

	// SERVICE_LEVEL leaves the actions out.
	_, _, services = pollJob(t, env.iam, generateJob(t, env.iam, appRole, types.AccessAdvisorUsageGranularityTypeServiceLevel), 100)
	if len(services) != 3 || services[1].TrackedActionsLastAccessed != nil {
		t.Errorf("service-level services = %+v", services)
	}

	// A principal without data: completed, nothing used, nothing invented.
	_, out, services = pollJob(t, env.iam, generateJob(t, env.iam, "arn:aws:iam::111122223333:role/ci-role", types.AccessAdvisorUsageGranularityTypeActionLevel), 100)
	if out.JobStatus != types.JobStatusTypeCompleted || len(services) != 0 || !out.JobCompletionDate.Equal(usageNow) {
		t.Errorf("ci-role = %+v, %d services", out, len(services))
	}

	// A failed job in the file is served as failed.
	_, out, _ = pollJob(t, env.iam, generateJob(t, env.iam, "arn:aws:iam::111122223333:user/alice", types.AccessAdvisorUsageGranularityTypeActionLevel), 100)
	if out.JobStatus != types.JobStatusTypeFailed || out.Error == nil || *out.Error.Code != "InternalError" {
		t.Errorf("alice = %+v", out)
	}
}

func TestServiceLastAccessedErrors(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	ctx := context.Background()
	_, err := env.iam.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String("arn:aws:iam::111122223333:role/nope")})
	wantAPIError(t, err, "NoSuchEntity", 404)
	_, err = env.iam.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String("arn:aws:iam::111122223333:role/ci-role"), Granularity: "RESOURCE_LEVEL"})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = env.iam.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: aws.String("no-such-job")})
	wantAPIError(t, err, "NoSuchEntity", 404)
	// Two jobs for one principal get distinct ids.
	a := generateJob(t, env.iam, "arn:aws:iam::111122223333:role/ci-role", "")
	b := generateJob(t, env.iam, "arn:aws:iam::111122223333:role/ci-role", "")
	if a == b {
		t.Errorf("job ids repeat: %s", a)
	}
}
