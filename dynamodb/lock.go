package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/iamprune/iamprune"
)

func lockKey(account string) item { return key("LOCK#"+esc(account), "LOCK") }

// lockTries bounds how often Lock retries when the lock changes hands
// between its conditional put and its read of the holder.
const lockTries = 5

// Lock takes the account's run lock for owner, with a put that succeeds
// only if no lock item exists or the existing one has expired. A held lock
// is ECONFLICT naming its holder. A lock past its expiry (its holder's
// ttl) is stale, its holder presumably dead, and is taken over. Expiry is
// judged by the taker's clock, so hosts sharing a table need synchronised
// clocks (as Lambda and EC2 have), to well within the ttl.
func (s *Store) Lock(ctx context.Context, account, owner string, ttl time.Duration) (iamprune.Lock, error) {
	if account == "" || owner == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "dynamodb: lock needs an account and an owner (got %q, %q)", account, owner)
	}
	if ttl <= 0 {
		return nil, iamprune.Errorf(iamprune.EINVALID, "dynamodb: lock ttl must be positive, got %s", ttl)
	}
	k := lockKey(account)
	if err := checkKey("account "+account, getS(k, attrPK), getS(k, attrSK)); err != nil {
		return nil, err
	}
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	for try := 1; ; try++ {
		now := time.Now().UTC()
		it := lockKey(account)
		it["account"], it["owner"], it[attrWriteToken] = str(account), str(owner), str(token)
		it["acquired_at"], it["expires_at"] = str(formatTime(now)), str(formatTime(now.Add(ttl)))
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(s.table),
			Item:                      it,
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR expires_at <= :now"),
			ExpressionAttributeValues: item{":now": str(formatTime(now))},
		})
		if err == nil {
			return &lock{s: s, account: account, token: token}, nil
		}
		if !isConditionFailed(err) {
			return nil, fmt.Errorf("dynamodb: cannot lock account %s: %w", account, err)
		}
		ok, cur, err := s.mine(ctx, k, token)
		switch {
		case err != nil:
			return nil, fmt.Errorf("dynamodb: cannot lock account %s: %w", account, err)
		case ok:
			return &lock{s: s, account: account, token: token}, nil
		case cur == nil && try < lockTries:
			continue // released since the put: try again
		case cur == nil:
			return nil, iamprune.Errorf(iamprune.ECONFLICT, "dynamodb: the lock on account %s changed hands %d times while taking it; try again", account, try)
		}
		since, err := getTime(cur, "acquired_at")
		if err != nil {
			return nil, err
		}
		until, err := getTime(cur, "expires_at")
		if err != nil {
			return nil, err
		}
		if !now.Before(until) && try < lockTries {
			continue // expired since the put: try again
		}
		return nil, iamprune.Errorf(iamprune.ECONFLICT,
			"dynamodb: account %s is locked by %q since %s: another run is in progress; wait for it, or for the lock to expire at %s",
			account, getS(cur, "owner"), since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
}

// lock is a held run lock. The token tells this holding apart from a later
// one that took the lock over after it went stale.
type lock struct {
	s       *Store
	account string
	token   string
}

// Release drops the lock if this holding still has it. Releasing twice, or
// after a takeover, changes nothing and is not an error.
func (l *lock) Release(ctx context.Context) error {
	_, err := l.s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(l.s.table),
		Key:                       lockKey(l.account),
		ConditionExpression:       aws.String("#token = :token"),
		ExpressionAttributeNames:  map[string]string{"#token": attrWriteToken},
		ExpressionAttributeValues: item{":token": str(l.token)},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("dynamodb: cannot release the lock on account %s: %w", l.account, err)
	}
	return nil
}
