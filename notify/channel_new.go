package notify

import (
	"crypto/tls"
	"net/http"
	"os"
	"time"

	"github.com/iamprune/iamprune"
)

// ChannelDeps are what channels need from the outside; zero fields get
// production defaults where there is one.
type ChannelDeps struct {
	// Getenv reads secrets named by *_env fields; os.Getenv when nil.
	Getenv func(string) string
	// HTTPClient serves Slack and webhook channels.
	HTTPClient *http.Client
	// SNS serves sns channels (an *sns.Client); required for them.
	SNS SNSPublisher
	// TLSConfig overrides e-mail STARTTLS settings (tests).
	TLSConfig *tls.Config
	// Now stamps webhook signatures and e-mail dates; time.Now when nil.
	Now func() time.Time
}

// NewChannel returns the Notifier for one configured channel. It checks
// the fields the channel type needs; secrets are read at send time, so a
// rotated secret is picked up without a restart.
func NewChannel(ch iamprune.Channel, d ChannelDeps) (iamprune.Notifier, error) {
	if d.Getenv == nil {
		d.Getenv = os.Getenv
	}
	if err := ValidateChannel(ch); err != nil {
		return nil, err
	}
	switch ch.Type {
	case iamprune.ChannelSlack:
		return &Slack{Channel: ch, Getenv: d.Getenv, Client: d.HTTPClient}, nil
	case iamprune.ChannelWebhook:
		return &Webhook{Channel: ch, Getenv: d.Getenv, Client: d.HTTPClient, Now: d.Now}, nil
	case iamprune.ChannelEmail:
		return &Email{Channel: ch, Getenv: d.Getenv, TLSConfig: d.TLSConfig, Now: d.Now}, nil
	case iamprune.ChannelSNS:
		if d.SNS == nil {
			return nil, configError(ch, "no SNS client available")
		}
		return &SNS{Channel: ch, Client: d.SNS}, nil
	}
	return nil, configError(ch, "unknown type %q (want sns, slack, webhook or email)", ch.Type)
}

// ValidateChannel checks a channel's static configuration with the same
// rules as config loading (iamprune.Channel.Problem): the fields its type
// requires, and endpoints that are https (plain http only to localhost)
// and never link-local or instance-metadata addresses. The error is an
// EINVALID *iamprune.Error (wrapped as permanent) naming the channel and
// the field, never the URL.
func ValidateChannel(ch iamprune.Channel) error {
	if ch.Name == "" {
		return configError(ch, "name is required")
	}
	switch field, msg := ch.Problem(); {
	case msg == "":
		return nil
	case field != "":
		return configError(ch, "%s: %s", field, msg)
	default:
		return configError(ch, "%s", msg)
	}
}
