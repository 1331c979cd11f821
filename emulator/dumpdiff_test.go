package emulator

import (
	"slices"
	"testing"
)

func TestDumpDiff(t *testing.T) {
	before := []byte(`{"Account":"1","Users":[{"UserName":"alice","Tags":[]},{"UserName":"bob"}],"Groups":[],"Roles":[{"RoleName":"r"}],"Policies":[],"AccessKeys":[{"AccessKeyId":"AKIA1","Status":"Active"}],"LoginProfiles":[{"UserName":"bob"}]}`)
	after := []byte(`{"Account":"1","Users":[{"Tags":[],"UserName":"alice"},{"UserName":"bob"}],"Groups":[],"Roles":[{"RoleName":"r"},{"RoleName":"new"}],"Policies":[],"AccessKeys":[{"AccessKeyId":"AKIA1","Status":"Inactive"}],"LoginProfiles":[]}`)
	got, err := DumpDiff(before, after)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"AccessKeys/AKIA1", "LoginProfiles/bob", "Roles/new"}
	if !slices.Equal(got, want) {
		t.Errorf("DumpDiff = %v, want %v", got, want)
	}
	if _, err := DumpDiff([]byte("nope"), after); err == nil {
		t.Error("a non-dump was accepted")
	}
}

// A retry of one SDK invocation is not a repeated call; the same call made
// by two invocations is.
func TestDuplicatesIgnoreRetries(t *testing.T) {
	c := Call{Service: "iam", Operation: "ListAccessKeys", Params: "UserName=alice"}
	if d := duplicates([]Call{c, c}, []string{"inv-1", "inv-1"}); len(d) != 0 {
		t.Errorf("a retry counted as a duplicate: %v", d)
	}
	if d := duplicates([]Call{c, c}, []string{"inv-1", "inv-2"}); len(d) != 1 {
		t.Errorf("two invocations of one call not reported: %v", d)
	}
	if d := duplicates([]Call{c, c}, []string{"", ""}); len(d) != 1 {
		t.Errorf("requests without an invocation id not compared: %v", d)
	}
}
