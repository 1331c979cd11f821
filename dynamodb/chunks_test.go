package dynamodb

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/iamprune/iamprune"
)

var storetestTime = time.Date(2026, 11, 28, 9, 30, 15, 123_456_789, time.UTC)

// image is a JSON document of exactly n bytes that does not compress to
// anything: a string of pseudo-random base64 text.
func image(seed uint64, n int) json.RawMessage {
	raw := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	s := base64.StdEncoding.EncodeToString(raw)
	return json.RawMessage(`"` + s[:n-2] + `"`)
}

// chunkItems counts the chunk items of a run's partition, by image.
func chunkItems(t *testing.T, s *Store, runID string) map[string]int {
	t.Helper()
	e := newExpr()
	kc := e.cond(attrPK, "=", str(runPK(runID))) + " AND " + e.prefix(attrSK, "CHUNK#")
	items, err := s.query(context.Background(), e.input("", kc, true), 0)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, it := range items {
		parts := strings.Split(getS(it, attrSK), "#")
		counts[parts[len(parts)-2]]++
		if n := len(getB(it, attrChunkData)); n > chunkSize {
			t.Errorf("chunk %s holds %d bytes, more than %d", getS(it, attrSK), n, chunkSize)
		}
	}
	return counts
}

func mustCreateRun(t *testing.T, s *Store, id string) {
	t.Helper()
	r := iamprune.Run{ID: id, Kind: iamprune.RunApply, Account: "111122223333", Status: iamprune.RunRunning, StartedAt: storetestTime}
	if err := s.CreateRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func action(runID, actionID string, pre json.RawMessage) iamprune.ActionRecord {
	return iamprune.ActionRecord{RunID: runID, ActionID: actionID, Account: "111122223333",
		Kind: iamprune.KindDenyUnusedServices, Target: "app", PreImage: pre, StartedAt: storetestTime}
}

func only(t *testing.T, s *Store, runID string) iamprune.ActionRecord {
	t.Helper()
	recs, err := s.Actions(context.Background(), runID)
	if err != nil {
		t.Fatalf("Actions: %v", err)
	}
	if len(recs) != 1 {
		t.Fatalf("Actions: %d records, want 1", len(recs))
	}
	return recs[0]
}

// Images far past the item limit are chunked and come back byte for byte,
// through both read paths; small ones stay inline.
func TestLargeImages(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name                 string
		pre, post            json.RawMessage
		preChunks, postChunk int
	}{
		{"1 MB each", image(1, 1<<20), image(2, 1<<20+7), 4, 5},
		{"just over inline", image(3, inlineMax+1), image(4, inlineMax), 1, 0},
		{"exactly one chunk and one byte", image(5, chunkSize+1), nil, 2, 0},
		{"inline both", image(6, inlineMax), image(7, inlineMax), 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := strings.ReplaceAll(tc.name, " ", "-")
			mustCreateRun(t, s, id)
			if err := s.BeginAction(ctx, action(id, "a1", tc.pre)); err != nil {
				t.Fatalf("BeginAction: %v", err)
			}
			if err := s.FinishAction(ctx, id, "a1", iamprune.ResultDone, "", tc.post, storetestTime.Add(time.Second)); err != nil {
				t.Fatalf("FinishAction: %v", err)
			}
			got := only(t, s, id)
			if !bytes.Equal(got.PreImage, tc.pre) || !bytes.Equal(got.PostImage, tc.post) {
				t.Errorf("Actions: images differ: %d and %d bytes, want %d and %d", len(got.PreImage), len(got.PostImage), len(tc.pre), len(tc.post))
			}
			found, err := s.FindActions(ctx, iamprune.ActionFilter{Account: "111122223333", ActionID: "a1", Status: iamprune.ResultDone})
			if err != nil {
				t.Fatal(err)
			}
			var hit bool
			for _, f := range found {
				if f.RunID == id {
					hit = true
					if !bytes.Equal(f.PreImage, tc.pre) || !bytes.Equal(f.PostImage, tc.post) {
						t.Errorf("FindActions: images differ")
					}
				}
			}
			if !hit {
				t.Errorf("FindActions did not find %s/a1", id)
			}
			counts := chunkItems(t, s, id)
			if counts["pre"] != tc.preChunks || counts["post"] != tc.postChunk {
				t.Errorf("chunk items: %v, want pre %d and post %d", counts, tc.preChunks, tc.postChunk)
			}
		})
	}
}

