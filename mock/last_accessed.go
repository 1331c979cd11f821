package mock

import (
	"context"
	"encoding/json"
	"time"

	"github.com/iamprune/iamprune"
)

var _ iamprune.UsageCache = (*Store)(nil)

type cachedLastAccessed struct {
	at   time.Time
	data []byte
}

// CachedLastAccessed returns the result stored for arn in account.
func (s *Store) CachedLastAccessed(_ context.Context, account, arn string) (*iamprune.ServiceLastAccessed, time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, time.Time{}, false, err
	}
	c, ok := s.lastAccessed[[2]string{account, arn}]
	if !ok {
		return nil, time.Time{}, false, nil
	}
	var d iamprune.ServiceLastAccessed
	if err := json.Unmarshal(c.data, &d); err != nil {
		return nil, time.Time{}, false, err
	}
	return &d, c.at, true, nil
}

// CacheLastAccessed stores d for account as of at.
func (s *Store) CacheLastAccessed(_ context.Context, account string, d *iamprune.ServiceLastAccessed, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	if d == nil || d.ARN == "" {
		return iamprune.Errorf(iamprune.EINVALID, "mock: service-last-accessed data without an ARN")
	}
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if s.lastAccessed == nil {
		s.lastAccessed = map[[2]string]cachedLastAccessed{}
	}
	s.lastAccessed[[2]string{account, d.ARN}] = cachedLastAccessed{at: at.UTC(), data: data}
	return nil
}
