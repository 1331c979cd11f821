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
func (s *Store) Lock(ctx context.Context, account string, owner iamprune.LockOwner, ttl time.Duration) (iamprune.Lock, error) {
	if account == "" || owner.Host == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "lock needs an account and an owner host (got %q, %q)", account, owner.Host)
	}
	if ttl <= 0 {
		return nil, iamprune.Errorf(iamprune.EINVALID, "lock ttl must be positive, got %s", ttl)
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
		it["account"], it["owner"], it[attrWriteToken] = str(account), str(owner.String()), str(token)
		it["acquired_at"], it["expires_at"] = str(formatTime(now)), str(formatTime(now.Add(ttl)))
		it["host"], it["pid"] = str(owner.Host), num(int64(owner.PID))
		setS(it, "user", owner.User)
		setS(it, "run_id", owner.RunID)
		if !owner.StartedAt.IsZero() {
			it["started_at"] = str(formatTime(owner.StartedAt))
		}
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
			return nil, fmt.Errorf("cannot lock account %s: %w", account, err)
		}
		ok, cur, err := s.mine(ctx, k, token)
		switch {
		case err != nil:
			return nil, fmt.Errorf("cannot lock account %s: %w", account, err)
		case ok:
			return &lock{s: s, account: account, token: token}, nil
		case cur == nil && try < lockTries:
			continue // released since the put: try again
		case cur == nil:
			return nil, iamprune.Errorf(iamprune.ECONFLICT, "the lock on account %s changed hands %d times while taking it; try again", account, try)
		}
		info, err := decodeLock(cur)
		if err != nil {
			return nil, err
		}
		if !now.Before(info.ExpiresAt) && try < lockTries {
			continue // expired since the put: try again
		}
		return nil, iamprune.Errorf(iamprune.ECONFLICT,
			"account %s is locked by %s since %s: another run is in progress; wait for it, or for the lock to expire at %s",
			account, info.Owner, info.AcquiredAt.Format(time.RFC3339), info.ExpiresAt.Format(time.RFC3339))
	}
}

// decodeLock reads a lock item.
func decodeLock(it item) (*iamprune.LockInfo, error) {
	info := &iamprune.LockInfo{
		Account: getS(it, "account"),
		Owner:   iamprune.LockOwner{Host: getS(it, "host"), User: getS(it, "user"), RunID: getS(it, "run_id")},
		Token:   getS(it, attrWriteToken),
	}
	// A lock taken before owners were recorded has only its description.
	if info.Owner.Host == "" {
		info.Owner.Host = getS(it, "owner")
	}
	if _, ok := it["pid"]; ok {
		pid, err := getN(it, "pid")
		if err != nil {
			return nil, err
		}
		info.Owner.PID = int(pid)
	}
	started, err := getTimePtr(it, "started_at")
	if err != nil {
		return nil, err
	}
	if started != nil {
		info.Owner.StartedAt = *started
	}
	if info.AcquiredAt, err = getTime(it, "acquired_at"); err != nil {
		return nil, err
	}
	if info.ExpiresAt, err = getTime(it, "expires_at"); err != nil {
		return nil, err
	}
	return info, nil
}

// LockHolder returns the account's lock as stored, expired or not, or nil
// when there is none.
func (s *Store) LockHolder(ctx context.Context, account string) (*iamprune.LockInfo, error) {
	if account == "" || !fits(getS(lockKey(account), attrPK), "") {
		return nil, nil
	}
	cur, err := s.get(ctx, lockKey(account))
	if err != nil {
		return nil, fmt.Errorf("cannot read the lock on account %s: %w", account, err)
	}
	if cur == nil {
		return nil, nil
	}
	return decodeLock(cur)
}

// BreakLock removes the account's lock only if its token is still token,
// so that a lock that changed hands since it was read is kept. It first
// claims the lock with a new token and an expiry in the past, then deletes
// it: a claim the SDK retried after a lost answer is recognised by its
// token, where a retried delete could not tell "already deleted by me"
// from "never there".
func (s *Store) BreakLock(ctx context.Context, account, token string) (bool, error) {
	if account == "" || token == "" || !fits(getS(lockKey(account), attrPK), "") {
		return false, nil
	}
	claim, err := newToken()
	if err != nil {
		return false, err
	}
	k := lockKey(account)
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       k,
		UpdateExpression:          aws.String("SET #token = :claim, expires_at = :past"),
		ConditionExpression:       aws.String("#token = :token"),
		ExpressionAttributeNames:  map[string]string{"#token": attrWriteToken},
		ExpressionAttributeValues: item{":token": str(token), ":claim": str(claim), ":past": str(formatTime(time.Time{}))},
	})
	if isConditionFailed(err) {
		ok, _, gerr := s.mine(ctx, k, claim)
		switch {
		case gerr != nil:
			return false, fmt.Errorf("cannot break the lock on account %s: %w", account, gerr)
		case !ok:
			return false, nil
		}
	} else if err != nil {
		return false, fmt.Errorf("cannot break the lock on account %s: %w", account, err)
	}
	// The lock is broken now: expired, so any run may take it. Deleting it
	// only tidies up; a failed condition means it is gone or taken anew.
	_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       k,
		ConditionExpression:       aws.String("#token = :claim"),
		ExpressionAttributeNames:  map[string]string{"#token": attrWriteToken},
		ExpressionAttributeValues: item{":claim": str(claim)},
	})
	if err != nil && !isConditionFailed(err) {
		return true, fmt.Errorf("broke the lock on account %s but cannot delete it: %w", account, err)
	}
	return true, nil
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
		return fmt.Errorf("cannot release the lock on account %s: %w", l.account, err)
	}
	return nil
}

// Renew extends the lease to now+ttl while this holding still has the
// lock; once it was taken over or broken, ECONFLICT. The write is
// conditional on the token, so a retried renewal is harmless.
func (l *lock) Renew(ctx context.Context, ttl time.Duration) error {
	if ttl <= 0 {
		return iamprune.Errorf(iamprune.EINVALID, "lock ttl must be positive, got %s", ttl)
	}
	_, err := l.s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(l.s.table),
		Key:                       lockKey(l.account),
		UpdateExpression:          aws.String("SET expires_at = :expires"),
		ConditionExpression:       aws.String("#token = :token"),
		ExpressionAttributeNames:  map[string]string{"#token": attrWriteToken},
		ExpressionAttributeValues: item{":token": str(l.token), ":expires": str(formatTime(time.Now().Add(ttl)))},
	})
	switch {
	case isConditionFailed(err):
		return iamprune.Errorf(iamprune.ECONFLICT, "the lock on account %s was taken over or broken: this run no longer holds it", l.account)
	case err != nil:
		return fmt.Errorf("cannot renew the lock on account %s: %w", l.account, err)
	}
	return nil
}
