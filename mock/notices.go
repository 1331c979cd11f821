package mock

import (
	"context"
	"slices"

	"github.com/iamprune/iamprune"
)

// RecordNotice appends one notice to the notification log.
func (s *Store) RecordNotice(ctx context.Context, n iamprune.NoticeRecord) error {
	switch {
	case n.Account == "" || n.ItemKey == "":
		return iamprune.Errorf(iamprune.EINVALID, "mock: notice needs an account and an item key (got %q, %q)", n.Account, n.ItemKey)
	case n.Status != iamprune.NoticeSent && n.Status != iamprune.NoticeFailed:
		return iamprune.Errorf(iamprune.EINVALID, "mock: notice of %s has status %q, want %s or %s", n.ItemKey, n.Status, iamprune.NoticeSent, iamprune.NoticeFailed)
	case n.SentAt.IsZero():
		return iamprune.Errorf(iamprune.EINVALID, "mock: notice of %s has no sent_at", n.ItemKey)
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
