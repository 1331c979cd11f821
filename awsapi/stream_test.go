package awsapi

import (
	"context"
	"fmt"
	"testing"

	"github.com/iamprune/iamprune"
)

// EachChunk over an analyzer of many findings, in pages larger than a
// chunk, never holds more than one chunk of details: when a chunk is
// handed over, the details read and not yet handed over are that chunk's
// only, whatever the number of findings. Every finding comes once, in the
// listing's order, with each call made once; none is remembered for
// Finding but those kept.
func TestEachChunkHoldsOneChunk(t *testing.T) {
	// Pages of 150: the fake's answers above 4 kB sometimes fail to read.
	const n, pageSize = 5000, 150
	fake := newFake(t)
	fake.pagedRoles(n, pageSize, "f%05d")
	counter := NewCounter()
	src := NewFindingSource(fake.start(counter), testAnalyzer, WithWorkers(8))
	var last [2]int
	src.OnProgress = func(done, total int) { last = [2]int{done, total} }
	handed, held, chunks := 0, 0, 0
	var kept iamprune.Finding
	warnings, err := src.EachChunk(context.Background(), func(chunk []iamprune.Finding) error {
		chunks++
		read := counter.ByOperation()["AccessAnalyzer.GetFindingV2"]
		held = max(held, read-handed)
		if read-handed != len(chunk) {
			t.Errorf("chunk %d of %d findings handed over with %d details read since the last one", chunks, len(chunk), read-handed)
		}
		for i, f := range chunk {
			if want := fmt.Sprintf("f%05d", handed+i); f.ID != want {
				t.Fatalf("finding %d is %s, want %s", handed+i, f.ID, want)
			}
		}
		if handed == 0 {
			kept = chunk[3]
		}
		handed += len(chunk)
		return nil
	})
	if err != nil || len(warnings) != 0 {
		t.Fatalf("EachChunk: %v, warnings %v", err, warnings)
	}
	// A page of 150 is chunks of 100 and 50; the last page, of 50, one.
	if want := n/pageSize*2 + 1; handed != n || held > streamChunk || chunks != want {
		t.Errorf("%d findings in %d chunks, at most %d held at once; want %d in %d, at most %d", handed, chunks, held, n, want, streamChunk)
	}
	if last != [2]int{n, n} {
		t.Errorf("last progress = %v, want %d of %d", last, n, n)
	}
	fake.checkCalls()
	pages := (n + pageSize - 1) / pageSize
	if byOp := counter.ByOperation(); byOp["AccessAnalyzer.ListFindingsV2"] != pages || counter.Total() != n+pages {
		t.Errorf("calls = %d %v", counter.Total(), byOp)
	}
	if len(src.cache) != 0 {
		t.Fatalf("the stream remembered %d findings", len(src.cache))
	}
	src.Keep(kept)
	f, err := src.Finding(context.Background(), kept.ID)
	if err != nil || f.Resource != kept.Resource || counter.Total() != n+pages {
		t.Errorf("a kept finding: %v, %v, %d calls", f, err, counter.Total())
	}
}
