package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
)

func (m *Main) reportCommand() *cobra.Command {
	var o planOptions
	var out, publish string
	cmd := &cobra.Command{
		Use:   "report --out FILE",
		Short: "Write the plan and the history as one self-contained HTML page (docs/report.md)",
		Long: `report plans as 'plan' does (same inputs) and writes one HTML file with
summary tiles, SVG charts (by kind, type, unused days, account, the calendar
of upcoming remediations, the history of the state store) and the tables
of plan entries, expiring exceptions and active holds. It loads nothing from
the network. Without a readable state store the history is left out, with a
warning. --publish s3://bucket/prefix/ uploads it as report.html and
YYYY-MM-DD/report.html.`,
		Example: `  iamprune report --snapshot examples/demo/snapshot --config examples/demo/iamprune.yaml --state demo.db --out report.html
  iamprune report --publish s3://security-reports/iamprune/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			written, err := app.Report(cmd.Context(), app.ReportRequest{Out: out, Publish: publish, Objects: m.s3Objects, Logger: m.log(),
				OpenStore: func(ctx context.Context) (iamprune.Store, error) { return m.openStore(ctx, o.state, true) },
				MakePlan:  func(ctx context.Context, s iamprune.Store) (*app.Planned, error) { return m.makePlan(ctx, o, s) }})
			for _, w := range written {
				fmt.Fprintln(m.Stdout, w)
			}
			return err
		},
	}
	o.bind(cmd)
	_ = cmd.Flags().MarkHidden("output")
	cmd.Flags().StringVar(&out, "out", "", "write the report to this file")
	cmd.Flags().StringVar(&publish, "publish", "", "upload the report to this S3 prefix (s3://bucket/prefix/), with a dated copy")
	return cmd
}
