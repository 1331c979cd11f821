package snapshot

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/iamprune/iamprune"
)

// usageFS is a minimal snapshot with the given last-accessed.json and
// credential-report.csv ("" leaves a file out).
func usageFS(lastAccessed, report string) fstest.MapFS {
	fsys := fstest.MapFS{
		MetaFile:        {Data: []byte(`{"account_id": "111122223333", "captured_at": "2026-11-28T00:00:00Z"}`)},
		AuthDetailsFile: {Data: []byte(`{}`)},
	}
	if lastAccessed != "" {
		fsys[LastAccessedFile] = &fstest.MapFile{Data: []byte(lastAccessed)}
	}
	if report != "" {
		fsys[CredentialReportFile] = &fstest.MapFile{Data: []byte(report)}
	}
	return fsys
}

const lastAccessedOK = `[
  {"Arn": "arn:aws:iam::111122223333:role/App", "JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL",
   "JobCompletionDate": "2026-11-27T18:00:00+00:00",
   "ServicesLastAccessed": [
     {"ServiceName": "Amazon S3", "ServiceNamespace": "s3", "LastAuthenticated": "2026-11-01T00:00:00Z",
      "LastAuthenticatedEntity": "arn:aws:iam::111122223333:role/App", "TotalAuthenticatedEntities": 1,
      "TrackedActionsLastAccessed": [{"ActionName": "GetObject", "LastAccessedTime": "2026-11-01T00:00:00Z"}, {"ActionName": "DeleteBucket"}]},
     {"ServiceName": "AWS Lambda", "ServiceNamespace": "lambda", "TotalAuthenticatedEntities": 0}
   ]},
  {"Arn": "arn:aws:iam::111122223333:user/bob", "JobStatus": "FAILED", "Error": {"Code": "x", "Message": "y"}}
]`

func TestServiceLastAccessed(t *testing.T) {
	s, err := Load(usageFS(lastAccessedOK, ""), "snap")
	if err != nil {
		t.Fatal(err)
	}
	got := s.ServiceLastAccessed("arn:aws:iam::111122223333:role/App")
	if got == nil || len(got.Services) != 2 || !got.JobCompletionDate.Equal(ts(t, "2026-11-27T18:00:00Z")) {
		t.Fatalf("App = %+v", got)
	}
	s3, lambda := got.Services[0], got.Services[1]
	if s3.Namespace != "s3" || s3.Name != "Amazon S3" || !s3.ActionsTracked || len(s3.Actions) != 2 ||
		!s3.Actions[0].LastAccessed.Equal(ts(t, "2026-11-01T00:00:00Z")) || s3.Actions[1].LastAccessed != nil {
		t.Errorf("s3 = %+v", s3)
	}
	// Untracked actions are not "no action used".
	if lambda.ActionsTracked || lambda.LastAuthenticated != nil {
		t.Errorf("lambda = %+v", lambda)
	}
	// A failed job and a principal without an entry have no data.
	if d := s.ServiceLastAccessed("arn:aws:iam::111122223333:user/bob"); d != nil {
		t.Errorf("failed job gave %+v", d)
	}
	if d := s.ServiceLastAccessed("arn:aws:iam::111122223333:role/Other"); d != nil {
		t.Errorf("absent principal gave %+v", d)
	}
}

func TestLoadUsageBad(t *testing.T) {
	header := "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date\n"
	tests := []struct {
		name, lastAccessed, report, want string
	}{
		{"not an array", `{"Arn": "x"}`, "", "snap/last-accessed.json:1:1: top level: want array, got object"},
		{"no job status", `[{"Arn": "arn:aws:iam::111122223333:role/App"}]`, "", "snap/last-accessed.json:1: last-accessed[0].JobStatus: missing"},
		{"bad job status", `[{"Arn": "arn:aws:iam::111122223333:role/App", "JobStatus": "DONE"}]`, "", `last-accessed[0].JobStatus: "DONE" is not one of`},
		{"bad arn", `[{"Arn": "App", "JobStatus": "COMPLETED"}]`, "", `last-accessed[0].Arn: "App" is not an IAM user or role ARN`},
		{"services not an array", `[{"Arn": "arn:aws:iam::111122223333:role/App", "JobStatus": "COMPLETED", "ServicesLastAccessed": {}}]`, "",
			"snap/last-accessed.json:1:98: last-accessed[0].ServicesLastAccessed: want array, got object"},
		{"no namespace", "[\n" + `{"Arn": "arn:aws:iam::111122223333:role/App", "JobStatus": "COMPLETED", "ServicesLastAccessed": [{"ServiceName": "S3"}]}]`, "",
			"snap/last-accessed.json:2: last-accessed[0].ServicesLastAccessed[0].ServiceNamespace: missing"},
		{"no action name", `[{"Arn": "arn:aws:iam::111122223333:role/App", "JobStatus": "COMPLETED", "ServicesLastAccessed": [{"ServiceNamespace": "s3", "TrackedActionsLastAccessed": [{}]}]}]`, "",
			"last-accessed[0].ServicesLastAccessed[0].TrackedActionsLastAccessed[0].ActionName: missing"},
		{"bad time", `[{"Arn": "arn:aws:iam::111122223333:role/App", "JobStatus": "COMPLETED", "ServicesLastAccessed": [{"ServiceNamespace": "s3", "LastAuthenticated": "May"}]}]`, "",
			"snap/last-accessed.json:1:147: last-accessed[0].LastAuthenticated: not an RFC 3339 timestamp"},
		{"duplicate", "[" + `{"Arn": "arn:aws:iam::111122223333:role/App", "JobStatus": "COMPLETED"},` + "\n" + `{"Arn": "arn:aws:iam::111122223333:role/App", "JobStatus": "COMPLETED"}]`, "",
			`snap/last-accessed.json:2: last-accessed[1].Arn: "arn:aws:iam::111122223333:role/App" is also last-accessed[0]`},
		{"report missing column", "", "user,arn\n", "snap/credential-report.csv:1: column user_creation_time is missing"},
		{"report bad date", "", header + "a,arn:aws:iam::111122223333:user/a,2025-01-01T00:00:00Z,true,last week,N/A,false,N/A,N/A,false,N/A,N/A\n",
			`snap/credential-report.csv:2: column password_last_used: want an ISO 8601 date`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(usageFS(tt.lastAccessed, tt.report), "snap")
			if iamprune.ErrorCode(err) != iamprune.EINVALID {
				t.Fatalf("Load = %+v, %v; want EINVALID", s, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %s", err, tt.want)
			}
		})
	}
}

func TestLoadUsageValidWords(t *testing.T) {
	report := "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date\n" +
		"<root_account>,arn:aws:iam::111122223333:root,2021-01-01T00:00:00+00:00,not_supported,no_information,not_supported,false,N/A,N/A,false,N/A,N/A\n" +
		"a,arn:aws:iam::111122223333:user/a,2025-01-01T00:00:00+00:00,true,no_information,2025-01-01T00:00:00+00:00,false,N/A,N/A,false,N/A,N/A\n"
	s, err := Load(usageFS("", report), "snap")
	if err != nil {
		t.Fatal(err)
	}
	if u := s.CredentialReport.User("a"); u == nil || u.PasswordLastUsed.State != iamprune.ReportNoInformation {
		t.Errorf("a = %+v", u)
	}
}
