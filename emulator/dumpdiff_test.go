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
