package app

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/mock"
	"github.com/iamprune/iamprune/render"
	"github.com/iamprune/iamprune/snapshot"
	"github.com/iamprune/iamprune/snapshot/snapshottest"
)

// planSnapshot plans the snapshot at dir as 'iamprune plan --snapshot DIR
// -o json' does with the default config, and writes the JSON plan to w.
func planSnapshot(dir string, w io.Writer) (*Planned, error) {
	in := Inputs{Config: iamprune.DefaultConfig(), Now: snapshottest.Now}
	res, err := MakePlan(context.Background(), in, PlanOptions{Snapshot: dir})
	if err != nil {
		return nil, err
	}
	return res, render.JSON{}.Render(w, res.Plan)
}

// heapPeak samples the live heap until stop is called, which returns the
// largest value seen above the heap when it was called (what earlier tests
// of the package left live is not the run's; call it after runtime.GC).
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var (
		peak uint64
		mu   sync.Mutex
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	read := func() {
		metrics.Read(sample)
		mu.Lock()
		peak = max(peak, sample[0].Value.Uint64())
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		read()
		return peak - min(base, peak)
	}
}

// BenchmarkPlanSnapshot plans generated organisations of 1k, 10k and 100k
// findings (10 accounts) from their snapshot folders, JSON output
// discarded, and reports findings per second and the peak live heap.
//
//	go test ./app -run '^$' -bench PlanSnapshot -benchtime 1x
func BenchmarkPlanSnapshot(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "snap")
			count, err := snapshottest.Write(dir, snapshottest.ForFindings(n, 10))
			if err != nil {
				b.Fatal(err)
			}
			var peak uint64
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				runtime.GC() // the generator's garbage is not the plan's
				b.StartTimer()
				stop := heapPeak()
				if _, err := planSnapshot(dir, io.Discard); err != nil {
					b.Fatal(err)
				}
				peak = max(peak, stop())
			}
			b.ReportMetric(float64(count*b.N)/b.Elapsed().Seconds(), "findings/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// TestStreamedPlanMatchesWholeDocument plans a generated organisation by
// streaming its findings (MakePlan) and the old way, every finding loaded
// first (Decide over snapshot.LoadDir): the plans must be the same, with
// holds in two accounts, and one member folder missing so that its
// findings are skipped as unreachable.
func TestStreamedPlanMatchesWholeDocument(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "org")
	if _, err := snapshottest.Write(dir, snapshottest.ForFindings(1200, 4)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "200000000003")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store := &mock.Store{}
	for _, h := range []iamprune.Hold{
		{ID: "hold-1", Account: snapshottest.HomeAccount, Principal: "arn:aws:iam::111122223333:role/role-000001", FindingType: iamprune.UnusedIAMRole, Target: "role-000001"},
		{ID: "hold-2", Account: "200000000002", Principal: "arn:aws:iam::200000000002:user/user-000004", FindingType: iamprune.UnusedIAMUserPassword, Target: "user-000004"},
	} {
		h.Kind, h.Services, h.Until = iamprune.KindQuarantineRole, []string{}, snapshottest.Now.AddDate(0, 0, 30)
		if err := store.PutHold(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	in := Inputs{Config: iamprune.DefaultConfig(), Now: snapshottest.Now, ConfigPath: "c.yaml",
		Warnings: []iamprune.Warning{{Source: "exceptions", Message: "refused"}}}
	got, err := MakePlan(ctx, in, PlanOptions{Snapshot: dir, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, wantFacts, err := Decide(ctx, snap, snap, in, store, "snapshot "+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Plan, want) {
		t.Fatalf("streamed plan differs from the whole-document plan (%d and %d actions)", len(got.Plan.Actions), len(want.Actions))
	}
	if !reflect.DeepEqual(got.Facts.Unreachable, wantFacts.Unreachable) || len(want.Actions) < 1200 {
		t.Errorf("unreachable %v, want %v; %d actions", got.Facts.Unreachable, wantFacts.Unreachable, len(want.Actions))
	}
	kinds := got.Plan.Counts()
	if kinds[iamprune.KindExempt] != 2 || kinds[iamprune.KindSkip] == 0 || kinds[iamprune.KindNotify] == 0 {
		t.Errorf("plan kinds %v: want the two held items exempt, skips and notices", kinds)
	}
}

// TestPlanSnapshotMemoryCeiling plans a generated organisation of 10,000
// findings and checks the most heap it ever needs: with the GC run often,
// the sampled heap is close to what is live. The findings are streamed,
// so the peak is the facts and the plan, not the input (read as a whole
// document, the same snapshot peaks at 57 MiB, well over the ceiling).
func TestPlanSnapshotMemoryCeiling(t *testing.T) {
	// The heap is the whole process's: measured in a child process of
	// this test binary, so that other tests' goroutines and leftovers
	// do not count.
	if os.Getenv("IAMPRUNE_TEST_MEMORY_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPlanSnapshotMemoryCeiling$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "IAMPRUNE_TEST_MEMORY_CHILD=1")
		out, err := cmd.CombinedOutput()
		t.Logf("child:\n%s", out)
		if err != nil {
			t.Fatalf("the measuring child failed: %v", err)
		}
		return
	}
	// Under the race detector (scripts/test) everything is slower: a
	// smaller organisation, with a ceiling to scale.
	size, ceiling := 10_000, uint64(32<<20)
	if raceEnabled {
		size, ceiling = 3_000, 12<<20
	}
	dir := filepath.Join(t.TempDir(), "snap")
	n, err := snapshottest.Write(dir, snapshottest.ForFindings(size, 5))
	if err != nil {
		t.Fatal(err)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	runtime.GC()
	stop := heapPeak()
	res, err := planSnapshot(dir, io.Discard)
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d findings, %d actions: peak heap %.1f MiB", n, len(res.Plan.Actions), float64(peak)/(1<<20))
	if peak > ceiling {
		t.Errorf("planning %d findings peaked at %.1f MiB of heap, over the %d MiB ceiling", n, float64(peak)/(1<<20), ceiling>>20)
	}
}

// TestBoundMemory: planning sets a soft memory limit scaled to
// findings.json and puts the previous one back; a limit the user set
// (GOMEMLIMIT) is left alone.
func TestBoundMemory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, snapshot.FindingsFile), make([]byte, 10<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	debug.SetMemoryLimit(math.MaxInt64)
	release := boundMemory(dir)
	if got, want := debug.SetMemoryLimit(-1), int64(memoryBase+15<<20); got != want {
		t.Errorf("limit while planning %d, want %d", got, want)
	}
	inner := boundMemory(t.TempDir()) // a concurrent plan of a smaller snapshot
	inner()
	if got := debug.SetMemoryLimit(-1); got != memoryBase+15<<20 {
		t.Errorf("limit after the inner plan %d, want it kept", got)
	}
	release()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit after planning %d, want none again", got)
	}
	debug.SetMemoryLimit(1 << 30)
	boundMemory(dir)()
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("a user's limit became %d", got)
	}
}
