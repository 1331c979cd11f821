package dynamodb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// An item is at most 400 KB. An image up to inlineMax stays in its action
// item, leaving room for the other image and the record's text; a larger
// one goes to chunk items of chunkSize bytes each.
const (
	inlineMax = 64 << 10
	chunkSize = 256 << 10
)

// Batch sizes: BatchWriteItem takes 25 items, and 50 chunks keep a
// BatchGetItem answer under its 16 MB limit.
const (
	batchWriteMax = 25
	batchGetMax   = 50
)

// Image attributes of an action item, for which = "pre" or "post":
//
//	<which>_image   B  the image, when inline
//	<which>_chunks  N  the number of chunk items, when chunked
//	<which>_size    N  the image's length in bytes
//	<which>_sha256  S  the image's SHA-256, hex
//	<which>_token   S  the write token that names its chunk items
var imageAttrs = []string{"_image", "_chunks", "_size", "_sha256", "_token"}

const attrChunkData = "data"

func chunkSK(actionID, token, which string, i int) string {
	return fmt.Sprintf("CHUNK#%s#%s#%s#%04d", esc(actionID), token, which, i)
}

// splitImage returns the attributes that record img in its action item and
// the chunk items to write before it. An empty image has neither.
func splitImage(runID, actionID, which, token string, img []byte) (item, []item) {
	attrs := item{}
	switch {
	case len(img) == 0:
		return attrs, nil
	case len(img) <= inlineMax:
		attrs[which+"_image"] = &types.AttributeValueMemberB{Value: bytes.Clone(img)}
		return attrs, nil
	}
	sum := sha256.Sum256(img)
	var chunks []item
	for i := 0; i*chunkSize < len(img); i++ {
		part := img[i*chunkSize : min((i+1)*chunkSize, len(img))]
		c := key(runPK(runID), chunkSK(actionID, token, which, i))
		c[attrChunkData] = &types.AttributeValueMemberB{Value: bytes.Clone(part)}
		chunks = append(chunks, c)
	}
	attrs[which+"_chunks"] = num(int64(len(chunks)))
	attrs[which+"_size"] = num(int64(len(img)))
	attrs[which+"_sha256"] = str(hex.EncodeToString(sum[:]))
	attrs[which+"_token"] = str(token)
	return attrs, chunks
}

// chunkRef is a chunked image of a read action item, to be fetched.
type chunkRef struct {
	pk, actionID, which, token string
	n                          int
	size                       int64
	sum                        string
	dst                        *[]byte // where the assembled image goes
}

// imageOf reads the image which of action item it into *dst when inline,
// or returns the reference to its chunks.
func imageOf(it item, which string, dst *[]byte) (*chunkRef, error) {
	if b := getB(it, which+"_image"); len(b) > 0 {
		*dst = b
		return nil, nil
	}
	if _, ok := it[which+"_chunks"]; !ok {
		return nil, nil
	}
	n, err := getN(it, which+"_chunks")
	if err != nil {
		return nil, err
	}
	size, err := getN(it, which+"_size")
	if err != nil {
		return nil, err
	}
	return &chunkRef{
		pk: getS(it, attrPK), actionID: getS(it, "action_id"), which: which, token: getS(it, which+"_token"),
		n: int(n), size: size, sum: getS(it, which+"_sha256"), dst: dst,
	}, nil
}

func (r *chunkRef) keys() []item {
	keys := make([]item, r.n)
	for i := range keys {
		keys[i] = key(r.pk, chunkSK(r.actionID, r.token, r.which, i))
	}
	return keys
}

// loadChunks fetches and reassembles the images of refs, checking each
// against its recorded size and hash: a missing or damaged chunk is an
// error, never a shorter image.
func (s *Store) loadChunks(ctx context.Context, refs []*chunkRef) error {
	var keys []item
	for _, r := range refs {
		keys = append(keys, r.keys()...)
	}
	if len(keys) == 0 {
		return nil
	}
	got, err := s.batchGet(ctx, keys)
	if err != nil {
		return fmt.Errorf("cannot read image chunks: %w", err)
	}
	for _, r := range refs {
		var img []byte
		for _, k := range r.keys() {
			c, ok := got[itemID(k)]
			if !ok {
				return fmt.Errorf("%s-image of action %s (%s) is missing chunk %s", r.which, r.actionID, r.pk, getS(k, attrSK))
			}
			img = append(img, c...)
		}
		sum := sha256.Sum256(img)
		if int64(len(img)) != r.size || hex.EncodeToString(sum[:]) != r.sum {
			return fmt.Errorf("%s-image of action %s (%s) does not match its recorded size and SHA-256 (%d bytes, want %d)", r.which, r.actionID, r.pk, len(img), r.size)
		}
		*r.dst = img
	}
	return nil
}

// itemID is an item's primary key as one string.
func itemID(it item) string { return getS(it, attrPK) + "\x00" + getS(it, attrSK) }

// batchGet reads keys with strongly consistent reads and returns the data
// of the items found, by itemID.
func (s *Store) batchGet(ctx context.Context, keys []item) (map[string][]byte, error) {
	got := map[string][]byte{}
	for len(keys) > 0 {
		n := min(len(keys), batchGetMax)
		pending := map[string]types.KeysAndAttributes{
			s.table: {Keys: keys[:n], ConsistentRead: aws.Bool(true)},
		}
		keys = keys[n:]
		for try := 0; len(pending) > 0; try++ {
			out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, err
			}
			for _, it := range out.Responses[s.table] {
				got[itemID(it)] = getB(it, attrChunkData)
			}
			pending = out.UnprocessedKeys
			if err := backoff(ctx, try, len(pending) > 0); err != nil {
				return nil, err
			}
		}
	}
	return got, nil
}

// writeChunks puts chunk items.
func (s *Store) writeChunks(ctx context.Context, chunks []item) error {
	reqs := make([]types.WriteRequest, len(chunks))
	for i, c := range chunks {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: c}}
	}
	return s.batchWrite(ctx, reqs)
}

// dropChunks deletes chunk items that no action item refers to: those of
// a write that lost its condition, or that a later image replaced. It is
// best effort: a chunk left behind is never read, it only takes space.
func (s *Store) dropChunks(ctx context.Context, keys []item) {
	reqs := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(getS(k, attrPK), getS(k, attrSK))}}
	}
	_ = s.batchWrite(context.WithoutCancel(ctx), reqs)
}

func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		n := min(len(reqs), batchWriteMax)
		pending := map[string][]types.WriteRequest{s.table: reqs[:n]}
		reqs = reqs[n:]
		for try := 0; len(pending) > 0; try++ {
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return err
			}
			pending = out.UnprocessedItems
			if err := backoff(ctx, try, len(pending) > 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// backoff waits before retrying the unprocessed part of a batch, as AWS
// asks, and gives up after a while.
func backoff(ctx context.Context, try int, more bool) error {
	if !more {
		return nil
	}
	if try >= 10 {
		return fmt.Errorf("batch still unprocessed after %d tries", try+1)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(50<<min(try, 5)) * time.Millisecond):
		return nil
	}
}
