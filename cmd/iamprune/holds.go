package main

import (
	"cmp"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/render"
)

func (m *Main) holdsCommand() *cobra.Command {
	var state, output, account string
	cmd := &cobra.Command{
		Use:   "holds",
		Short: "List the holds rollback set on rolled-back items",
		Long: `rollback holds every item it undid (holds.days in the config, default 30, or
rollback --hold-days), so that the next plan or sweep shows it as exempt
instead of remediating it again: a rollback usually means the change broke
something. holds lists them, active ones first, with the item, the end of
the hold, the apply run that was rolled back, the rollback run and who ran
it. 'iamprune holds release ID' ends one early. To keep an item for good,
add an exception for it (the plan's notice shows the entry to paste).`,
		Example: `  iamprune holds
  iamprune holds -o json
  iamprune holds release hold-1a2b3c4d5e6f`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return usagef("--output: %q is not table or json", output)
			}
			if account != "" && !iamprune.IsAccountID(account) {
				return usagef("--account: %q is not a 12-digit AWS account id", account)
			}
			store, err := m.openStore(cmd.Context(), state, true)
			if err != nil {
				return err
			}
			holds, err := app.ListHolds(cmd.Context(), store, account)
			if err != nil {
				return err
			}
			return render.Holds(m.Stdout, holds, m.Now().UTC(), output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", "", "state store (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.StringVar(&account, "account", "", "only holds in this account")
	cmd.AddCommand(m.holdsReleaseCommand())
	return cmd
}

func (m *Main) holdsReleaseCommand() *cobra.Command {
	var state, auditLog string
	cmd := &cobra.Command{
		Use:   "release ID",
		Short: "End a hold early, so that the next plan may remediate the item again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := m.openStore(cmd.Context(), state, true)
			if err != nil {
				return err
			} else if store == nil {
				return iamprune.Errorf(iamprune.EINVALID, "hold %s: no state store yet (nothing was ever rolled back here)", args[0])
			}
			defer store.Close()
			auditW, closeAudit, err := app.OpenAuditLog(m.env(), auditLog, state, m.streams().ErrOut)
			if err != nil {
				return err
			}
			defer closeAudit()
			h, already, err := app.ReleaseHold(cmd.Context(), m.env(), store, args[0], cmp.Or(lockOwner().User, "unknown"), auditW)
			if err == nil {
				fmt.Fprintln(m.Stdout, app.HoldReleasedMessage(h, already))
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", "", "state store (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
	f.StringVar(&auditLog, "audit-log", "", auditLogUsage)
	return cmd
}
