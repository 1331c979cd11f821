package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/render"
)

func (m *Main) snapshotCommand() *cobra.Command {
	o := &CaptureOptions{}
	capture := &cobra.Command{
		Use:   "capture --out DIR",
		Short: "Capture the account, or an organisation analyzer's accounts, into a snapshot folder (read-only)",
		Long: `Writes the account of the credentials in the snapshot format (docs/snapshots.md).
For an organisation analyzer, each member account its findings name is read
through the config's cross-account role into a sub-folder named by its id.`,
		Example: "  iamprune snapshot capture --out snap --last-accessed --config iamprune.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.IO, o.Run, o.LoadConfig = m.streams(), app.Capture, m.loadConfig
			o.Base.LoadAWS, o.Base.Now, o.Base.Logger = m.loadAWS, m.Now, m.log()
			return runCapture(cmd.Context(), o)
		},
	}
	f := capture.Flags()
	f.StringVar(&o.Base.Out, "out", "", "folder to write the snapshot to (created)")
	f.BoolVar(&o.Base.LastAccessed, "last-accessed", false, "also capture service last-accessed data: one IAM job per user and role (slow)")
	f.StringVar(&o.Base.Analyzer, "analyzer", "auto", `analyzer ARN, or "auto" for the region's active unused-access analyzer`)
	f.StringVar(&o.ConfigPath, "config", "", "YAML config file, for an organisation's cross-account role (default: $IAMPRUNE_CONFIG)")
	cmd := &cobra.Command{Use: "snapshot", Short: "Capture AWS accounts into snapshot folders for offline planning", Args: cobra.NoArgs}
	cmd.AddCommand(capture)
	return cmd
}

// CaptureOptions are the flags, streams and dependencies of 'snapshot capture'.
type CaptureOptions struct {
	IO         *IOStreams
	Base       app.CaptureOptions
	ConfigPath string
	LoadConfig func(context.Context, string) (iamprune.Config, error)
	Run        func(context.Context, app.CaptureOptions) (*app.Captured, error)
}

func runCapture(ctx context.Context, o *CaptureOptions) error {
	co := o.Base
	cfg, err := o.LoadConfig(ctx, o.ConfigPath)
	if err != nil {
		return err
	}
	co.CrossAccount = cfg.CrossAccount
	var done func()
	co.Progress, done = render.Line(o.IO.ErrOut, o.IO.ErrTTY)
	defer done()
	res, err := o.Run(ctx, co)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.IO.Out, res)
	return res.Err()
}
