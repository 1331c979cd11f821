package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/render"
)

func (m *Main) rollbackCommand() *cobra.Command {
	var (
		o        = &RollbackOptions{}
		actions  []string
		holdDays int
	)
	cmd := &cobra.Command{
		Use:     "rollback RUN_ID",
		Short:   "Undo the changes of an apply run from their recorded pre-images",
		Long:    rollbackLong,
		Example: rollbackExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("rollback takes one RUN_ID, of the apply run to undo: 'iamprune history' lists the runs")
			}
			o.RunID, o.Actions = args[0], actions
			o.HoldDays = -1
			if cmd.Flags().Changed("hold-days") {
				o.HoldDays = holdDays
			}
			if holdDays < 0 || holdDays > iamprune.MaxHoldDays {
				return usagef("--hold-days: must be from 0 to %d, got %d", iamprune.MaxHoldDays, holdDays)
			}
			o.IO, o.Env, o.Store, o.Config = m.streams(), m.env(), m.openStore, m.loadConfig
			return runRollback(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.State, "state", "", "state store (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
	f.StringVar(&o.ConfigPath, "config", "", "YAML config, for accounts.role_name when the run changed member accounts (default: $IAMPRUNE_CONFIG)")
	f.StringSliceVar(&actions, "action", nil, "roll back only this action id (repeatable)")
	f.IntVar(&holdDays, "hold-days", iamprune.DefaultHoldDays, "hold each rolled-back item this many days, so that it is not remediated again meanwhile; 0 sets no hold (default: the config's holds.days, else 30)")
	f.BoolVarP(&o.Yes, "yes", "y", false, "roll back without asking (required when stdin is not a terminal)")
	f.StringVar(&o.AuditLog, "audit-log", "", auditLogUsage)
	f.StringVarP(&o.Output, "output", "o", "table", "output format: table or json")
	return cmd
}

// RollbackOptions are the flags, streams and dependencies of 'rollback'.
type RollbackOptions struct {
	IO                *IOStreams
	Env               app.Env
	RunID             string
	Actions           []string
	State, ConfigPath string
	AuditLog, Output  string
	Yes               bool
	HoldDays          int // -1: the config's holds.days
	Store             func(ctx context.Context, flag string, mustExist bool) (iamprune.Store, error)
	Config            func(ctx context.Context, path string) (iamprune.Config, error)
}

func runRollback(ctx context.Context, o *RollbackOptions) error {
	if o.Output != "table" && o.Output != "json" {
		return usagef("--output: %q is not table or json", o.Output)
	}
	store, err := o.Store(ctx, o.State, true)
	if err != nil {
		return err
	}
	if store == nil {
		return app.NoSuchRun(o.RunID, "no state store yet: nothing was ever applied here")
	}
	defer store.Close()
	// The config says how to reach member accounts the run changed.
	cfg, err := o.Config(ctx, o.ConfigPath)
	if err != nil {
		return err
	}
	auditW, closeAudit, err := app.OpenAuditLog(o.Env, o.AuditLog, o.State, o.IO.ErrOut)
	if err != nil {
		return err
	}
	defer closeAudit()
	res, err := app.Rollback(ctx, o.Env, app.RollbackRequest{
		Store: store, RunID: o.RunID, Actions: o.Actions, Config: cfg, HoldDays: o.HoldDays,
		Consent: func(c app.Consent) error { return confirm(o.IO, o.Yes, c.Account, c.What[0]) },
		Audit:   auditW, Owner: lockOwner(),
	})
	if res == nil {
		return err
	}
	// The result is shown even when its holds could not be recorded: it
	// may carry a one-time password.
	if rerr := render.Run(o.IO.Out, res.Run, o.Output, "rolled back"); rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	if o.Output == "table" && res.Held() {
		fmt.Fprintf(o.IO.Out, "Held for %d days: the next plan leaves these items alone (iamprune holds; iamprune holds release ID ends a hold).\n", res.HoldDays)
	}
	if res.Run.Failed() {
		return errProblems
	}
	return nil
}

const rollbackLong = `rollback restores what an apply run changed, newest change first, from the
pre-change state recorded in the journal: keys are reactivated, deny
policies removed, quarantines lifted, and customer-managed policies that
iamprune created are detached and deleted, rewritten policies get their
previous documents, default versions and attachments back. --action limits
it to some actions of the run. Changes made in member accounts are undone
through the role the config names (accounts.role_name).

A deleted console password cannot come back as it was: rollback recreates
the login profile with a random password and PasswordResetRequired=true, and
prints that one-time password once; it is never stored or logged. A deleted
access key cannot be restored at all; rollback says so.

Rollback is itself journaled and idempotent: undoing what is already undone
reports already-done and makes no write call.

Each item undone is held: the next plan shows it as exempt, naming this
rollback, instead of remediating it again, until the hold ends after
--hold-days (default: the config's holds.days, else 30; 0 sets no hold).
'iamprune holds' lists holds; 'iamprune holds release ID' ends one early.`

const rollbackExample = `  iamprune history
  iamprune rollback 20261128T101500Z-3f2a --yes
  iamprune rollback 20261128T101500Z-3f2a --action 1e7bc9438a3ca6b5 --yes -o json`
