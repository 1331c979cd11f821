package main

import (
	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune/demo"
)

func (m *Main) demoCommand() *cobra.Command {
	var output, report string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the reference workshop scenario end to end, offline, in seconds",
		Long:  demo.Help,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return demo.Run(cmd.Context(), demo.Options{Out: m.Stdout, Output: output, Env: m.env(), Policy: m.awsPolicy(), Owner: lockOwner(), Report: report})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table (the whole story), json or markdown (the plan only)")
	cmd.Flags().StringVar(&report, "report", "", "also write the HTML report of the story's last plan and history to this file (docs/report.md)")
	return cmd
}
