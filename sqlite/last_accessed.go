package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/iamprune/iamprune"
)

var _ iamprune.UsageCache = (*Store)(nil)

// CachedLastAccessed returns the service-last-accessed result stored for
// arn in account, and when it was stored.
func (s *Store) CachedLastAccessed(ctx context.Context, account, arn string) (*iamprune.ServiceLastAccessed, time.Time, bool, error) {
	var at, data string
	err := s.db.QueryRowContext(ctx, `SELECT at, data FROM last_accessed WHERE account = ? AND arn = ?`, account, arn).Scan(&at, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("cannot read the cached service-last-accessed data of %s: %w", arn, err)
	}
	t, err := parseTime(at)
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("cached service-last-accessed data of %s: %w", arn, err)
	}
	var d iamprune.ServiceLastAccessed
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return nil, time.Time{}, false, fmt.Errorf("cached service-last-accessed data of %s: %w", arn, err)
	}
	return &d, t, true, nil
}

// CacheLastAccessed stores d for account as of at, replacing what was stored.
func (s *Store) CacheLastAccessed(ctx context.Context, account string, d *iamprune.ServiceLastAccessed, at time.Time) error {
	if d == nil || d.ARN == "" {
		return iamprune.Errorf(iamprune.EINVALID, "service-last-accessed data without an ARN")
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("cannot encode the service-last-accessed data of %s: %w", d.ARN, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO last_accessed (account, arn, at, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (account, arn) DO UPDATE SET at = excluded.at, data = excluded.data`,
		account, d.ARN, formatTime(at), string(data))
	if err != nil {
		return fmt.Errorf("cannot cache the service-last-accessed data of %s: %w", d.ARN, err)
	}
	return nil
}
