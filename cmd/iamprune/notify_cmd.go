package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/notify"
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
			ctx := cmd.Context()
			if o.output != "table" && o.output != "json" {
				return usagef("--output: %q is not table or json", o.output)
			}
			store, err := m.openStore(ctx, o.state, false)
			if err != nil {
				return err
			}
			defer store.Close()
			p, err := m.makePlan(ctx, o, store)
			if err != nil {
				return err
			}
			if len(p.Inputs.Config.Notifications.Channels) == 0 {
				return usagef("no notification channel is configured (notifications.channels in the config)")
			}
			auditW, closeAudit, err := m.auditWriter(auditLog)
			if err != nil {
				return err
			}
			defer closeAudit()
			awsCfg := awsConfig(p)
			nt, err := m.newNotifier(ctx, p.Inputs, awsCfg, store, audit.New(auditW, m.Now))
			if err != nil {
				return err
			}
			ds, err := nt.pending(ctx, p.Plan, p.Facts)
			if err != nil {
				return err
			}
			items := 0
			for _, d := range ds {
				for _, pr := range d.Digest.Principals {
					items += len(pr.Items)
				}
				fmt.Fprintf(m.Stderr, "route %s -> %v: %d principal(s)\n", d.Digest.Route, d.Channels, len(d.Digest.Principals))
			}
			if len(ds) == 0 {
				fmt.Fprintln(m.Stderr, "Nothing to send: no item is due a notice now.")
				return m.printNotices(o.output, nil)
			}
			if err := m.confirm(yes, p.Facts.Account, fmt.Sprintf("send %d digest(s) with %d item(s)", len(ds), items)); err != nil {
				return err
			}
			res := nt.send(ctx, ds, p.Facts.Account, apply.NewRunID(m.Now()))
			if err := m.printNotices(o.output, res); err != nil {
				return err
			}
			for _, r := range res {
				if r.Status != iamprune.NoticeSent {
					return errProblems
				}
			}
			return nil
		},
	}
	o.bind(cmd)
	f := cmd.Flags()
	f.Lookup("output").Usage = "output format: table or json"
	f.BoolVarP(&yes, "yes", "y", false, "send without asking (required when stdin is not a terminal)")
	f.StringVar(&auditLog, "audit-log", "", "append the JSON-lines audit log to this file instead of stderr")
	cmd.AddCommand(m.notifyTestCommand())
	return cmd
}

// awsConfig is the AWS configuration a plan was read with, nil for a
// snapshot.
func awsConfig(p *app.Planned) *aws.Config {
	if p.Session == nil {
		return nil
	}
	return &p.Session.AWS
}

func (m *Main) printNotices(format string, rs []iamprune.NotificationResult) error {
	if format == "json" {
		if rs == nil {
			rs = []iamprune.NotificationResult{}
		}
		b, err := json.MarshalIndent(map[string]any{"notifications": rs}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(m.Stdout, string(b))
		return err
	}
	for _, r := range rs {
		fmt.Fprintf(m.Stdout, "%-7s %-20s %-30s %d item(s) %s\n", r.Status, r.Channel, r.Route, r.Items, r.Error)
	}
	_, err := fmt.Fprintln(m.Stdout, summarizeNotices(rs))
	return err
}

func (m *Main) notifyTestCommand() *cobra.Command {
	var (
		o       planOptions
		channel string
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
			var ch *iamprune.Channel
			for i := range in.Config.Notifications.Channels {
				if in.Config.Notifications.Channels[i].Name == channel {
					ch = &in.Config.Notifications.Channels[i]
				}
			}
			if ch == nil {
				return usagef("--channel: no channel %q in the config", channel)
			}
			only := in
			only.Config.Notifications.Channels = []iamprune.Channel{*ch}
			nt, err := m.newNotifier(ctx, only, nil, nil, audit.New(m.Stderr, m.Now))
			if err != nil {
				return err
			}
			d := notify.Delivery{Channels: []string{channel}, Digest: sampleDigest(in)}
			res := nt.send(ctx, []notify.Delivery{d}, "", "test")
			if err := m.printNotices("table", res); err != nil {
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
	return cmd
}

// sampleDigest is a realistic digest with one item of each common case.
func sampleDigest(in app.Inputs) iamprune.Digest {
	now := in.Now
	on := now.AddDate(0, 0, 14).Format(time.DateOnly)
	a := iamprune.Action{Principal: "arn:aws:iam::111122223333:user/example", FindingType: iamprune.UnusedIAMUserAccessKey,
		Kind: iamprune.KindDeactivateAccessKey, Target: "AKIAEXAMPLEEXAMPLE"}
	return iamprune.Digest{
		Account: "111122223333", GeneratedAt: now, Route: "test",
		ExceptionRequestURL: in.Config.Notifications.ExceptionRequestURL,
		Principals: []iamprune.DigestPrincipal{{
			ARN: a.Principal, Owner: "team-example",
			Items: []iamprune.DigestItem{{
				ActionID: "0000000000000000", FindingType: a.FindingType, Kind: iamprune.KindNotify, Target: a.Target,
				Services: []string{}, UnusedDays: 80, RemediateOn: on,
				Reason:        "This is a test message from 'iamprune notify test': will deactivate-access-key on " + on + " (unused 80 days, notify after 30)",
				Notice:        "test",
				ExceptionYAML: notify.ExceptionYAML(a, "team-example", now),
			}},
		}},
	}
}
