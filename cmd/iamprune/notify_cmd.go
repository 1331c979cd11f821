package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/render"
)

func (m *Main) notifyCommand() *cobra.Command {
	var (
		o        planOptions
		yes      bool
		auditLog string
	)
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Send owners the notices the plan calls for now (changes no IAM)",
		Long: `notify plans (same inputs as 'plan') and sends each route one digest of the
items due a notice: an item entering the notice window, a reminder
(notifications.remind_days_before days before remediate_on, by default 14
and 3), or an item whose planned action or date changed. Nothing unchanged
is sent again within notifications.min_interval. Every notice sent (or
failed) is recorded in the state store: with require_prior_notice (the
default) a remediation only happens once its owner was notified at least
notice_days earlier, so a first run against an account warns and does not
act.

'apply' sends the same notices itself before it changes anything; use
'notify' on its own to warn without remediating. It shows what it would send
and sends it with --yes or after confirmation on a terminal.`,
		Example: `  iamprune notify --config iamprune.yaml --yes
  iamprune notify test --config iamprune.yaml --channel security-slack`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNotify(cmd.Context(), &NotifyOptions{IO: m.streams(), Env: m.env(), Plan: o, Yes: yes, AuditLog: auditLog, Store: m.openStore, MakePlan: m.makePlan})
		},
	}
	o.bind(cmd)
	f := cmd.Flags()
	f.Lookup("output").Usage = "output format: table or json"
	f.BoolVarP(&yes, "yes", "y", false, "send without asking (required when stdin is not a terminal)")
	f.StringVar(&auditLog, "audit-log", "", auditLogUsage)
	cmd.AddCommand(m.notifyTestCommand())
	return cmd
}

// NotifyOptions are the flags, streams and dependencies of 'notify'.
type NotifyOptions struct {
	IO       *IOStreams
	Env      app.Env
	Plan     planOptions
	Yes      bool
	AuditLog string
	Store    func(ctx context.Context, flag string, mustExist bool) (iamprune.Store, error)
	MakePlan func(context.Context, planOptions, iamprune.Store) (*app.Planned, error)
}

// runNotify plans, and sends the digests due after consent.
func runNotify(ctx context.Context, o *NotifyOptions) error {
	if o.Plan.output != "table" && o.Plan.output != "json" {
		return usagef("--output: %q is not table or json", o.Plan.output)
	}
	store, err := o.Store(ctx, o.Plan.state, false)
	if err != nil {
		return err
	}
	defer store.Close()
	p, err := o.MakePlan(ctx, o.Plan, store)
	if err != nil {
		return err
	}
	if len(p.Inputs.Config.Notifications.Channels) == 0 {
		return usagef("no notification channel is configured (notifications.channels in the config)")
	}
	auditW, closeAudit, err := app.OpenAuditLog(o.Env, o.AuditLog, o.Plan.state, o.IO.ErrOut)
	if err != nil {
		return err
	}
	defer closeAudit()
	nt, ds, err := app.PendingNotices(ctx, o.Env, p, store, audit.New(auditW, o.Env.Now))
	if err != nil {
		return err
	}
	items := app.RouteSummary(o.IO.ErrOut, ds)
	if len(ds) == 0 {
		fmt.Fprintln(o.IO.ErrOut, "Nothing to send: no item is due a notice now.")
		return render.Notices(o.IO.Out, nil, o.Plan.output)
	}
	if err := confirm(o.IO, o.Yes, p.Facts.Account, fmt.Sprintf("send %d digest(s) with %d item(s)", len(ds), items)); err != nil {
		return err
	}
	res := nt.Send(ctx, ds, p.Facts.Account, apply.NewRunID(o.Env.Now()))
	if err := render.Notices(o.IO.Out, res, o.Plan.output); err != nil {
		return err
	}
	for _, r := range res {
		if r.Status != iamprune.NoticeSent {
			return errProblems
		}
	}
	return nil
}

func (m *Main) notifyTestCommand() *cobra.Command {
	var (
		o                 planOptions
		channel, auditLog string
	)
	cmd := &cobra.Command{
		Use:   "test --channel NAME",
		Short: "Send a sample digest to one channel, to check its configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			in, err := m.loadInputs(ctx, o)
			if err != nil {
				return err
			}
			auditW, closeAudit, err := app.OpenAuditLog(m.env(), auditLog, o.state, m.Stderr)
			if err != nil {
				return err
			}
			defer closeAudit()
			res, err := app.SendSample(ctx, m.env(), in, channel, audit.New(auditW, m.Now))
			if err != nil {
				return err
			}
			if err := render.Notices(m.Stdout, res, "table"); err != nil {
				return err
			}
			if len(res) == 0 || res[0].Status != iamprune.NoticeSent {
				return errProblems
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.configPath, "config", "", "YAML config file (default: $IAMPRUNE_CONFIG)")
	f.StringVar(&channel, "channel", "", "the channel to test (required)")
	f.StringVar(&o.state, "state", "", "state store, beside which the audit log goes (default: $IAMPRUNE_STATE, else $XDG_STATE_HOME/iamprune/state.db)")
	f.StringVar(&auditLog, "audit-log", "", auditLogUsage)
	return cmd
}
