package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune/audit"
)

func (m *Main) unlockCommand() *cobra.Command {
	var (
		state, auditLog string
		yes             bool
	)
	cmd := &cobra.Command{
		Use:   "unlock ACCOUNT",
		Short: "Break an account's run lock left by a run that died elsewhere",
		Long: `Only one apply or rollback runs per account at a time: each holds the
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
from the live state, and the run is closed as interrupted).`,
		Example: `  iamprune unlock 111122223333
  iamprune unlock 111122223333 --state dynamodb://iamprune-state --yes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			account := args[0]
			if !accountID(account) {
				return usagef("%q is not a 12-digit AWS account id", account)
			}
			store, err := m.openStore(ctx, state, true)
			if err != nil {
				return err
			}
			if store == nil {
				fmt.Fprintf(m.Stdout, "Account %s is not locked (no state store yet).\n", account)
				return nil
			}
			defer store.Close()
			info, err := store.LockHolder(ctx, account)
			if err != nil {
				return err
			}
			if info == nil {
				fmt.Fprintf(m.Stdout, "Account %s is not locked: nothing to do.\n", account)
				return nil
			}
			now := m.Now().UTC()
			lease := "its lease ends at " + info.ExpiresAt.UTC().Format(time.RFC3339)
			if !now.Before(info.ExpiresAt) {
				lease = "its lease has ended; the next run takes it over anyway"
			}
			fmt.Fprintf(m.Stderr, "Account %s is locked by %s since %s; %s.\n", account, info.Owner,
				info.AcquiredAt.UTC().Format(time.RFC3339), lease)
			if err := m.confirm(yes, account, "break the lock of account "+account); err != nil {
				return err
			}
			broke, err := store.BreakLock(ctx, account, info.Token)
			if err != nil {
				return err
			}
			if !broke {
				fmt.Fprintf(m.Stderr, "iamprune: the lock of account %s changed hands meanwhile; nothing broken (run unlock again to see the new holder)\n", account)
				return errProblems
			}
			auditW, closeAudit, err := m.auditWriter(auditLog)
			if err != nil {
				return err
			}
			defer closeAudit()
			detail := fmt.Sprintf("lock broken by %s with iamprune unlock; it was held by %s since %s", lockOwner().User, info.Owner, info.AcquiredAt.UTC().Format(time.RFC3339))
			audit.New(auditW, m.Now).Log(audit.Event{Event: audit.LockBroken, RunID: info.Owner.RunID, Account: account, Detail: detail})
			m.log().Warn("run lock broken", "account", account, "holder", info.Owner.String())
			dead := "the dead run"
			if info.Owner.RunID != "" {
				dead = "run " + info.Owner.RunID
			}
			fmt.Fprintf(m.Stdout, "Broke the lock of account %s. The next iamprune apply (or iamprune rollback RUN_ID) first\nresolves what %s left pending from the live state and closes it as interrupted.\n", account, dead)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", "", "state store (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
	f.BoolVarP(&yes, "yes", "y", false, "break the lock without asking (required when stdin is not a terminal)")
	f.StringVar(&auditLog, "audit-log", "", "append the JSON-lines audit log to this file instead of stderr")
	return cmd
}

// accountID reports whether s is a 12-digit AWS account id.
func accountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
