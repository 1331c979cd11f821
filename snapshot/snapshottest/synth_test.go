package snapshottest_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/iamprune/iamprune/snapshot"
	"github.com/iamprune/iamprune/snapshot/snapshottest"
)

func TestWriteLoads(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "org")
	o := snapshottest.ForFindings(200, 3)
	n, err := snapshottest.Write(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if n != o.Findings() || n != 198 {
		t.Fatalf("wrote %d findings, Options say %d, want 198 (33 principals × 3 accounts × 2)", n, o.Findings())
	}
	s, err := snapshot.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Members) != 2 {
		t.Fatalf("%d members, want 2", len(s.Members))
	}
	fs, warnings, err := s.Findings(context.Background())
	if err != nil || len(warnings) != 0 || len(fs) != n {
		t.Fatalf("Findings: %d findings, warnings %v, err %v; want %d and none", len(fs), warnings, err, n)
	}
	facts, err := s.Facts(context.Background(), fs)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, f := range fs {
		if facts.Principal(f.Resource) == nil {
			t.Fatalf("finding %s names %s, which the snapshot does not hold", f.ID, f.Resource)
		}
		types[string(f.Type)]++
	}
	if len(types) != 4 {
		t.Errorf("finding types %v, want all four", types)
	}
	// Deterministic: the same options write the same bytes.
	again := filepath.Join(t.TempDir(), "again")
	if _, err := snapshottest.Write(again, o); err != nil {
		t.Fatal(err)
	}
	a, _ := snapshot.LoadDir(again)
	if len(a.FindingList) != len(s.FindingList) || a.FindingList[5].Id != s.FindingList[5].Id {
		t.Error("two generations of the same options differ")
	}
}
