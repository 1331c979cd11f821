package dynamodb

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// beforeSeal runs hook before each write that seals a sweep reaches the
// server: between SealSweep's read of the sweep and its write.
type beforeSeal struct{ hook func() }

func (b *beforeSeal) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("X-Amz-Target") == "DynamoDB_20120810.UpdateItem" && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), "SET #ex = :n") {
			b.hook()
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}

// A sweep is sealed while its consumers keep finishing parts, as they do
// in a large organisation: a part done between the seal's read and its
// write does not make the seal fail.
func TestSealWhilePartsFinish(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	table := newTable(t, cfg)
	consumer := openTable(t, cfg, table)
	ctx := context.Background()
	const id, n = "sweep-busy", 12
	var parts []iamprune.SweepPart
	for i := range n {
		parts = append(parts, iamprune.SweepPart{SweepID: id, Account: fmt.Sprintf("%012d", 200000000000+i), Page: 1})
	}
	if err := consumer.StartSweep(ctx, iamprune.Sweep{ID: id, StartedAt: storetestTime}, nil); err != nil {
		t.Fatal(err)
	}
	if err := consumer.AddSweepParts(ctx, id, parts); err != nil {
		t.Fatal(err)
	}
	finished := 0
	busy := &beforeSeal{hook: func() {
		if finished < n-1 { // the last part is the held-back message, not sent yet
			p := parts[finished]
			p.Status = iamprune.SweepDone
			if _, _, err := consumer.FinishSweepPart(ctx, p, storetestTime.Add(time.Minute)); err != nil {
				t.Errorf("FinishSweepPart %s: %v", p.Key(), err)
			}
			finished++
		}
	}}
	cfg.HTTPClient = &http.Client{Transport: busy}
	enqueuer := openTable(t, cfg, table)
	sw, err := enqueuer.SealSweep(ctx, id, n)
	if err != nil || sw.Expected != n || sw.Complete() {
		t.Fatalf("SealSweep with parts finishing meanwhile: %+v, %v", sw, err)
	}
	p := parts[n-1]
	p.Status = iamprune.SweepDone
	for _, q := range parts[finished : n-1] {
		q.Status = iamprune.SweepDone
		if _, last, err := consumer.FinishSweepPart(ctx, q, storetestTime); err != nil || last {
			t.Fatalf("FinishSweepPart %s: last %v, %v", q.Key(), last, err)
		}
	}
	if sw, last, err := consumer.FinishSweepPart(ctx, p, storetestTime); err != nil || !last || !sw.Complete() {
		t.Errorf("the held-back part: last %v, %+v, %v", last, sw, err)
	}
}
