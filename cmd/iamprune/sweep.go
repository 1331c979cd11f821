package main

import (
	"cmp"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/render"
)

func (m *Main) sweepCommand() *cobra.Command {
	var (
		o      planOptions
		queue  string
		size   int
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "sweep --queue URL",
		Short: "Fan a sweep out: one SQS message per account (and page), for the queue's consumers to apply",
		Long: `sweep only enqueues: one message per account to the queue, or one per page of
findings (--page-size) for a large account, which it lists up to its second page:
that message's consumer enqueues the next page, and so on (a "+" in the table).
Accounts: the config's allowlist, else those with ACTIVE findings and the caller's.
Enqueuing changes no IAM; the queue's consumers (the Lambda function's SQS
event source, 'iamprune worker') plan and apply each message with their own
config, its rules, mode and guards, one account at a time under its lock.
The sweep is recorded in the state store: 'iamprune history --sweep ID' shows
its progress, and the consumer that finishes the last message sends the
organisation digest. --dry-run lists the messages and sends nothing.`,
		Example: `  iamprune sweep --queue https://sqs.eu-west-1.amazonaws.com/111122223333/iamprune-sweep --state dynamodb://iamprune
  iamprune sweep --config iamprune.yaml --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if o.output != "table" && o.output != "json" {
				return iamprune.Errorf(iamprune.EINVALID, "unknown output format %q (want table or json)", o.output)
			}
			in, err := m.loadInputs(ctx, o)
			if err != nil {
				return err
			}
			req := app.EnqueueRequest{Queue: cmp.Or(queue, in.Config.Sweep.QueueURL), PageSize: size, DryRun: dryRun}
			var store iamprune.Store
			if !dryRun {
				if store, err = m.openStore(ctx, o.state, false); err != nil {
					return err
				}
				defer store.Close()
			}
			sess, err := app.OpenSession(ctx, m.loadAWS, cmp.Or(o.analyzer, in.Config.Analyzer))
			if err != nil {
				return err
			}
			res, err := app.Enqueue(ctx, m.env(), sess, in, store, sqs.NewFromConfig(sess.AWS), req)
			if err != nil {
				return err
			}
			return render.SweepEnqueued(m.Stdout, res, o.output, o.state)
		},
	}
	f := cmd.Flags()
	f.StringVar(&queue, "queue", "", "URL of the SQS queue (default: the config's sweep.queue_url)")
	f.IntVar(&size, "page-size", 0, "most findings per message, 1 to 1000 (default: the config's sweep.page_size)")
	f.BoolVar(&dryRun, "dry-run", false, "list the messages; record and send nothing")
	f.StringVar(&o.configPath, "config", "", "YAML config file (default: $IAMPRUNE_CONFIG, else built-in defaults)")
	f.StringVar(&o.analyzer, "analyzer", "", `analyzer ARN, or "auto" (default: the config's analyzer)`)
	f.StringVar(&o.state, "state", "", "state store: a SQLite file or dynamodb://TABLE (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	return cmd
}
