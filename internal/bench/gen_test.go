package bench

import (
	"context"
	"testing"

	"github.com/iamprune/iamprune/snapshot"
)

// A generated organisation loads as snapshots, with the findings the Spec
// says, every type of the mix, and each finding's principal in its member.
func TestWrite(t *testing.T) {
	t.Parallel()
	s := Spec{Accounts: 3, Units: 4}
	o, err := Write(t.TempDir(), s)
	if err != nil {
		t.Fatal(err)
	}
	home, err := snapshot.LoadDir(o.Home)
	if err != nil {
		t.Fatal(err)
	}
	findings, _, err := home.Findings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != s.Findings() || s.Findings() != 60 {
		t.Fatalf("%d findings, want %d", len(findings), s.Findings())
	}
	types := map[string]int{}
	for _, f := range findings {
		types[string(f.Type)]++
	}
	want := map[string]int{"UnusedIAMRole": 12, "UnusedPermission": 12, "UnusedIAMUserAccessKey": 24, "UnusedIAMUserPassword": 12}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("%s: %d findings, want %d", k, types[k], v)
		}
	}
	if len(o.Members) != 3 {
		t.Fatalf("members %v", o.Members)
	}
	m, err := snapshot.LoadDir(o.Members[2])
	if err != nil {
		t.Fatal(err)
	}
	facts, err := m.Facts(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Account == MemberAccount(2) && facts.Principals[f.Resource] == nil {
			t.Errorf("finding %s names %s, absent from its member", f.ID, f.Resource)
		}
	}
	if facts.Principals["arn:aws:iam::"+MemberAccount(2)+":role/"+RoleName] == nil {
		t.Error("no member role")
	}
}
