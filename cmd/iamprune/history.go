package main

import (
	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune/app"
)

func (m *Main) historyCommand() *cobra.Command {
	var (
		state, output string
		q             app.HistoryQuery
	)
	cmd := &cobra.Command{
		Use:   "history [RUN_ID]",
		Short: "List apply and rollback runs, one run's journal, or a sweep's progress",
		Long: `history lists the runs recorded in the state store, newest first, or, given a
run id, that run's journal: every action with its status and detail. -o json
includes the recorded pre-images. --sweep ID shows a fanned-out sweep's
progress, one row per message (account and page) with its run.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				q.RunID = args[0]
			}
			store, err := m.openStore(cmd.Context(), state, true)
			if err != nil {
				return err
			}
			if store != nil {
				defer store.Close()
			}
			return app.ShowHistory(cmd.Context(), m.Stdout, store, q, output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", "", "state store (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.StringVar(&q.Account, "account", "", "only runs made from this account (the credentials' account: for an organisation, the delegated administrator, whose runs also change member accounts); with --sweep, that account's messages")
	f.IntVar(&q.Limit, "limit", 50, "at most this many runs (0: all)")
	f.StringVar(&q.Sweep, "sweep", "", "show this fanned-out sweep's progress (see 'iamprune sweep')")
	return cmd
}
