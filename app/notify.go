package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/config"
	"github.com/iamprune/iamprune/notify"
)

// Notifier sends one run's digests: the channels of the config, the
// notice log of the state store, and the audit log.
type Notifier struct {
	cfg    iamprune.Notifications
	excs   []iamprune.Exception
	sender *notify.Sender
	log    iamprune.NoticeLog
	now    time.Time
}

// NewNotifier wires the configured channels; nil when there are none.
// awsCfg may be nil (snapshot mode): an SNS channel then loads the AWS
// configuration through env.
func NewNotifier(ctx context.Context, env Env, in Inputs, awsCfg *aws.Config, store iamprune.Store, auditL *audit.Logger) (*Notifier, error) {
	n := in.Config.Notifications
	if len(n.Channels) == 0 {
		return nil, nil
	}
	notifiers, err := channels(ctx, env, n, awsCfg)
	if err != nil {
		return nil, err
	}
	log, _ := store.(iamprune.NoticeLog)
	now := in.Now
	return &Notifier{cfg: n, excs: in.Exceptions, log: log, now: now, sender: &notify.Sender{
		Notifiers:    notifiers,
		Log:          log,
		Audit:        auditFunc(auditL),
		Now:          func() time.Time { return now },
		TemplatesDir: config.Resolve(in.Config.Source, n.TemplatesDir),
		// Retries: notify.DefaultRetries, with jittered backoff and the
		// endpoint's Retry-After; a digest still lost fails the run.
		Sleep: env.NoticeSleep,
	}}, nil
}

// channels makes the configured channels; one SNS client serves them all.
func channels(ctx context.Context, env Env, n iamprune.Notifications, awsCfg *aws.Config) (map[string]iamprune.Notifier, error) {
	var snsClient *sns.Client
	notifiers := map[string]iamprune.Notifier{}
	for _, ch := range n.Channels {
		deps := notify.ChannelDeps{Getenv: env.Getenv}
		if ch.Type == iamprune.ChannelSNS {
			if snsClient == nil {
				cfg := awsCfg
				if cfg == nil {
					c, _, err := env.LoadAWS(ctx)
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
	return notifiers, nil
}

// pendingNotifier selects notices without sending any: consent counts
// the digests due before anything is sent.
func pendingNotifier(in Inputs, store iamprune.Store) *Notifier {
	nt := &Notifier{cfg: in.Config.Notifications, excs: in.Exceptions, now: in.Now}
	nt.log, _ = store.(iamprune.NoticeLog)
	return nt
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

// Pending selects and routes the notices plan calls for now, read against
// the notice log of facts' account.
func (n *Notifier) Pending(ctx context.Context, plan *iamprune.Plan, facts *iamprune.Facts) ([]notify.Delivery, error) {
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

// Send delivers and reports per route and channel; a digest without an
// account is sent as account's.
func (n *Notifier) Send(ctx context.Context, ds []notify.Delivery, account, runID string) []iamprune.NotificationResult {
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

// PendingNotices wires the notifier of a plan and selects the digests due
// now; the caller asks for consent, then sends them with the notifier.
func PendingNotices(ctx context.Context, env Env, p *Planned, store iamprune.Store, auditL *audit.Logger) (*Notifier, []notify.Delivery, error) {
	var awsCfg *aws.Config
	if p.Session != nil {
		awsCfg = &p.Session.AWS
	}
	nt, err := NewNotifier(ctx, env, p.Inputs, awsCfg, store, auditL)
	if err != nil || nt == nil {
		return nil, nil, err
	}
	ds, err := nt.Pending(ctx, p.Plan, p.Facts)
	if err != nil {
		return nil, nil, err
	}
	return nt, ds, nil
}

// RouteSummary writes one line per digest due (its route, channels and
// principals) and returns how many items the digests hold.
func RouteSummary(w io.Writer, ds []notify.Delivery) int {
	items := 0
	for _, d := range ds {
		for _, pr := range d.Digest.Principals {
			items += len(pr.Items)
		}
		fmt.Fprintf(w, "route %s -> %v: %d principal(s)\n", d.Digest.Route, d.Channels, len(d.Digest.Principals))
	}
	return items
}
