package mock

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iamprune/iamprune"
)

var (
	_ iamprune.Store     = (*Store)(nil)
	_ iamprune.NoticeLog = (*Store)(nil)
)

// Store is an in-memory iamprune.Store that keeps the same contract as the
// SQLite store: ECONFLICT on a held lock (naming its holder), a duplicate
// run or a duplicate (run, action); ENOTFOUND for an unknown run or intent;
// outcomes are never overwritten; runs list newest first, and journal and
// notification-log searches oldest first. It is safe for concurrent use. The zero value is
// ready to use.
type Store struct {
	// Now is the lock clock; nil means time.Now. Tests move it forward to
	// make a lock stale.
	Now func() time.Time

	mu      sync.Mutex
	seq     int
	runs    map[string]*storedRun
	actions []*storedAction         // in write order
	notices []iamprune.NoticeRecord // in write order
	locks   map[string]*heldLock
	holds   map[string]iamprune.Hold
	// lastAccessed is the usage cache by account and ARN, JSON-encoded so
	// that callers share nothing with it.
	lastAccessed map[[2]string]cachedLastAccessed
	// sweeps holds the fanned-out sweeps by id (sweeps.go).
	sweeps map[string]*storedSweep
	closed bool
}

type storedRun struct {
	run iamprune.Run
	seq int
}

type storedAction struct {
	rec iamprune.ActionRecord
	seq int
}

type heldLock struct {
	owner    iamprune.LockOwner
	token    string
	acquired time.Time
	expires  time.Time
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// next returns the next write sequence number; s.mu must be held.
func (s *Store) next() int {
	s.seq++
	return s.seq
}

func (s *Store) Lock(ctx context.Context, account string, owner iamprune.LockOwner, ttl time.Duration) (iamprune.Lock, error) {
	if account == "" || owner.Host == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "mock: lock needs an account and an owner host (got %q, %q)", account, owner.Host)
	}
	if ttl <= 0 {
		return nil, iamprune.Errorf(iamprune.EINVALID, "mock: lock ttl must be positive, got %s", ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, err
	}
	now := s.now()
	if h, ok := s.locks[account]; ok && now.Before(h.expires) {
		return nil, iamprune.Errorf(iamprune.ECONFLICT, "account %s is locked by %s since %s (until %s): another run is in progress",
			account, h.owner, h.acquired.Format(time.RFC3339), h.expires.Format(time.RFC3339))
	}
	if s.locks == nil {
		s.locks = map[string]*heldLock{}
	}
	owner.StartedAt = owner.StartedAt.UTC()
	h := &heldLock{owner: owner, token: strconv.Itoa(s.next()), acquired: now, expires: now.Add(ttl)}
	s.locks[account] = h
	return &lock{s: s, account: account, token: h.token}, nil
}

// LockHolder returns the account's lock, expired or not, or nil.
func (s *Store) LockHolder(ctx context.Context, account string) (*iamprune.LockInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, err
	}
	h, ok := s.locks[account]
	if !ok {
		return nil, nil
	}
	return &iamprune.LockInfo{Account: account, Owner: h.owner, Token: h.token, AcquiredAt: h.acquired, ExpiresAt: h.expires}, nil
}

// BreakLock removes the account's lock if its token is still token.
func (s *Store) BreakLock(ctx context.Context, account, token string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return false, err
	}
	if h, ok := s.locks[account]; ok && h.token == token {
		delete(s.locks, account)
		return true, nil
	}
	return false, nil
}

type lock struct {
	s       *Store
	account string
	token   string
}

// Renew extends the lease while this holding still has the lock.
func (l *lock) Renew(ctx context.Context, ttl time.Duration) error {
	if ttl <= 0 {
		return iamprune.Errorf(iamprune.EINVALID, "mock: lock ttl must be positive, got %s", ttl)
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if err := l.s.open(); err != nil {
		return err
	}
	h, ok := l.s.locks[l.account]
	if !ok || h.token != l.token {
		return iamprune.Errorf(iamprune.ECONFLICT, "mock: the lock on account %s was taken over or broken", l.account)
	}
	h.expires = l.s.now().Add(ttl)
	return nil
}

// Release drops the lock if this holding still has it: releasing twice, or
// after a takeover, leaves the new holder alone.
func (l *lock) Release(ctx context.Context) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if h, ok := l.s.locks[l.account]; ok && h.token == l.token {
		delete(l.s.locks, l.account)
	}
	return nil
}

func (s *Store) CreateRun(ctx context.Context, r iamprune.Run) error {
	if r.ID == "" {
		return iamprune.Errorf(iamprune.EINVALID, "mock: run has no id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	if _, ok := s.runs[r.ID]; ok {
		return iamprune.Errorf(iamprune.ECONFLICT, "mock: run %s already exists", r.ID)
	}
	if s.runs == nil {
		s.runs = map[string]*storedRun{}
	}
	s.runs[r.ID] = &storedRun{run: copyRun(r), seq: s.next()}
	return nil
}

func (s *Store) FinishRun(ctx context.Context, runID, status, detail string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	sr, ok := s.runs[runID]
	if !ok {
		return iamprune.Errorf(iamprune.ENOTFOUND, "mock: run %s not found", runID)
	}
	at = at.UTC()
	sr.run.Status, sr.run.Detail, sr.run.FinishedAt = status, detail, &at
	return nil
}

func (s *Store) Run(ctx context.Context, runID string) (*iamprune.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, err
	}
	sr, ok := s.runs[runID]
	if !ok {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "mock: run %s not found", runID)
	}
	r := copyRun(sr.run)
	return &r, nil
}

