package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/render"
)

func (m *Main) historyCommand() *cobra.Command {
	var (
		state, output, account string
		limit                  int
	)
	cmd := &cobra.Command{
		Use:   "history [RUN_ID]",
		Short: "List apply and rollback runs, or one run's journal",
		Long: `history lists the runs recorded in the state store, newest first, or, given a
run id, that run's journal: every action with its status and detail. -o json
includes the recorded pre-images.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := &HistoryOptions{IO: m.streams(), State: state, Output: output, Account: account, Limit: limit, Store: m.openStore}
			if len(args) == 1 {
				o.RunID = args[0]
			}
			return runHistory(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", "", "state store (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.StringVar(&account, "account", "", "only runs made from this account (the credentials' account: for an organisation, the delegated administrator, whose runs also change member accounts)")
	f.IntVar(&limit, "limit", 50, "at most this many runs (0: all)")
	return cmd
}

// HistoryOptions are the flags, streams and dependencies of 'history'.
type HistoryOptions struct {
	IO                     *IOStreams
	RunID                  string
	State, Output, Account string
	Limit                  int
	Store                  func(ctx context.Context, flag string, mustExist bool) (iamprune.Store, error)
}

func runHistory(ctx context.Context, o *HistoryOptions) error {
	if o.Account != "" && !app.IsAccountID(o.Account) {
		return usagef("--account: %q is not a 12-digit AWS account id", o.Account)
	}
	store, err := o.Store(ctx, o.State, true)
	if err != nil {
		return err
	}
	if store == nil {
		if o.RunID != "" {
			return app.NoSuchRun(o.RunID, "no state store yet")
		}
		return render.Runs(o.IO.Out, nil, o.Output)
	}
	defer store.Close()
	if o.RunID != "" {
		run, recs, err := app.Journal(ctx, store, o.RunID)
		if err != nil {
			return err
		}
		return render.RunDetail(o.IO.Out, run, recs, o.Output)
	}
	runs, err := app.History(ctx, store, o.Account, o.Limit)
	if err != nil {
		return err
	}
	return render.Runs(o.IO.Out, runs, o.Output)
}
