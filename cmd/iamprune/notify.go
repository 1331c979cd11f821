package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/config"
	"github.com/iamprune/iamprune/notify"
)

// notifier sends one run's digests: the channels of the config, the
// notice log of the state store, and the audit log.
type notifier struct {
	cfg    iamprune.Notifications
	excs   []iamprune.Exception
	sender *notify.Sender
	log    iamprune.NoticeLog
	now    time.Time
}

// newNotifier wires the configured channels. awsCfg may be nil (snapshot
// mode): an SNS channel then loads the standard AWS configuration.
func (m *Main) newNotifier(ctx context.Context, in app.Inputs, awsCfg *aws.Config, store iamprune.Store, auditL *audit.Logger) (*notifier, error) {
	n := in.Config.Notifications
	if len(n.Channels) == 0 {
		return nil, nil
	}
	var snsClient *sns.Client
	notifiers := map[string]iamprune.Notifier{}
	for _, ch := range n.Channels {
		deps := notify.ChannelDeps{Getenv: m.Getenv}
		if ch.Type == iamprune.ChannelSNS {
			if snsClient == nil {
				cfg := awsCfg
				if cfg == nil {
					c, _, err := awsapi.LoadConfig(ctx, m.awsOptions())
					if err != nil {
						return nil, err
					}
					cfg = &c
				}
				snsClient = sns.NewFromConfig(*cfg)
			}
			deps.SNS = snsClient
		}
		nt, err := notify.NewChannel(ch, deps)
		if err != nil {
			return nil, err
		}
		notifiers[ch.Name] = nt
	}
	log, _ := store.(iamprune.NoticeLog)
	templates := config.Resolve(in.Config.Source, n.TemplatesDir)
	now := in.Now
	return &notifier{cfg: n, excs: in.Exceptions, log: log, now: now, sender: &notify.Sender{
		Notifiers:    notifiers,
		Log:          log,
		Audit:        auditFunc(auditL),
		Now:          func() time.Time { return now },
		TemplatesDir: templates,
		// Retries: notify.DefaultRetries, with jittered backoff and the
		// endpoint's Retry-After; a digest still lost fails the run.
		Sleep: timing.noticeSleep,
	}}, nil
}

// auditFunc turns the sender's events into audit-log lines.
func auditFunc(l *audit.Logger) func(string, map[string]any) {
	return func(event string, f map[string]any) {
		str := func(k string) string { s, _ := f[k].(string); return s }
		detail := fmt.Sprintf("route %s, channel %s, %v item(s)", str("route"), str("channel"), f["items"])
		if e := str("error"); e != "" {
			detail += ": " + e
		}
		_ = l.Log(audit.Event{Event: event, RunID: str("run_id"), Account: str("account"), Status: str("status"), Detail: detail})
	}
}

// pending selects and routes the notices this plan calls for now.
func (n *notifier) pending(ctx context.Context, plan *iamprune.Plan, facts *iamprune.Facts) ([]notify.Delivery, error) {
	var records []iamprune.NoticeRecord
	if n.log != nil {
		var err error
		if records, err = n.log.FindNotices(ctx, iamprune.NoticeFilter{Account: facts.Account}); err != nil {
			return nil, err
		}
	}
	pending := notify.Select(plan, records, n.cfg, n.now)
	// Owners also hear, once, when an exception covering them nears its
	// end, as early as the first reminder before a remediation.
	window := 14
	for _, d := range n.cfg.RemindDaysBefore {
		window = max(window, d)
	}
	pending = append(pending, notify.Expiring(n.excs, facts, records, n.now, time.Duration(window)*24*time.Hour)...)
	return notify.Route(pending, facts, n.cfg), nil
}

// send delivers and reports per route and channel.
func (n *notifier) send(ctx context.Context, ds []notify.Delivery, account, runID string) []iamprune.NotificationResult {
	if len(ds) == 0 {
		return nil
	}
	for i := range ds {
		if ds[i].Digest.Account == "" {
			ds[i].Digest.Account = account
		}
	}
	rep := n.sender.Send(ctx, ds, runID)
	var out []iamprune.NotificationResult
	for _, c := range rep.Channels {
		out = append(out, iamprune.NotificationResult{Route: c.Route, Channel: c.Channel, Status: c.Status, Error: c.Error, Items: c.Items, Attempts: c.Attempts})
	}
	for _, e := range rep.LogErrors {
		out = append(out, iamprune.NotificationResult{Route: "-", Channel: "notice log", Status: iamprune.NoticeFailed, Error: e})
	}
	return out
}

// summarizeNotices is one line for people.
func summarizeNotices(rs []iamprune.NotificationResult) string {
	if len(rs) == 0 {
		return "Notices: none due."
	}
	sent, failed := 0, []string{}
	for _, r := range rs {
		if r.Status == iamprune.NoticeSent {
			sent++
		} else {
			failed = append(failed, fmt.Sprintf("%s (%s): %s", r.Channel, r.Route, r.Error))
		}
	}
	s := fmt.Sprintf("Notices: %d digest(s) sent", sent)
	if len(failed) > 0 {
		s += fmt.Sprintf(", %d failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return s + "."
}
