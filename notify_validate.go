package iamprune

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
)

// Validate checks the `notifications:` block. Messages start with the key
// path ("notifications.routes[1].channels[0]: unknown channel ...") so that
// the config parser can place them at their line. The zero value is valid.
func (n Notifications) Validate() error {
	names := map[string]int{}
	for i, c := range n.Channels {
		path := fmt.Sprintf("notifications.channels[%d]", i)
		if c.Name == "" {
			return Errorf(EINVALID, "%s.name: required", path)
		}
		if first, dup := names[c.Name]; dup {
			return Errorf(EINVALID, "%s.name: duplicate channel name %q (also channels[%d])", path, c.Name, first)
		}
		names[c.Name] = i
		if err := c.validate(path); err != nil {
			return err
		}
	}
	known := func() string {
		if len(n.Channels) == 0 {
			return "no channels are configured"
		}
		list := make([]string, len(n.Channels))
		for i, c := range n.Channels {
			list[i] = c.Name
		}
		return "want one of " + strings.Join(list, ", ")
	}
	for i, t := range n.OwnerTags {
		if strings.TrimSpace(t) == "" {
			return Errorf(EINVALID, "notifications.owner_tags[%d]: empty tag key", i)
		}
	}
	for i, r := range n.Routes {
		path := fmt.Sprintf("notifications.routes[%d]", i)
		if r.Owner == "" {
			return Errorf(EINVALID, "%s.owner: required (an owner glob such as team-payments or *@example.com)", path)
		}
		if len(r.Channels) == 0 {
			return Errorf(EINVALID, "%s.channels: must name at least one channel", path)
		}
		for j, name := range r.Channels {
			if _, ok := names[name]; !ok {
				return Errorf(EINVALID, "%s.channels[%d]: unknown channel %q (%s)", path, j, name, known())
			}
		}
	}
	for i, name := range n.Default {
		if _, ok := names[name]; !ok {
			return Errorf(EINVALID, "notifications.default[%d]: unknown channel %q (%s)", i, name, known())
		}
	}
	if u := n.ExceptionRequestURL; u != "" {
		if p, err := url.Parse(u); err != nil || p.Scheme == "" || (p.Host == "" && p.Opaque == "") {
			return Errorf(EINVALID, "notifications.exception_request_url: %q is not an absolute URL", u)
		}
	}
	seen := map[int]int{}
	for i, d := range n.RemindDaysBefore {
		if d < 1 {
			return Errorf(EINVALID, "notifications.remind_days_before[%d]: must be >= 1, got %d", i, d)
		}
		if first, dup := seen[d]; dup {
			return Errorf(EINVALID, "notifications.remind_days_before[%d]: %d is listed twice (also [%d])", i, d, first)
		}
		seen[d] = i
	}
	if n.MinInterval < 0 {
		return Errorf(EINVALID, "notifications.min_interval: must not be negative, got %s", n.MinInterval)
	}
	if n.NoticeDays < 0 {
		return Errorf(EINVALID, "notifications.notice_days: must be >= 0, got %d", n.NoticeDays)
	}
	return nil
}

// validate checks the fields of one channel's type.
func (c Channel) validate(path string) error {
	switch c.Type {
	case "":
		return Errorf(EINVALID, "%s.type: required (one of sns, slack, webhook, email)", path)
	case ChannelSNS:
		if !validTopicARN(c.TopicARN) {
			if c.TopicARN == "" {
				return Errorf(EINVALID, "%s.topic_arn: required for sns channels", path)
			}
			return Errorf(EINVALID, "%s.topic_arn: %q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", path, c.TopicARN)
		}
	case ChannelSlack:
		switch {
		case c.WebhookURL == "" && c.WebhookURLEnv == "":
			return Errorf(EINVALID, "%s: slack channels need webhook_url_env (or webhook_url)", path)
		case c.WebhookURL != "" && c.WebhookURLEnv != "":
			return Errorf(EINVALID, "%s: give webhook_url or webhook_url_env, not both", path)
		case c.WebhookURL != "" && !httpURL(c.WebhookURL):
			return Errorf(EINVALID, "%s.webhook_url: %q is not an http(s) URL", path, c.WebhookURL)
		}
	case ChannelWebhook:
		if c.URL == "" {
			return Errorf(EINVALID, "%s.url: required for webhook channels", path)
		}
		if !httpURL(c.URL) {
			return Errorf(EINVALID, "%s.url: %q is not an http(s) URL", path, c.URL)
		}
	case ChannelEmail:
		if c.SMTPHost == "" {
			return Errorf(EINVALID, "%s.smtp_host: required for email channels", path)
		}
		if c.SMTPPort < 1 || c.SMTPPort > 65535 {
			return Errorf(EINVALID, "%s.smtp_port: must be 1-65535, got %d", path, c.SMTPPort)
		}
		if c.From == "" {
			return Errorf(EINVALID, "%s.from: required for email channels", path)
		}
		if _, err := mail.ParseAddress(c.From); err != nil {
			return Errorf(EINVALID, "%s.from: %q is not an e-mail address", path, c.From)
		}
		if len(c.To) == 0 && !c.MailOwners {
			return Errorf(EINVALID, "%s.to: required unless mail_owners is true", path)
		}
		for i, to := range c.To {
			if _, err := mail.ParseAddress(to); err != nil {
				return Errorf(EINVALID, "%s.to[%d]: %q is not an e-mail address", path, i, to)
			}
		}
		if (c.UsernameEnv == "") != (c.PasswordEnv == "") {
			return Errorf(EINVALID, "%s: give both username_env and password_env, or neither", path)
		}
	default:
		return Errorf(EINVALID, "%s.type: unknown channel type %q (want one of sns, slack, webhook, email)", path, c.Type)
	}
	return nil
}

// validTopicARN accepts arn:PARTITION:sns:REGION:ACCOUNT:NAME.
func validTopicARN(s string) bool {
	p := strings.Split(s, ":")
	return len(p) == 6 && p[0] == "arn" && p[1] != "" && p[2] == "sns" && p[3] != "" && validAccount(p[4]) && p[5] != ""
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
