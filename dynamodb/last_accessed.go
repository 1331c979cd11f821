package dynamodb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/iamprune/iamprune"
)

var _ iamprune.UsageCache = (*Store)(nil)

// maxUsageJSON keeps a cached result, with its keys and time, under the
// 400 KB item limit. A cache entry is not worth chunking: a refused one is
// only a warning, and the result is asked of IAM again.
const maxUsageJSON = 350 << 10

func usageKey(account, arn string) item {
	return key("USAGE#"+esc(account)+"#"+esc(arn), "USAGE")
}

// CachedLastAccessed returns the service-last-accessed result stored for
// arn in account, and when it was stored.
func (s *Store) CachedLastAccessed(ctx context.Context, account, arn string) (*iamprune.ServiceLastAccessed, time.Time, bool, error) {
	k := usageKey(account, arn)
	if !fits(getS(k, attrPK), getS(k, attrSK)) {
		return nil, time.Time{}, false, nil // never stored: CacheLastAccessed refuses it
	}
	it, err := s.get(ctx, k)
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("cannot read the cached service-last-accessed data of %s: %w", arn, err)
	}
	if it == nil {
		return nil, time.Time{}, false, nil
	}
	at, err := getTime(it, "at")
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("cached service-last-accessed data of %s: %w", arn, err)
	}
	var d iamprune.ServiceLastAccessed
	if err := json.Unmarshal([]byte(getS(it, "data")), &d); err != nil {
		return nil, time.Time{}, false, fmt.Errorf("cached service-last-accessed data of %s: %w", arn, err)
	}
	return &d, at, true, nil
}

// CacheLastAccessed stores d for account as of at, replacing what was stored.
func (s *Store) CacheLastAccessed(ctx context.Context, account string, d *iamprune.ServiceLastAccessed, at time.Time) error {
	if d == nil || d.ARN == "" {
		return iamprune.Errorf(iamprune.EINVALID, "service-last-accessed data without an ARN")
	}
	it := usageKey(account, d.ARN)
	if err := checkKey("service-last-accessed data of "+d.ARN, getS(it, attrPK), getS(it, attrSK)); err != nil {
		return err
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("cannot encode the service-last-accessed data of %s: %w", d.ARN, err)
	}
	if len(data) > maxUsageJSON {
		return fmt.Errorf("the service-last-accessed data of %s is %d bytes of JSON, more than the %d a cache item holds", d.ARN, len(data), maxUsageJSON)
	}
	it["account"], it["arn"], it["at"], it["data"] = str(account), str(d.ARN), str(formatTime(at)), str(string(data))
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("cannot cache the service-last-accessed data of %s: %w", d.ARN, err)
	}
	return nil
}
