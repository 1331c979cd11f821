package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// UsageStore is a store with the service-last-accessed cache.
type UsageStore interface {
	iamprune.Store
	iamprune.UsageCache
}

// RunUsageCache runs the service-last-accessed cache suite. open must
// return a new, empty store on each call; the suite closes it.
func RunUsageCache(t *testing.T, open func(t *testing.T) UsageStore) {
	t.Helper()
	t.Run("LastAccessedRoundTrip", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { _ = s.Close() })
		testLastAccessedRoundTrip(t, s)
	})
}

func sampleLastAccessed(arn string, used time.Time) *iamprune.ServiceLastAccessed {
	return &iamprune.ServiceLastAccessed{
		ARN: arn, JobCompletionDate: used.Add(time.Hour),
		Services: []iamprune.ServiceAccess{
			{Name: "Amazon S3", Namespace: "s3", LastAuthenticated: &used, LastAuthenticatedEntity: arn,
				LastAuthenticatedRegion: "eu-west-1", TotalAuthenticatedEntities: 1, ActionsTracked: true,
				Actions: []iamprune.ActionAccess{{Name: "GetObject", LastAccessed: &used, Entity: arn, Region: "eu-west-1"}, {Name: "PutObject"}}},
			{Name: "Amazon SQS", Namespace: "sqs"},
		},
	}
}

// A result comes back as stored, with its time, per account and ARN; a
// second store replaces it.
func testLastAccessedRoundTrip(t *testing.T, s UsageStore) {
	ctx := context.Background()
	const arn = "arn:aws:iam::111122223333:role/app"
	if _, _, ok, err := s.CachedLastAccessed(ctx, "111122223333", arn); ok || err != nil {
		t.Fatalf("empty cache: ok=%v err=%v", ok, err)
	}
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	first := sampleLastAccessed(arn, at.Add(-48*time.Hour))
	if err := s.CacheLastAccessed(ctx, "111122223333", first, at); err != nil {
		t.Fatal(err)
	}
	got, gotAt, ok, err := s.CachedLastAccessed(ctx, "111122223333", arn)
	if err != nil || !ok || !gotAt.Equal(at) || !reflect.DeepEqual(got, first) {
		t.Fatalf("CachedLastAccessed = %+v, %v, %v, %v; want %+v at %v", got, gotAt, ok, err, first, at)
	}
	if _, _, ok, _ := s.CachedLastAccessed(ctx, "444455556666", arn); ok {
		t.Error("a result cached for one account is found for another")
	}
	second := sampleLastAccessed(arn, at)
	if err := s.CacheLastAccessed(ctx, "111122223333", second, at.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, gotAt, _, _ = s.CachedLastAccessed(ctx, "111122223333", arn)
	if !gotAt.Equal(at.Add(5*time.Hour)) || !reflect.DeepEqual(got, second) {
		t.Errorf("after replacing: %+v at %v, want %+v at %v", got, gotAt, second, at.Add(5*time.Hour))
	}
	if err := s.CacheLastAccessed(ctx, "111122223333", &iamprune.ServiceLastAccessed{}, at); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("caching data without an ARN: %v, want EINVALID", err)
	}
}
