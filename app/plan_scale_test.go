package app

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/render"
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
// largest value seen.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
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
		return peak
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