func (s *Store) Runs(ctx context.Context, account string, limit int) ([]iamprune.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, err
	}
	var all []*storedRun
	for _, sr := range s.runs {
		if account == "" || sr.run.Account == account {
			all = append(all, sr)
		}
	}
	// Newest first: by start time, then by creation order.
	slices.SortFunc(all, func(a, b *storedRun) int {
		if c := b.run.StartedAt.Compare(a.run.StartedAt); c != 0 {
			return c
		}
		return b.seq - a.seq
	})
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	out := []iamprune.Run{}
	for _, sr := range all {
		out = append(out, copyRun(sr.run))
	}
	return out, nil
}

func (s *Store) BeginAction(ctx context.Context, rec iamprune.ActionRecord) error {
	if rec.RunID == "" || rec.ActionID == "" {
		return iamprune.Errorf(iamprune.EINVALID, "mock: action record needs a run id and an action id (got %q, %q)", rec.RunID, rec.ActionID)
	}
	if err := checkImage(rec.RunID, rec.ActionID, "pre-image", rec.PreImage); err != nil {
		return err
	}
	if err := checkImage(rec.RunID, rec.ActionID, "post-image", rec.PostImage); err != nil {
		return err
	}
	for _, st := range rec.Steps {
		if err := checkStep(rec.RunID, rec.ActionID, st); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	if _, ok := s.runs[rec.RunID]; !ok {
		return iamprune.Errorf(iamprune.ENOTFOUND, "mock: cannot journal action %s: run %s not found", rec.ActionID, rec.RunID)
	}
	if s.find(rec.RunID, rec.ActionID) != nil {
		return iamprune.Errorf(iamprune.ECONFLICT, "mock: action %s of run %s is already journaled", rec.ActionID, rec.RunID)
	}
	rec = copyRecord(rec)
	steps := rec.Steps
	rec.Steps = nil
	for _, st := range steps {
		rec.Steps = putStep(rec.Steps, st)
	}
	if rec.Status == "" {
		rec.Status = iamprune.ResultPending
	}
	s.actions = append(s.actions, &storedAction{rec: rec, seq: s.next()})
	return nil
}

func (s *Store) FinishAction(ctx context.Context, runID, actionID, status, detail string, post json.RawMessage, at time.Time) error {
	if status == "" || status == iamprune.ResultPending {
		return iamprune.Errorf(iamprune.EINVALID, "mock: action %s of run %s cannot finish with status %q", actionID, runID, status)
	}
	if err := checkImage(runID, actionID, "post-image", post); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	sa := s.find(runID, actionID)
	switch {
	case sa == nil:
		return iamprune.Errorf(iamprune.ENOTFOUND, "mock: action %s of run %s was never journaled", actionID, runID)
	case sa.rec.Status != iamprune.ResultPending:
		return iamprune.Errorf(iamprune.ECONFLICT, "mock: action %s of run %s already finished as %s", actionID, runID, sa.rec.Status)
	}
	at = at.UTC()
	sa.rec.Status, sa.rec.Detail, sa.rec.PostImage, sa.rec.FinishedAt = status, detail, clone(post), &at
	return nil
}

func (s *Store) Actions(ctx context.Context, runID string) ([]iamprune.ActionRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, err
	}
	out := []iamprune.ActionRecord{}
	for _, sa := range s.actions {
		if sa.rec.RunID == runID {
			out = append(out, copyRecord(sa.rec))
		}
	}
	return out, nil
}

