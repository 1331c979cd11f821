package awsapi

import (
	"context"
	"sync"

	"github.com/iamprune/iamprune"
)

// Key lists read ahead: while the analyzer's findings are read (one
// account's GetFindingV2 calls, paced by its limiter), the IAM of every
// member account is idle. The users that access-key findings name are
// known from the finding summaries, so their ListAccessKeys calls go
// out then, each account at its own pace, instead of after every finding
// was read. Which keys are used, and when, is still decided by Facts with
// the findings' full details (keysLastUsed); only the listing moves.

// keyList is one user's ListAccessKeys, read ahead; done is closed once
// keys and err are set.
type keyList struct {
	done chan struct{}
	keys []iamprune.AccessKey
	err  error
}

type prefetched struct {
	mu    sync.Mutex
	lists map[string]*keyList // by user name
}

// listKeysAhead lists the access keys of the users (by ARN) that findings
// about keys name, in the background, until ctx ends. Principals must be
// loaded; unknown ARNs and users already listed are left out.
func (s *Facts) listKeysAhead(ctx context.Context, arns []string) {
	s.mu.Lock()
	var users []string
	s.ahead.mu.Lock()
	if s.ahead.lists == nil {
		s.ahead.lists = map[string]*keyList{}
	}
	var lists []*keyList
	for _, arn := range arns {
		p := s.principals[arn]
		if p == nil || p.Kind != iamprune.KindUser {
			continue
		}
		if _, ok := s.keys[p.Name]; ok {
			continue
		}
		if _, ok := s.ahead.lists[p.Name]; ok {
			continue
		}
		l := &keyList{done: make(chan struct{})}
		s.ahead.lists[p.Name] = l
		users, lists = append(users, p.Name), append(lists, l)
	}
	s.ahead.mu.Unlock()
	s.mu.Unlock()
	if len(users) == 0 {
		return
	}
	closed := make([]bool, len(users))
	go func() {
		forEach(ctx, len(users), s.opts.workers, func(ctx context.Context, i int) error {
			lists[i].keys, lists[i].err = s.listKeysNow(ctx, users[i])
			closed[i] = true
			close(lists[i].done)
			return nil
		})
		for i, l := range lists { // not handed out: the run was cancelled
			if !closed[i] {
				l.err = context.Canceled
				close(l.done)
			}
		}
	}()
}

// listKeys returns the user's keys: as read ahead when that succeeded,
// else read now. A read now is registered as a list too, so that a read
// ahead started meanwhile (the findings of another page naming the same
// user) waits for it instead of listing the keys a second time.
func (s *Facts) listKeys(ctx context.Context, user string) ([]iamprune.AccessKey, error) {
	s.ahead.mu.Lock()
	if s.ahead.lists == nil {
		s.ahead.lists = map[string]*keyList{}
	}
	l := s.ahead.lists[user]
	if l == nil {
		l = &keyList{done: make(chan struct{})}
		s.ahead.lists[user] = l
		s.ahead.mu.Unlock()
		l.keys, l.err = s.listKeysNow(ctx, user)
		close(l.done)
		return l.keys, l.err
	}
	s.ahead.mu.Unlock()
	select {
	case <-l.done:
		if l.err == nil {
			return l.keys, nil
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.listKeysNow(ctx, user)
}

// readAhead starts listing the keys of the users that access-key findings
// of account name (ctx is the run's), if the source reads IAM through
// UseIAM and the account can be reached.
func (s *FindingSource) readAhead(ctx context.Context, account string, keyUsers []string) {
	if len(keyUsers) == 0 {
		return
	}
	var f *Facts
	switch u := s.usage.(type) {
	case *Facts:
		f = u
	case *OrgFacts:
		if account != u.accounts.home && u.accounts.ca.RoleName == "" {
			return
		}
		var err error
		if f, err = u.For(ctx, account); err != nil {
			return // Facts reports the account
		}
	default:
		return
	}
	f.listKeysAhead(ctx, keyUsers)
}
