package notify

import (
	"crypto/tls"
	"net/http"
	"net/url"
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

// ValidateChannel checks a channel's static configuration: the fields its
// type requires. The error is an EINVALID *iamprune.Error (wrapped as
// permanent) naming the channel and the field.
func ValidateChannel(ch iamprune.Channel) error {
	if ch.Name == "" {
		return configError(ch, "name is required")
	}
	switch ch.Type {
	case iamprune.ChannelSNS:
		if ch.TopicARN == "" {
			return configError(ch, "topic_arn is required")
		}
	case iamprune.ChannelSlack:
		if ch.WebhookURL == "" && ch.WebhookURLEnv == "" {
			return configError(ch, "webhook_url_env (or webhook_url) is required")
		}
		if ch.WebhookURL != "" && !httpURL(ch.WebhookURL) {
			return configError(ch, "webhook_url is not an http(s) URL")
		}
	case iamprune.ChannelWebhook:
		if !httpURL(ch.URL) {
			return configError(ch, "url is required and must be an http(s) URL")
		}
	case iamprune.ChannelEmail:
		switch {
		case ch.SMTPHost == "":
			return configError(ch, "smtp_host is required")
		case ch.From == "":
			return configError(ch, "from is required")
		case len(ch.To) == 0 && !ch.MailOwners:
			return configError(ch, "to is required (or mail_owners: true)")
		case (ch.UsernameEnv == "") != (ch.PasswordEnv == ""):
			return configError(ch, "username_env and password_env must be set together")
		case ch.SMTPPort < 0 || ch.SMTPPort > 65535:
			return configError(ch, "smtp_port %d is not a TCP port", ch.SMTPPort)
		}
	default:
		return configError(ch, "unknown type %q (want sns, slack, webhook or email)", ch.Type)
	}
	return nil
}

// httpURL reports whether s is an absolute http or https URL. The error
// never echoes a Slack URL: it is a credential.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