func (s *Store) FindActions(ctx context.Context, f iamprune.ActionFilter) ([]iamprune.ActionRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, err
	}
	var match []*storedAction
	for _, sa := range s.actions {
		r := sa.rec
		if is(f.Account, r.Account) && is(f.ActionID, r.ActionID) && is(string(f.Kind), string(r.Kind)) &&
			is(f.Target, r.Target) && is(f.Status, r.Status) {
			match = append(match, sa)
		}
	}
	// Oldest first: by start time, then by write order.
	slices.SortStableFunc(match, func(a, b *storedAction) int {
		if c := a.rec.StartedAt.Compare(b.rec.StartedAt); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	out := []iamprune.ActionRecord{}
	for _, sa := range match {
		out = append(out, copyRecord(sa.rec))
	}
	return out, nil
}

// RecordStep inserts or replaces (by Seq) a step of a journaled action.
func (s *Store) RecordStep(ctx context.Context, runID, actionID string, st iamprune.Step) error {
	if err := checkStep(runID, actionID, st); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	sa := s.find(runID, actionID)
	if sa == nil {
		return iamprune.Errorf(iamprune.ENOTFOUND, "mock: cannot record step %d: action %s of run %s was never journaled", st.Seq, actionID, runID)
	}
	sa.rec.Steps = putStep(sa.rec.Steps, copySteps([]iamprune.Step{st})[0])
	return nil
}

// putStep inserts st into steps (in Seq order), replacing one of the same Seq.
func putStep(steps []iamprune.Step, st iamprune.Step) []iamprune.Step {
	i, found := slices.BinarySearchFunc(steps, st.Seq, func(e iamprune.Step, seq int) int { return e.Seq - seq })
	if found {
		steps[i] = st
		return steps
	}
	return slices.Insert(steps, i, st)
}

func checkStep(runID, actionID string, st iamprune.Step) error {
	if err := st.Validate(); err != nil {
		return iamprune.Errorf(iamprune.EINVALID, "mock: action %s in run %s: %v", actionID, runID, err)
	}
	return nil
}

// PutHold inserts or replaces a hold by ID.
func (s *Store) PutHold(ctx context.Context, h iamprune.Hold) error {
	if h.ID == "" {
		return iamprune.Errorf(iamprune.EINVALID, "mock: hold has no id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	if s.holds == nil {
		s.holds = map[string]iamprune.Hold{}
	}
	s.holds[h.ID] = copyHold(h)
	return nil
}

// Hold returns one hold; ENOTFOUND when unknown.
func (s *Store) Hold(ctx context.Context, id string) (*iamprune.Hold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, err
	}
	h, ok := s.holds[id]
	if !ok {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "mock: hold %s not found", id)
	}
	h = copyHold(h)
	return &h, nil
}

// Holds lists holds newest first (by At, then by ID); account "" means all.
func (s *Store) Holds(ctx context.Context, account string) ([]iamprune.Hold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, err
	}
	out := []iamprune.Hold{}
	for _, h := range s.holds {
		if account == "" || h.Account == account {
			out = append(out, copyHold(h))
		}
	}
	slices.SortFunc(out, func(a, b iamprune.Hold) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// ReleaseHold ends a hold early; a second release keeps the first.
func (s *Store) ReleaseHold(ctx context.Context, id, by string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	h, ok := s.holds[id]
	if !ok {
		return iamprune.Errorf(iamprune.ENOTFOUND, "mock: hold %s not found", id)
	}
	if h.ReleasedAt == nil {
		at = at.UTC()
		h.ReleasedAt, h.ReleasedBy = &at, by
		s.holds[id] = h
	}
	return nil
}

// Close makes every later call fail, as on a closed database.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *Store) open() error {
	if s.closed {
		return iamprune.Errorf(iamprune.EINTERNAL, "mock: store is closed")
	}
	return nil
}

func (s *Store) find(runID, actionID string) *storedAction {
	for _, sa := range s.actions {
		if sa.rec.RunID == runID && sa.rec.ActionID == actionID {
			return sa
		}
	}
	return nil
}

func is(want, got string) bool { return want == "" || want == got }

func checkImage(runID, actionID, what string, img json.RawMessage) error {
	if len(img) > 0 && !json.Valid(img) {
		return iamprune.Errorf(iamprune.EINVALID, "mock: %s of action %s in run %s is not valid JSON", what, actionID, runID)
	}
	return nil
}

// Copies keep callers from changing what the store holds, and the store
// from changing what callers hold; times come back in UTC like SQLite's.
func copyRun(r iamprune.Run) iamprune.Run {
	r.StartedAt = r.StartedAt.UTC()
	r.FinishedAt = utcPtr(r.FinishedAt)
	r.PlanGeneratedAt = utcPtr(r.PlanGeneratedAt)
	r.PlanCounts = maps.Clone(r.PlanCounts)
	return r
}

func copyRecord(r iamprune.ActionRecord) iamprune.ActionRecord {
	r.Services = slices.Clone(r.Services)
	if r.Services == nil {
		r.Services = []string{}
	}
	r.PreImage, r.PostImage = clone(r.PreImage), clone(r.PostImage)
	r.Steps = copySteps(r.Steps)
	r.StartedAt = r.StartedAt.UTC()
	r.FinishedAt = utcPtr(r.FinishedAt)
	return r
}

func copySteps(steps []iamprune.Step) []iamprune.Step {
	if len(steps) == 0 {
		return nil
	}
	out := make([]iamprune.Step, len(steps))
	for i, st := range steps {
		st.Pre, st.Post, st.At = clone(st.Pre), clone(st.Post), st.At.UTC()
		out[i] = st
	}
	return out
}

func copyHold(h iamprune.Hold) iamprune.Hold {
	h.Services = slices.Clone(h.Services)
	if h.Services == nil {
		h.Services = []string{}
	}
	h.At, h.Until = h.At.UTC(), h.Until.UTC()
	h.ReleasedAt = utcPtr(h.ReleasedAt)
	return h
}

func clone(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return append(json.RawMessage(nil), b...)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
