package credreport

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// report is what IAM returns, with the root row, a user without a password
// or keys, a password never used and keys in every state.
const report = `user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::111122223333:root,2021-03-02T18:40:00+00:00,not_supported,2026-01-05T10:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::111122223333:user/alice,2024-02-12T09:41:27+00:00,true,2026-11-25T08:31:00+00:00,2024-02-12T09:42:00+00:00,N/A,false,true,2024-02-12T09:45:02+00:00,2026-03-01T00:00:00+00:00,us-east-1,s3,true,2026-10-19T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A
erin,arn:aws:iam::111122223333:user/erin,2026-03-02T00:00:00+00:00,TRUE,no_information,2026-08-20T00:00:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
svc,arn:aws:iam::111122223333:user/svc,2025-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,2025-01-02T00:00:00+00:00,2025-06-01T12:00:00+00:00,N/A,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
`

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseSemantics(t *testing.T) {
	rep, err := Parse([]byte(report), "snap/credential-report.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Users) != 4 {
		t.Fatalf("%d rows, want 4", len(rep.Users))
	}
	root := rep.User(iamprune.RootUserName)
	if has, known := root.HasPassword(); has || known {
		t.Errorf("root HasPassword = %v, %v; want unknown (not_supported)", has, known)
	}
	if last, known := root.PasswordUse(); last != nil || known {
		t.Errorf("root PasswordUse = %v, %v; want unknown", last, known)
	}
	if !root.MFAActive || root.PasswordLastChanged.State != iamprune.ReportNotSupported {
		t.Errorf("root = %+v", root)
	}

	alice := rep.User("alice")
	if last, known := alice.PasswordUse(); !known || !last.Equal(day("2026-11-25T08:31:00Z")) {
		t.Errorf("alice PasswordUse = %v, %v", last, known)
	}
	if last, known := alice.KeyUse(0); !known || !last.Equal(day("2026-03-01T00:00:00Z")) {
		t.Errorf("alice key 1 = %v, %v", last, known)
	}
	if k := alice.AccessKeys[0]; !k.Active || k.LastUsedRegion != "us-east-1" || k.LastUsedService != "s3" || !k.LastRotated.At.Equal(day("2024-02-12T09:45:02Z")) {
		t.Errorf("alice key 1 = %+v", k)
	}
	// An existing key with last use N/A was never used.
	if last, known := alice.KeyUse(1); !known || last != nil {
		t.Errorf("alice key 2 = %v, %v; want never used", last, known)
	}

	// An enabled password with no_information was never used.
	erin := rep.User("erin")
	if last, known := erin.PasswordUse(); !known || last != nil {
		t.Errorf("erin PasswordUse = %v, %v; want never used", last, known)
	}
	// No key in the slot: not "never used", unknown.
	if last, known := erin.KeyUse(0); known || last != nil {
		t.Errorf("erin key 1 = %v, %v; want no key", last, known)
	}

	// No password: its last use is not "never".
	svc := rep.User("svc")
	if last, known := svc.PasswordUse(); known || last != nil {
		t.Errorf("svc PasswordUse = %v, %v; want unknown (no password)", last, known)
	}
	if k := svc.AccessKeys[0]; k.Active || k.LastUsedRegion != "" || k.LastUsedService != "iam" {
		t.Errorf("svc inactive key = %+v", k)
	}
	if last, known := svc.KeyUse(0); !known || !last.Equal(day("2025-06-01T12:00:00Z")) {
		t.Errorf("svc key 1 = %v, %v", last, known)
	}
	if rep.User("nobody") != nil {
		t.Error("User(nobody) != nil")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	rep, err := Parse([]byte(report), "r.csv")
	if err != nil {
		t.Fatal(err)
	}
	out := Marshal(rep)
	// Only erin's TRUE is not as IAM writes it.
	want := strings.Replace(report, "TRUE", "true", 1)
	if string(out) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", out, want)
	}
	again, err := Parse(out, "again.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(Marshal(again), out) {
		t.Error("Marshal is not stable across a round trip")
	}
}

func TestMarshalFillsOptionalColumns(t *testing.T) {
	rep, err := Parse([]byte("arn,user,user_creation_time,password_enabled,password_last_used,password_last_changed,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date\n"+
		"arn:aws:iam::111122223333:user/a,a,2025-01-01T00:00:00Z,false,N/A,N/A,false,N/A,N/A,false,N/A,N/A\n"), "min.csv")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(Marshal(rep))), "\n")[1]
	want := "a,arn:aws:iam::111122223333:user/a,2025-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
	if got != want {
		t.Errorf("row = %s\nwant  %s", got, want)
	}
}

func TestParseBadInput(t *testing.T) {
	header := strings.SplitN(report, "\n", 2)[0]
	alice := strings.Split(report, "\n")[2]
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "r.csv is empty"},
		{"missing column", strings.Replace(header, ",password_last_used,", ",", 1) + "\n", "r.csv:1: column password_last_used is missing"},
		{"bad date", header + "\n" + strings.Replace(alice, "2026-11-25T08:31:00+00:00", "yesterday", 1) + "\n",
			`r.csv:2: column password_last_used: want an ISO 8601 date (2006-01-02T15:04:05+00:00), N/A, no_information or not_supported, got "yesterday"`},
		{"bad date on line 3", header + "\n" + alice + "\n" + strings.Replace(alice, "2024-02-12T09:45:02+00:00", "12/02/2024", 1) + "\n",
			`r.csv:3: column access_key_1_last_rotated: want an ISO 8601 date`},
		{"creation not a date", header + "\n" + strings.Replace(alice, "2024-02-12T09:41:27+00:00", "N/A", 1) + "\n",
			"r.csv:2: column user_creation_time: want a date, got N/A"},
		{"bad boolean", header + "\n" + strings.Replace(alice, ",false,true,", ",false,yes,", 1) + "\n",
			`r.csv:2: column access_key_1_active: want true or false, got "yes"`},
		{"empty user", header + "\n" + strings.Replace(alice, "alice,", ",", 1) + "\n", "r.csv:2: column user: empty"},
		{"short row", header + "\nalice,arn:aws:iam::111122223333:user/alice\n", "r.csv:2:"},
		{"bad quoting", header + "\n\"alice,x\n", "r.csv:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data), "r.csv")
			if iamprune.ErrorCode(err) != iamprune.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to contain %s", err, tt.want)
			}
		})
	}
}
