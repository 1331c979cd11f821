package app

import (
	"context"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/notify"
)

// SendSample sends a sample digest to the one channel of in's config
// named channel, to check its configuration; a name the config lacks is
// bad input.
func SendSample(ctx context.Context, env Env, in Inputs, channel string, auditL *audit.Logger) ([]iamprune.NotificationResult, error) {
	var ch *iamprune.Channel
	var names []string
	for i := range in.Config.Notifications.Channels {
		names = append(names, in.Config.Notifications.Channels[i].Name)
		if in.Config.Notifications.Channels[i].Name == channel {
			ch = &in.Config.Notifications.Channels[i]
		}
	}
	switch {
	case len(names) == 0:
		return nil, iamprune.Errorf(iamprune.EINVALID, "no notification channel is configured (notifications.channels in the config)")
	case channel == "":
		return nil, iamprune.Errorf(iamprune.EINVALID, "--channel NAME is required: one of %s", strings.Join(names, ", "))
	case ch == nil:
		return nil, iamprune.Errorf(iamprune.EINVALID, "--channel: no channel %q in the config: it has %s", channel, strings.Join(names, ", "))
	}
	only := in
	only.Config.Notifications.Channels = []iamprune.Channel{*ch}
	nt, err := NewNotifier(ctx, env, only, nil, nil, auditL)
	if err != nil {
		return nil, err
	}
	d := notify.Delivery{Channels: []string{channel}, Digest: SampleDigest(in)}
	return nt.Send(ctx, []notify.Delivery{d}, "", "test"), nil
}

// SampleDigest is a realistic digest with one item of each common case.
func SampleDigest(in Inputs) iamprune.Digest {
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
