package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/render"
)

func (m *Main) unlockCommand() *cobra.Command {
	o := &UnlockOptions{}
	cmd := &cobra.Command{
		Use:     "unlock ACCOUNT",
		Short:   "Break an account's run lock left by a run that died elsewhere",
		Long:    unlockLong,
		Example: unlockExample,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Account, o.IO, o.Env, o.Store = args[0], m.streams(), m.env(), m.openStore
			return runUnlock(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.State, "state", "", "state store (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
	f.BoolVarP(&o.Yes, "yes", "y", false, "break the lock without asking (required when stdin is not a terminal)")
	f.StringVar(&o.AuditLog, "audit-log", "", auditLogUsage)
	return cmd
}

const unlockLong = `Only one apply or rollback runs per account at a time: each holds the
account's lock in the state store, with its host, pid, user, start time and
run id, and renews a short lease (2 minutes) while it lives. A lock left by
a run that died on this host is taken over at once by the next run; one
left elsewhere (a Lambda, a container, another machine) frees itself when
its lease ends.

unlock is for the rare case that cannot wait: it shows the holder, asks
you to type the account id (--yes in scripts), and breaks the lock. Be sure
the holder is dead: a live run that loses its lock stops before its next
change, but the change it is making may finish. Then run apply or rollback:
it reconciles what the dead run left (every pending change is resolved
from the live state, and the run is closed as interrupted).`

const unlockExample = `  iamprune unlock 111122223333
  iamprune unlock 111122223333 --state dynamodb://iamprune-state --yes`

// UnlockOptions are the flags, streams and dependencies of 'unlock'.
type UnlockOptions struct {
	IO              *IOStreams
	Env             app.Env
	Account         string
	State, AuditLog string
	Yes             bool
	Store           func(ctx context.Context, flag string, mustExist bool) (iamprune.Store, error)
}

func runUnlock(ctx context.Context, o *UnlockOptions) error {
	account := o.Account
	if !iamprune.IsAccountID(account) {
		return usagef("%q is not a 12-digit AWS account id", account)
	}
	store, err := o.Store(ctx, o.State, true)
	if err != nil {
		return err
	}
	if store == nil {
		fmt.Fprintf(o.IO.Out, "Account %s is not locked (no state store yet).\n", account)
		return nil
	}
	defer store.Close()
	auditW, closeAudit, err := app.OpenAuditLog(o.Env, o.AuditLog, o.State, o.IO.ErrOut)
	if err != nil {
		return err
	}
	defer closeAudit()
	info, err := app.Unlock(ctx, o.Env, app.UnlockRequest{Store: store, Account: account, Audit: auditW, By: lockOwner().User,
		Consent: func(info *iamprune.LockInfo) error {
			render.LockHolder(o.IO.ErrOut, account, info, o.Env.Now().UTC())
			return confirm(o.IO, o.Yes, account, "break the lock of account "+account)
		}})
	switch {
	case errors.Is(err, app.ErrLockMoved):
		fmt.Fprintf(o.IO.ErrOut, "iamprune: the lock of account %s changed hands meanwhile; nothing broken (run unlock again to see the new holder)\n", account)
		return errProblems
	case err != nil:
		return err
	case info == nil:
		fmt.Fprintf(o.IO.Out, "Account %s is not locked: nothing to do.\n", account)
		return nil
	}
	render.LockBroken(o.IO.Out, account, info)
	return nil
}
