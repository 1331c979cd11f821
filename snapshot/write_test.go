package snapshot

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

// TestWriteRoundTrip writes a loaded snapshot and loads it back: nothing is
// lost, and writing it again gives the same bytes.
func TestWriteRoundTrip(t *testing.T) {
	want := loadGood(t)
	dir := filepath.Join(t.TempDir(), "out")
	if err := Write(dir, loadGood(t)); err != nil {
		t.Fatal(err)
	}
	got, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	sortSnapshot(want)
	got.Name, want.Name = "", ""
	// Compared as JSON: raw members (analyzer configuration, unknown
	// finding details) are re-indented, and empty lists may become nil.
	for _, c := range []struct {
		name string
		a, b any
	}{{"auth", got.Auth, want.Auth}, {"keys", got.AccessKeys, want.AccessKeys}, {"profiles", got.LoginProfiles, want.LoginProfiles},
		{"findings", got.FindingList, want.FindingList}, {"last-accessed", got.LastAccessed, want.LastAccessed},
		{"report", got.CredentialReport, want.CredentialReport}, {"meta", got.Meta, want.Meta}, {"analyzer", got.Analyzer, want.Analyzer}} {
		a, _ := json.Marshal(c.a)
		b, _ := json.Marshal(c.b)
		if string(a) != string(b) {
			t.Errorf("%s lost in the round trip:\ngot  %s\nwant %s", c.name, a, b)
		}
	}
	again := filepath.Join(t.TempDir(), "again")
	if err := Write(again, got); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		a, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		b, _ := os.ReadFile(filepath.Join(again, e.Name()))
		if string(a) != string(b) {
			t.Errorf("%s differs between two writes", e.Name())
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, MetaFile)); !strings.Contains(string(b), "\n  \"account_id\"") {
		t.Errorf("meta.json is not indented:\n%s", b)
	}
}

// TestOrganisationSnapshot: member sub-folders load as members, their
// principals join the facts, and a finding in an account with no folder
// lists it unreachable instead of taking its principals for deleted.
func TestOrganisationSnapshot(t *testing.T) {
	home := loadGood(t)
	member := loadGood(t)
	member.Meta.AccountID = "444455556666"
	member.HasFindings, member.FindingList, member.Analyzer = false, nil, nil
	member.Auth.RoleDetailList = []RoleDetail{{RoleName: "m", Arn: "arn:aws:iam::444455556666:role/m", CreateDate: home.Meta.CapturedAt}}
	home.Members = []*Snapshot{member}
	dir := t.TempDir()
	if err := Write(dir, home); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "notes"), 0o750); err != nil { // not a member: no meta.json
		t.Fatal(err)
	}
	s, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.MemberAccounts(); !reflect.DeepEqual(got, []string{"444455556666"}) {
		t.Fatalf("members %v", got)
	}
	facts, err := s.Facts(context.Background(), []iamprune.Finding{{Account: "444455556666"}, {Account: "777788889999"}})
	if err != nil {
		t.Fatal(err)
	}
	if facts.Principal("arn:aws:iam::444455556666:role/m") == nil {
		t.Error("the member's role is not in the facts")
	}
	if facts.Account != home.Meta.AccountID || facts.Unreachable["777788889999"] == "" || facts.Unreachable["444455556666"] != "" {
		t.Errorf("account %s, unreachable %v", facts.Account, facts.Unreachable)
	}
	// Two folders of one account are bad input.
	if err := Write(filepath.Join(dir, "copy"), member); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("duplicate member account: %v", err)
	}
}
