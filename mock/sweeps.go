package mock

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/iamprune/iamprune"
)

var _ iamprune.SweepLog = (*Store)(nil)

type storedSweep struct {
	sweep iamprune.Sweep
	parts map[string]*iamprune.SweepPart
	// sealedAt is the number SealSweep fixed (0: open); chained the parts
	// ExtendSweep added, and unsent those whose message is not sent yet.
	sealedAt int
	chained  map[string]bool
	unsent   map[string]bool
}

// expected is sweep.Expected: 0 while open.
func (st *storedSweep) expected() int {
	if st.sealedAt == 0 {
		return 0
	}
	return st.sealedAt + len(st.chained)
}

// StartSweep records a sweep and its pending parts.
func (s *Store) StartSweep(ctx context.Context, sw iamprune.Sweep, parts []iamprune.SweepPart) error {
	if err := sw.ValidateStart(parts); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	if s.sweeps[sw.ID] != nil {
		return iamprune.Errorf(iamprune.ECONFLICT, "mock: sweep %s already exists", sw.ID)
	}
	if s.sweeps == nil {
		s.sweeps = map[string]*storedSweep{}
	}
	sw.Done, sw.FinishedAt, sw.StartedAt = 0, nil, sw.StartedAt.UTC()
	st := &storedSweep{sweep: sw, parts: map[string]*iamprune.SweepPart{}, sealedAt: sw.Expected, chained: map[string]bool{}, unsent: map[string]bool{}}
	for _, p := range parts {
		st.parts[p.Key()] = &iamprune.SweepPart{SweepID: sw.ID, Account: p.Account, Page: p.Page, Status: iamprune.SweepPending}
	}
	s.sweeps[sw.ID] = st
	return nil
}

// AddSweepParts records more pending parts of an open sweep.
func (s *Store) AddSweepParts(ctx context.Context, id string, parts []iamprune.SweepPart) error {
	if err := iamprune.ValidateParts(id, parts); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	st := s.sweeps[id]
	if st == nil {
		return iamprune.Errorf(iamprune.ENOTFOUND, "mock: sweep %s not found", id)
	}
	if !st.sweep.Open() {
		return iamprune.Errorf(iamprune.ECONFLICT, "mock: sweep %s is sealed at %d part(s): no part can be added", id, st.sweep.Expected)
	}
	for _, p := range parts {
		if st.parts[p.Key()] == nil {
			st.parts[p.Key()] = &iamprune.SweepPart{SweepID: id, Account: p.Account, Page: p.Page, Status: iamprune.SweepPending}
		}
	}
	return nil
}

// SealSweep fixes an open sweep's number of parts (see iamprune.SweepLog).
func (s *Store) SealSweep(ctx context.Context, id string, expected int) (*iamprune.Sweep, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, err
	}
	st := s.sweeps[id]
	if st == nil {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "mock: sweep %s not found", id)
	}
	sealed, err := st.sweep.ValidateSeal(expected, st.sealedAt, len(st.parts)-len(st.chained), len(st.chained))
	if err == nil && !sealed {
		st.sealedAt = expected
		st.sweep.Expected = st.expected()
	}
	sw := st.sweep
	return &sw, err
}

// ExtendSweep records a chained part and claims its message (see
// iamprune.SweepLog).
func (s *Store) ExtendSweep(ctx context.Context, p iamprune.SweepPart) (bool, error) {
	if err := iamprune.ValidateParts(p.SweepID, []iamprune.SweepPart{p}); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return false, err
	}
	st := s.sweeps[p.SweepID]
	if st == nil {
		return false, iamprune.Errorf(iamprune.ENOTFOUND, "mock: sweep %s not found", p.SweepID)
	}
	k := p.Key()
	if st.parts[k] != nil {
		return st.unsent[k], nil
	}
	if before := st.parts[iamprune.SweepPartKey(p.Account, p.Page-1)]; before != nil && before.Status == iamprune.SweepDone {
		return false, nil
	}
	st.parts[k] = &iamprune.SweepPart{SweepID: p.SweepID, Account: p.Account, Page: p.Page, Status: iamprune.SweepPending}
	st.chained[k], st.unsent[k] = true, true
	st.sweep.Expected = st.expected()
	return true, nil
}

// SweepPartSent marks a chained part's message sent.
func (s *Store) SweepPartSent(ctx context.Context, p iamprune.SweepPart) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	st := s.sweeps[p.SweepID]
	if st == nil || st.parts[p.Key()] == nil {
		return iamprune.Errorf(iamprune.ENOTFOUND, "mock: sweep %s has no part %s", p.SweepID, p.Key())
	}
	delete(st.unsent, p.Key())
	return nil
}

// FinishSweepPart records one attempt's outcome (see iamprune.SweepLog).
func (s *Store) FinishSweepPart(ctx context.Context, p iamprune.SweepPart, at time.Time) (*iamprune.Sweep, bool, error) {
	if err := p.ValidateOutcome(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, false, err
	}
	st := s.sweeps[p.SweepID]
	if st == nil {
		return nil, false, iamprune.Errorf(iamprune.ENOTFOUND, "mock: sweep %s not found", p.SweepID)
	}
	cur := st.parts[p.Key()]
	if cur == nil {
		return nil, false, iamprune.Errorf(iamprune.ENOTFOUND, "mock: sweep %s has no part %s", p.SweepID, p.Key())
	}
	if cur.Status == iamprune.SweepDone {
		sw := st.sweep
		return &sw, false, nil
	}
	at = at.UTC()
	attempts := cur.Attempts + 1
	*cur = p
	cur.Attempts, cur.UpdatedAt = attempts, &at
	last := false
	if p.Status == iamprune.SweepDone {
		st.sweep.Done++
		if st.sweep.Complete() {
			st.sweep.FinishedAt, last = &at, true
		}
	}
	sw := st.sweep
	return &sw, last, nil
}

// Sweep returns a sweep and its parts by account and page.
func (s *Store) Sweep(ctx context.Context, id string) (*iamprune.Sweep, []iamprune.SweepPart, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, nil, err
	}
	st := s.sweeps[id]
	if st == nil {
		return nil, nil, iamprune.Errorf(iamprune.ENOTFOUND, "mock: sweep %s not found", id)
	}
	sw := st.sweep
	parts := make([]iamprune.SweepPart, 0, len(st.parts))
	for _, p := range st.parts {
		parts = append(parts, *p)
	}
	slices.SortFunc(parts, func(a, b iamprune.SweepPart) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Page, b.Page))
	})
	return &sw, parts, nil
}

// SweepExists implements iamprune.SweepChecker.
func (s *Store) SweepExists(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	if s.sweeps[id] == nil {
		return iamprune.Errorf(iamprune.ENOTFOUND, "mock: sweep %s not found", id)
	}
	return nil
}