// A lost chunk is an error, never a shorter image.
func TestMissingChunk(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	mustCreateRun(t, s, "r1")
	if err := s.BeginAction(ctx, action("r1", "a1", image(1, 600<<10))); err != nil {
		t.Fatal(err)
	}
	e := newExpr()
	kc := e.cond(attrPK, "=", str(runPK("r1"))) + " AND " + e.prefix(attrSK, "CHUNK#")
	items, err := s.query(ctx, e.input("", kc, true), 0)
	if err != nil || len(items) != 3 {
		t.Fatalf("chunk items: %d, %v; want 3", len(items), err)
	}
	if _, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(getS(items[1], attrPK), getS(items[1], attrSK))}); err != nil {
		t.Fatal(err)
	}
	if recs, err := s.Actions(ctx, "r1"); err == nil || !strings.Contains(err.Error(), "missing chunk") {
		t.Errorf("Actions with a chunk gone = %d records, %v; want an error naming the missing chunk", len(recs), err)
	}
	if recs, err := s.FindActions(ctx, iamprune.ActionFilter{}); err == nil || !strings.Contains(err.Error(), "missing chunk") {
		t.Errorf("FindActions with a chunk gone = %d records, %v; want an error naming the missing chunk", len(recs), err)
	}
}

// A second intent for the same action, refused, leaves the first one's
// chunks as they were and none of its own.
func TestConflictKeepsChunks(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	mustCreateRun(t, s, "r1")
	first := image(1, 300<<10)
	if err := s.BeginAction(ctx, action("r1", "a1", first)); err != nil {
		t.Fatal(err)
	}
	err := s.BeginAction(ctx, action("r1", "a1", image(2, 700<<10)))
	if iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Fatalf("second BeginAction: %v, want ECONFLICT", err)
	}
	if got := only(t, s, "r1"); !bytes.Equal(got.PreImage, first) {
		t.Errorf("the refused intent changed the pre-image (%d bytes, want %d)", len(got.PreImage), len(first))
	}
	if counts := chunkItems(t, s, "r1"); counts["pre"] != 2 || len(counts) != 1 {
		t.Errorf("chunk items after the refused intent: %v, want the first's 2", counts)
	}

	// A chunked post-image given to BeginAction, replaced at the outcome,
	// leaves no chunks behind; a refused outcome writes none.
	rec := action("r1", "a2", nil)
	rec.PostImage = image(3, 200<<10)
	if err := s.BeginAction(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if counts := chunkItems(t, s, "r1"); counts["post"] != 1 {
		t.Fatalf("chunk items: %v, want one post chunk", counts)
	}
	if err := s.FinishAction(ctx, "r1", "a2", iamprune.ResultDone, "", json.RawMessage(`{}`), storetestTime); err != nil {
		t.Fatal(err)
	}
	err = s.FinishAction(ctx, "r1", "a2", iamprune.ResultFailed, "", image(4, 300<<10), storetestTime)
	if iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Fatalf("second FinishAction: %v, want ECONFLICT", err)
	}
	if counts := chunkItems(t, s, "r1"); counts["post"] != 0 || counts["pre"] != 2 {
		t.Errorf("chunk items after the outcomes: %v, want only a1's 2 pre chunks", counts)
	}
}

// A step's large images are chunked like an action's, and replacing the
// step (pending, then done) drops the chunks of the replaced record.
func TestStepImagesChunked(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	mustCreateRun(t, s, "r1")
	if err := s.BeginAction(ctx, action("r1", "a1", nil)); err != nil {
		t.Fatal(err)
	}
	pending := iamprune.Step{Seq: 1, Op: "PutUserPolicy", Target: "big", Pre: image(8, 600<<10), Status: iamprune.StepPending, At: storetestTime}
	if err := s.RecordStep(ctx, "r1", "a1", pending); err != nil {
		t.Fatal(err)
	}
	if counts := chunkItems(t, s, "r1"); counts["pre"] != 3 || counts["post"] != 0 {
		t.Errorf("chunk items of a 600 KB step pre-image: %v, want pre 3", counts)
	}
	done := pending
	done.Status, done.Post = iamprune.StepDone, image(9, 300<<10)
	if err := s.RecordStep(ctx, "r1", "a1", done); err != nil {
		t.Fatal(err)
	}
	got := only(t, s, "r1").Steps
	if len(got) != 1 || got[0].Status != iamprune.StepDone || !bytes.Equal(got[0].Pre, done.Pre) || !bytes.Equal(got[0].Post, done.Post) {
		t.Fatalf("steps after replacing: %d steps, want the done step byte for byte", len(got))
	}
	// The pending record's chunks are gone; only the done record's remain.
	if counts := chunkItems(t, s, "r1"); counts["pre"] != 3 || counts["post"] != 2 {
		t.Errorf("chunk items after replacing the step: %v, want pre 3 and post 2", counts)
	}
}
