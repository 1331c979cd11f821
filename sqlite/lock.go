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
func (s *Store) Lock(ctx context.Context, account string, owner iamprune.LockOwner, ttl time.Duration) (iamprune.Lock, error) {
	if account == "" || owner.Host == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "lock needs an account and an owner host (got %q, %q)", account, owner.Host)
	}
	if ttl <= 0 {
		return nil, iamprune.Errorf(iamprune.EINVALID, "lock ttl must be positive, got %s", ttl)
	}
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: see dsn
	if err != nil {
		return nil, fmt.Errorf("cannot lock account %s: %w", account, err)
	}
	defer tx.Rollback()

	// Read the clock once the write lock is ours, so waiting for it cannot
	// make a fresh lock look stale.
	now := time.Now().UTC()
	cur, err := lockHolder(tx.QueryRowContext(ctx, `SELECT `+lockColumns+` FROM locks WHERE account = ?`, account))
	if err != nil {
		return nil, fmt.Errorf("cannot lock account %s: %w", account, err)
	}
	if cur != nil && now.Before(cur.ExpiresAt) {
		return nil, iamprune.Errorf(iamprune.ECONFLICT,
			"account %s is locked by %s since %s: another run is in progress; wait for it, or for the lock to expire at %s",
			account, cur.Owner, cur.AcquiredAt.Format(time.RFC3339), cur.ExpiresAt.Format(time.RFC3339))
	}
	// owner keeps the holder's description for a reader of the raw table.
	_, err = tx.ExecContext(ctx, `INSERT INTO locks (account, owner, token, acquired_at, expires_at, host, pid, user, run_id, started_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account) DO UPDATE SET owner = excluded.owner, token = excluded.token,
			acquired_at = excluded.acquired_at, expires_at = excluded.expires_at, host = excluded.host,
			pid = excluded.pid, user = excluded.user, run_id = excluded.run_id, started_at = excluded.started_at`,
		account, owner.String(), token, formatTime(now), formatTime(now.Add(ttl)),
		owner.Host, owner.PID, owner.User, owner.RunID, formatTimePtr(startedAt(owner)))
	if err != nil {
		return nil, fmt.Errorf("cannot lock account %s: %w", account, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("cannot lock account %s: %w", account, err)
	}
	return &lock{s: s, account: account, token: token}, nil
}

const lockColumns = `account, owner, token, acquired_at, expires_at, host, pid, user, run_id, started_at`

// startedAt stores an owner's zero start time as NULL.
func startedAt(o iamprune.LockOwner) *time.Time {
	if o.StartedAt.IsZero() {
		return nil
	}
	return &o.StartedAt
}

// lockHolder scans a locks row; no row is nil.
func lockHolder(row *sql.Row) (*iamprune.LockInfo, error) {
	var (
		info                    iamprune.LockInfo
		desc, acquired, expires string
		started                 sql.NullString
	)
	err := row.Scan(&info.Account, &desc, &info.Token, &acquired, &expires,
		&info.Owner.Host, &info.Owner.PID, &info.Owner.User, &info.Owner.RunID, &started)
	switch {
	case err == sql.ErrNoRows:
		return nil, nil
	case err != nil:
		return nil, err
	}
	// A lock taken before owners were recorded has only its description.
	if info.Owner.Host == "" {
		info.Owner.Host = desc
	}
	if info.AcquiredAt, err = parseTime(acquired); err != nil {
		return nil, err
	}
	if info.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	if t, err := parseTimePtr(started); err != nil {
		return nil, err
	} else if t != nil {
		info.Owner.StartedAt = *t
	}
	return &info, nil
}

// LockHolder returns the account's lock as stored, expired or not, or nil
// when there is none.
func (s *Store) LockHolder(ctx context.Context, account string) (*iamprune.LockInfo, error) {
	info, err := lockHolder(s.db.QueryRowContext(ctx, `SELECT `+lockColumns+` FROM locks WHERE account = ?`, account))
	if err != nil {
		return nil, fmt.Errorf("cannot read the lock on account %s: %w", account, err)
	}
	return info, nil
}

// BreakLock removes the account's lock only if its token is still token,
// so that a lock that changed hands since it was read is kept.
func (s *Store) BreakLock(ctx context.Context, account, token string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM locks WHERE account = ? AND token = ?`, account, token)
	if err != nil {
		return false, fmt.Errorf("cannot break the lock on account %s: %w", account, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("cannot break the lock on account %s: %w", account, err)
	}
	return n == 1, nil
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
		return fmt.Errorf("cannot release the lock on account %s: %w", l.account, err)
	}
	return nil
}

// Renew extends the lease to now+ttl while this holding still has the
// lock; once it was taken over or broken, ECONFLICT.
func (l *lock) Renew(ctx context.Context, ttl time.Duration) error {
	if ttl <= 0 {
		return iamprune.Errorf(iamprune.EINVALID, "lock ttl must be positive, got %s", ttl)
	}
	res, err := l.s.db.ExecContext(ctx, `UPDATE locks SET expires_at = ? WHERE account = ? AND token = ?`,
		formatTime(time.Now().Add(ttl)), l.account, l.token)
	if err != nil {
		return fmt.Errorf("cannot renew the lock on account %s: %w", l.account, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("cannot renew the lock on account %s: %w", l.account, err)
	}
	if n != 1 {
		return iamprune.Errorf(iamprune.ECONFLICT, "the lock on account %s was taken over or broken: this run no longer holds it", l.account)
	}
	return nil
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cannot make a lock token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
