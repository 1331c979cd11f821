package mock

import (
	"context"
	"fmt"
	"slices"

	"github.com/iamprune/iamprune"
)

// RecordNotice appends one notice to the notification log.
func (s *Store) RecordNotice(ctx context.Context, n iamprune.NoticeRecord) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("mock: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	n.SentAt = n.SentAt.UTC()
	s.notices = append(s.notices, n)
	return nil
}

// FindNotices returns the notices that match f, oldest first (by sent
// time, then by write order). Since is inclusive.
func (s *Store) FindNotices(ctx context.Context, f iamprune.NoticeFilter) ([]iamprune.NoticeRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, err
	}
	out := []iamprune.NoticeRecord{}
	for _, n := range s.notices {
		if is(f.Account, n.Account) && is(f.ItemKey, n.ItemKey) && is(f.Status, n.Status) && !n.SentAt.Before(f.Since) {
			out = append(out, n) // records hold no references: a copy is enough
		}
	}
	// Stable: equal times keep write order.
	slices.SortStableFunc(out, func(a, b iamprune.NoticeRecord) int { return a.SentAt.Compare(b.SentAt) })
	return out, nil
}
