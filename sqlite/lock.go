package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/iamprune/iamprune"
)

// Lock takes the account's run lock for owner. The lock is a row in the
// locks table, read and written inside one BEGIN IMMEDIATE transaction, so
// two processes sharing the file cannot both take it. A held lock is
// ECONFLICT naming its holder. A lock past its expiry (its holder's ttl)
// is stale, its holder presumably dead, and is taken over.
func (s *Store) Lock(ctx context.Context, account, owner string, ttl time.Duration) (iamprune.Lock, error) {
	if account == "" || owner == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "sqlite: lock needs an account and an owner (got %q, %q)", account, owner)
	}
	if ttl <= 0 {
		return nil, iamprune.Errorf(iamprune.EINVALID, "sqlite: lock ttl must be positive, got %s", ttl)
	}
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: see dsn
	if err != nil {
		return nil, fmt.Errorf("sqlite: cannot lock account %s: %w", account, err)
	}
	defer tx.Rollback()

	// Read the clock once the write lock is ours, so waiting for it cannot
	// make a fresh lock look stale.
	now := time.Now().UTC()
	var holder, acquired, expires string
	err = tx.QueryRowContext(ctx, `SELECT owner, acquired_at, expires_at FROM locks WHERE account = ?`, account).
		Scan(&holder, &acquired, &expires)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return nil, fmt.Errorf("sqlite: cannot lock account %s: %w", account, err)
	default:
		since, err := parseTime(acquired)
		if err != nil {
			return nil, err
		}
		until, err := parseTime(expires)
		if err != nil {
			return nil, err
		}
		if now.Before(until) {
			return nil, iamprune.Errorf(iamprune.ECONFLICT,
				"sqlite: account %s is locked by %q since %s: another run is in progress; wait for it, or for the lock to expire at %s",
				account, holder, since.Format(time.RFC3339), until.Format(time.RFC3339))
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO locks (account, owner, token, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account) DO UPDATE SET owner = excluded.owner, token = excluded.token,
			acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
		account, owner, token, formatTime(now), formatTime(now.Add(ttl)))
	if err != nil {
		return nil, fmt.Errorf("sqlite: cannot lock account %s: %w", account, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: cannot lock account %s: %w", account, err)
	}
	return &lock{s: s, account: account, token: token}, nil
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
	_, err := l.s.db.ExecContext(ctx, `DELETE FROM locks WHERE account = ? AND token = ?`, l.account, l.token)
	if err != nil {
		return fmt.Errorf("sqlite: cannot release the lock on account %s: %w", l.account, err)
	}
	return nil
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sqlite: cannot make a lock token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
