package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
)

// UnlockRequest breaks an account's run lock.
type UnlockRequest struct {
	Store   iamprune.Store
	Account string
	// Consent is shown the holder before the lock is broken; an error
	// leaves it in place. nil consents.
	Consent func(*iamprune.LockInfo) error
	// Audit receives the lock-broken event; By names who broke it.
	Audit io.Writer
	By    string
}

// Unlock breaks the account's lock after consent, and audits it. It
// returns the holder whose lock was broken, or nil when the account was
// not locked. A lock that changed hands meanwhile is not broken: that is
// an error naming ErrLockMoved.
func Unlock(ctx context.Context, env Env, r UnlockRequest) (*iamprune.LockInfo, error) {
	info, err := r.Store.LockHolder(ctx, r.Account)
	if err != nil || info == nil {
		return nil, err
	}
	if r.Consent != nil {
		if err := r.Consent(info); err != nil {
			return nil, err
		}
	}
	broke, err := r.Store.BreakLock(ctx, r.Account, info.Token)
	if err != nil {
		return nil, err
	}
	if !broke {
		return info, ErrLockMoved
	}
	detail := fmt.Sprintf("lock broken by %s with iamprune unlock; it was held by %s since %s", r.By, info.Owner, info.AcquiredAt.UTC().Format(time.RFC3339))
	audit.New(r.Audit, env.Now).Log(audit.Event{Event: audit.LockBroken, RunID: info.Owner.RunID, Account: r.Account, Detail: detail})
	env.log().Warn("run lock broken", "account", r.Account, "holder", info.Owner.String())
	return info, nil
}

// ErrLockMoved is Unlock's error when the lock changed hands between
// showing its holder and breaking it.
var ErrLockMoved = errors.New("app: the lock changed hands meanwhile; nothing broken")
