package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
)

func (m *Main) exportCommand() *cobra.Command {
	var o planOptions
	sh := &cobra.Command{
		Use:   "securityhub",
		Short: "Send the plan's entries to AWS Security Hub as ASFF findings (BatchImportFindings)",
		Long: `Makes the plan as 'plan' does and imports the findings of 'plan -o asff' (100 a
request, rejected ones retried); rejections are listed and exit 1 (docs/exports.md).`,
		Example: "  iamprune export securityhub --config iamprune.yaml --state state.db --region eu-west-1",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := app.CheckExportOutput(o.output); err != nil {
				return err
			}
			send := func(ctx context.Context, p *iamprune.Plan) error {
				return app.ExportSecurityHub(ctx, app.ExportRequest{Plan: p, Options: m.exportOptions(), LoadAWS: m.loadAWS, Out: m.Stdout, Output: o.output, Logger: m.log()})
			}
			return runPlan(cmd.Context(), &PlanOptions{IO: m.streams(), Flags: o, Store: m.openStore, MakePlan: m.makePlan, Log: m.log(), Then: send})
		},
	}
	o.bind(sh)
	sh.Flags().Lookup("output").Usage = app.ExportOutputUsage
	cmd := &cobra.Command{Use: "export", Short: "Export findings to the security stack", Args: cobra.NoArgs}
	cmd.AddCommand(sh)
	return cmd
}
