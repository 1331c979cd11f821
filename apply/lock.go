package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
)

// DefaultLockTTL is the lease of a run's lock when Options.LockTTL is 0. It
// is short because a live run renews it (every third of it): a holder that
// died elsewhere (a Lambda, a container) frees the account within minutes.
// On the same host a dead holder is recognised at once by its pid.
const DefaultLockTTL = 2 * time.Minute

// processAlive reports whether pid runs on this host; a variable so that
// tests can declare a holder dead.
var processAlive = pidAlive

// hostname is this host's name as locks record it.
var hostname = LocalHost

// LocalHost names this host as run locks record it: the host name and, on
// Linux, the pid namespace. Containers that share a host name (host
// networking) but not a process table then never judge each other's pids,
// which could break the lock of a live run.
func LocalHost() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", err
	}
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil && ns != "" {
		h += " " + ns
	}
	return h, nil
}

// locks are the account locks one run holds, kept alive by a heartbeat.
// When a renewal finds a lock lost (broken by 'iamprune unlock', or taken
// over after the lease ran out), the run's context is cancelled, so that
// no further write is made without the lock.
type locks struct {
	o      Options
	what   string // "apply", "rollback", "reconcile": the prefix of errors
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu   sync.Mutex
	held []heldLock
	stop chan struct{}
	done chan struct{}
}

type heldLock struct {
	account string
	lock    iamprune.Lock
	renewed time.Time
}

// newLocks returns an empty set of locks for one run, and the context the
// run must act under: it is cancelled when a lock is lost.
func newLocks(ctx context.Context, o Options, what string) *locks {
	l := &locks{o: o, what: what, stop: make(chan struct{}), done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancelCause(ctx)
	go l.heartbeat()
	return l
}

// take locks account for the run. A lock whose holder is dead on this host
// is broken at once, with a warning; any other held lock is an ECONFLICT
// error that names its holder, since when, when its lease ends, and how to
// break it.
func (l *locks) take(account string) error {
	lk, err := l.lock(account)
	if err != nil {
		return fmt.Errorf("%s: %w", l.what, err)
	}
	l.mu.Lock()
	l.held = append(l.held, heldLock{account: account, lock: lk, renewed: time.Now()})
	l.mu.Unlock()
	return nil
}

func (l *locks) lock(account string) (iamprune.Lock, error) {
	ctx, st := l.ctx, l.o.Store
	lk, err := st.Lock(ctx, account, l.o.Owner, l.o.LockTTL)
	if iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		return lk, err
	}
	info, herr := st.LockHolder(ctx, account)
	if herr != nil {
		return nil, fmt.Errorf("%w (and its holder cannot be read: %v)", err, herr)
	}
	if info == nil { // released meanwhile
		return st.Lock(ctx, account, l.o.Owner, l.o.LockTTL)
	}
	why := deadHolder(info.Owner)
	if why == "" {
		return nil, conflict(account, info, time.Now())
	}
	broke, err := st.BreakLock(ctx, account, info.Token)
	if err != nil {
		return nil, fmt.Errorf("cannot break the stale lock of account %s: %w", account, err)
	}
	if broke {
		msg := fmt.Sprintf("broke the stale lock of account %s: held by %s since %s, %s; the interrupted run is reconciled now",
			account, info.Owner, info.AcquiredAt.UTC().Format(time.RFC3339), why)
		l.o.Logger.Warn(msg, "account", account, "holder_run", info.Owner.RunID, "holder_pid", info.Owner.PID, "holder_host", info.Owner.Host)
		l.o.Audit.Log(audit.Event{Event: audit.LockBroken, RunID: l.o.RunID, Account: account, Kind: l.what, Detail: msg})
	}
	lk, err = st.Lock(ctx, account, l.o.Owner, l.o.LockTTL)
	if iamprune.ErrorCode(err) == iamprune.ECONFLICT {
		// Another run was quicker to take the freed lock.
		if info, herr := st.LockHolder(ctx, account); herr == nil && info != nil {
			return nil, conflict(account, info, time.Now())
		}
	}
	return lk, err
}

// deadHolder says why the lock's holder is known to be dead, or "": only
// a process of this host can be checked; elsewhere the lease decides.
func deadHolder(o iamprune.LockOwner) string {
	host, err := hostname()
	if err != nil || host == "" || o.Host != host || o.PID <= 0 || o.PID == os.Getpid() {
		return ""
	}
	if processAlive(o.PID) {
		return ""
	}
	return fmt.Sprintf("its process %d no longer runs on this host", o.PID)
}

