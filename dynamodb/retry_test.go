package dynamodb

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/storetest"
)

// loseFirstAnswer sends every write to the server and, on its first
// attempt, drops the answer as a reset connection would: the write
// happened, the SDK retries it, and the retry may fail its condition
// against the write's own first attempt.
type loseFirstAnswer struct {
	lost atomic.Int64
}

var writes = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true, "BatchWriteItem": true}

func (l *loseFirstAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	if !writes[op] || !strings.Contains(req.Header.Get("Amz-Sdk-Request"), "attempt=1;") {
		return resp, nil
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l.lost.Add(1)
	return nil, errors.New("read tcp: connection reset by peer (answer dropped by the test)")
}

// lossyConfig is testConfig with every write's first answer lost, and
// quick retries.
func lossyConfig(t *testing.T, l *loseFirstAnswer) aws.Config {
	cfg := testConfig(t)
	cfg.HTTPClient = &http.Client{Transport: l}
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.RateLimiter = ratelimit.None
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	}
	return cfg
}

// The whole suite passes when every write is retried after it happened:
// an exactly-once write must not take its own retry for a conflict.
func TestConformanceLostAnswers(t *testing.T) {
	t.Parallel()
	testConfig(t) // skips, or fails under CI, without a server
	var l loseFirstAnswer
	open := func(t *testing.T) *Store {
		cfg := lossyConfig(t, &l)
		return openTable(t, cfg, newTable(t, testConfig(t)))
	}
	storetest.Run(t, func(t *testing.T) iamprune.Store { return open(t) })
	storetest.RunNoticeLog(t, func(t *testing.T) storetest.NoticeStore { return open(t) })
	storetest.RunSweepLog(t, func(t *testing.T) storetest.SweepStore { return open(t) })
	if l.lost.Load() < 100 {
		t.Errorf("only %d answers were lost: the test did not test retries", l.lost.Load())
	}

	// Each retried write happened once.
	s := open(t)
	ctx := context.Background()
	mustCreateRun(t, s, "r1")
	if err := s.BeginAction(ctx, action("r1", "a1", image(1, 400<<10))); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishAction(ctx, "r1", "a1", iamprune.ResultDone, "done", nil, storetestTime); err != nil {
		t.Fatal(err)
	}
	if rec := only(t, s, "r1"); rec.Status != iamprune.ResultDone || len(rec.PreImage) != 400<<10 {
		t.Errorf("record after retried writes: status %s, %d bytes of pre-image", rec.Status, len(rec.PreImage))
	}
	if counts := chunkItems(t, s, "r1"); counts["pre"] != 2 {
		t.Errorf("chunk items after retried writes: %v, want 2 pre chunks", counts)
	}
}
