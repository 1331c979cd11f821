package main

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/config"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/examples"
	"github.com/iamprune/iamprune/exceptions"
	"github.com/iamprune/iamprune/render"
	"github.com/iamprune/iamprune/snapshot"
)

func (m *Main) demoCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the reference workshop scenario end to end, offline, in seconds",
		Long: `demo plays the Access Analyzer workshop's scenario against an embedded demo
account (examples/demo): it starts the emulator in-process, reads the findings
and IAM facts through the real AWS SDK clients, exactly as against a real
account, and prints the plan with what would happen next. The clock is the
snapshot's capture time, so the output is reproducible. Nothing leaves this
machine and nothing is changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := render.ByName(output)
			if err != nil {
				return err
			}
			res, err := m.runDemo(cmd.Context())
			if err != nil {
				return err
			}
			if err := r.Render(m.Stdout, res.plan); err != nil {
				return err
			}
			if output == "table" {
				m.explainDemo(res)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or markdown")
	return cmd
}

type demoResult struct {
	plan       *iamprune.Plan
	calls      int
	duplicates int
}

// runDemo serves the embedded snapshot and plans through the API path.
func (m *Main) runDemo(ctx context.Context) (*demoResult, error) {
	const root = "examples/demo"
	demo, err := fs.Sub(examples.Demo, "demo")
	if err != nil {
		return nil, err
	}
	snapFS, err := fs.Sub(demo, "snapshot")
	if err != nil {
		return nil, err
	}
	snap, err := snapshot.Load(snapFS, root+"/snapshot")
	if err != nil {
		return nil, err
	}
	cfgData, err := fs.ReadFile(demo, "iamprune.yaml")
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse(cfgData, root+"/iamprune.yaml")
	if err != nil {
		return nil, err
	}
	excData, err := fs.ReadFile(demo, cfg.Exceptions)
	if err != nil {
		return nil, err
	}
	excs, err := exceptions.ParseYAML(excData, root+"/"+cfg.Exceptions)
	if err != nil {
		return nil, err
	}

	srv := emulator.New(snap, emulator.Options{PageSize: 5})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: cannot start the emulator: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(sctx)
	}()

	awsCfg, counter, err := awsapi.LoadConfig(ctx, awsapi.Options{
		Region:      snap.Meta.Region,
		Endpoint:    url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIADEMODEMODEMO", "demo", ""),
		Logger:      m.log(),
	})
	if err != nil {
		return nil, err
	}
	in := planInputs{cfg: cfg, exceptions: excs, now: snap.Meta.CapturedAt.UTC()}
	plan, _, err := m.decide(ctx, awsapi.NewFindingSource(awsCfg, cfg.Analyzer), awsapi.NewFacts(awsCfg), in, nil, "the emulator serving "+root+"/snapshot")
	if err != nil {
		return nil, err
	}
	return &demoResult{plan: plan, calls: counter.Total(), duplicates: len(srv.Duplicates())}, nil
}

func (m *Main) explainDemo(res *demoResult) {
	c := res.plan.Counts()
	w := m.Stdout
	fmt.Fprintf(w, "\nWhat happened: iamprune started its AWS emulator on a loopback port, served the\n")
	fmt.Fprintf(w, "demo account from examples/demo/snapshot, and read it through the real AWS SDK\n")
	fmt.Fprintf(w, "clients: %d API calls, %d repeated.\n\n", res.calls, res.duplicates)
	fmt.Fprintf(w, "What would happen next (nothing was changed):\n")
	fmt.Fprintf(w, "  - %d remediation(s) are due; 'iamprune apply' will carry them out once reviewed.\n", res.plan.Remediations())
	fmt.Fprintf(w, "  - %d owner(s) will be notified with the date their item will be remediated.\n", c[iamprune.KindNotify])
	fmt.Fprintf(w, "  - %d item(s) are exempt through examples/demo/exceptions.yaml; ask for an\n", c[iamprune.KindExempt])
	fmt.Fprintf(w, "    exception with a pull request that adds an entry there.\n")
	fmt.Fprintf(w, "  - %d item(s) belong to protected principals and are never touched.\n", c[iamprune.KindProtected])
	fmt.Fprintf(w, "  - %d item(s) are skipped: archived findings, or principals and keys that are gone.\n\n", c[iamprune.KindSkip])
	fmt.Fprintf(w, "Try: iamprune plan --snapshot examples/demo/snapshot --config examples/demo/iamprune.yaml --now 2026-11-28 -o json\n")
}