// conflict is the error a run gets when another one holds the lock.
func conflict(account string, info *iamprune.LockInfo, now time.Time) error {
	lease := fmt.Sprintf("its lease ends at %s unless the run renews it", info.ExpiresAt.UTC().Format(time.RFC3339))
	if !now.Before(info.ExpiresAt) {
		lease = "its lease has ended"
	}
	return iamprune.Errorf(iamprune.ECONFLICT,
		"account %s is locked by %s since %s: another run is in progress; %s. If that run is dead on another host, wait for the lease to end, or break the lock with 'iamprune unlock %s' (then the next apply or rollback reconciles it)",
		account, info.Owner, info.AcquiredAt.UTC().Format(time.RFC3339), lease, account)
}

// heartbeat renews every held lock each third of the lease until release.
// A renewal refused (the lock changed hands) or failing for a whole lease
// means the lock is lost: the run is cancelled.
func (l *locks) heartbeat() {
	defer close(l.done)
	every := l.o.LockTTL / 3
	if every <= 0 {
		every = time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		if err := l.renew(); err != nil {
			l.o.Logger.Error(err.Error())
			l.o.Audit.Log(audit.Event{Event: audit.LockLost, RunID: l.o.RunID, Account: l.o.Account, Kind: l.what, Detail: err.Error()})
			l.cancel(lockLost{err})
			return
		}
	}
}

func (l *locks) renew() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.held {
		h := &l.held[i]
		err := h.lock.Renew(l.ctx, l.o.LockTTL)
		now := time.Now() // leases are real time, whatever Options.Now says
		switch {
		case err == nil:
			h.renewed = now
		case iamprune.ErrorCode(err) == iamprune.ECONFLICT || iamprune.ErrorCode(err) == iamprune.ENOTFOUND,
			!now.Before(h.renewed.Add(l.o.LockTTL)):
			return fmt.Errorf("%s: lost the lock of account %s, so the run stops before its next change: %w", l.what, h.account, err)
		default:
			l.o.Logger.Warn("cannot renew the run lock; trying again", "account", h.account, "error", err)
		}
	}
	return nil
}

// lockLost is the cause the run's context is cancelled with when a lock
// is lost.
type lockLost struct{ error }

func (e lockLost) Unwrap() error { return e.error }

// stopped returns an error once the run lost a lock, after closing run r as
// failed: another run may hold the account now, so nothing more is done.
func (l *locks) stopped(ctx context.Context, o Options, r iamprune.Run) error {
	var lost lockLost
	if !errors.As(context.Cause(l.ctx), &lost) {
		return nil
	}
	_ = finishRun(context.WithoutCancel(ctx), o, r, iamprune.RunFailed, lost.Error())
	return lost.error
}

// forRun returns o for run runID: the lock records the run.
func (o Options) forRun(runID string) Options {
	o.RunID, o.Owner.RunID = runID, runID
	if o.Owner.StartedAt.IsZero() {
		o.Owner.StartedAt = o.now()
	}
	return o
}

// release stops the heartbeat and releases every lock, newest first.
func (l *locks) release(ctx context.Context) {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	for i := len(l.held) - 1; i >= 0; i-- {
		_ = l.held[i].lock.Release(ctx)
	}
	l.held = nil
	l.cancel(nil)
}

// Interrupted says why run r, recorded as running, is in fact dead, or ""
// when it may still be running: a live run holds its account's lock. The
// lock is gone or its lease has ended, another run holds it, or its holder
// is a process of this host that no longer runs. The run stays recorded as
// running until the next apply or rollback reconciles it.
func Interrupted(ctx context.Context, st iamprune.Store, r iamprune.Run) (string, error) {
	if r.Status != iamprune.RunRunning {
		return "", nil
	}
	info, err := st.LockHolder(ctx, r.Account)
	if err != nil {
		return "", fmt.Errorf("apply: cannot read the lock of account %s: %w", r.Account, err)
	}
	switch {
	case info == nil:
		return "its account is not locked", nil
	case !time.Now().Before(info.ExpiresAt):
		return "its lock's lease ended at " + info.ExpiresAt.UTC().Format(time.RFC3339), nil
	case info.Owner.RunID != "" && info.Owner.RunID != r.ID:
		return "run " + info.Owner.RunID + " holds its account's lock", nil
	}
	return deadHolder(info.Owner), nil
}
