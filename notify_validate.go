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
	names, err := n.validateChannels()
	if err != nil {
		return err
	}
	for i, t := range n.OwnerTags {
		if strings.TrimSpace(t) == "" {
			return Errorf(EINVALID, "notifications.owner_tags[%d]: empty tag key", i)
		}
	}
	if err := n.validateRoutes(names); err != nil {
		return err
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

// validateChannels checks each channel and returns their indexes by name.
func (n Notifications) validateChannels() (map[string]int, error) {
	names := map[string]int{}
	for i, c := range n.Channels {
		path := fmt.Sprintf("notifications.channels[%d]", i)
		if c.Name == "" {
			return nil, Errorf(EINVALID, "%s.name: required", path)
		}
		if first, dup := names[c.Name]; dup {
			return nil, Errorf(EINVALID, "%s.name: duplicate channel name %q (also channels[%d])", path, c.Name, first)
		}
		names[c.Name] = i
		if err := c.validate(path); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// validateRoutes checks the routes and the default against the channel
// names.
func (n Notifications) validateRoutes(names map[string]int) error {
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
	return nil
}

// validate checks the fields of one channel's type, placing the problem
// under path.
func (c Channel) validate(path string) error {
	field, msg := c.Problem()
	switch {
	case msg == "":
		return nil
	case field != "":
		return Errorf(EINVALID, "%s.%s: %s", path, field, msg)
	}
	return Errorf(EINVALID, "%s: %s", path, msg)
}

// Problem is the one check of a channel's fields, used by config loading
// and by the notify package alike: the first problem, as the field it is
// about ("" for the channel as a whole) and a message. URLs are never
// echoed: a Slack webhook URL is a credential. The name is checked by
// Notifications.Validate, with the other channels'.
func (c Channel) Problem() (field, msg string) {
	if c.Type == "" {
		return "type", "required (one of sns, slack, webhook, email)"
	}
	check, ok := channelChecks[c.Type]
	if !ok {
		return "type", fmt.Sprintf("unknown channel type %q (want one of sns, slack, webhook, email)", c.Type)
	}
	return check(c)
}

// channelChecks holds the field checks of each channel type.
var channelChecks = map[string]func(Channel) (field, msg string){
	ChannelSNS:     Channel.snsProblem,
	ChannelSlack:   Channel.slackProblem,
	ChannelWebhook: Channel.webhookProblem,
	ChannelEmail:   Channel.emailProblem,
}

func (c Channel) snsProblem() (field, msg string) {
	if c.TopicARN == "" {
		return "topic_arn", "required for sns channels"
	}
	if !validTopicARN(c.TopicARN) {
		return "topic_arn", fmt.Sprintf("%q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", c.TopicARN)
	}
	return "", ""
}

func (c Channel) slackProblem() (field, msg string) {
	switch {
	case c.WebhookURL == "" && c.WebhookURLEnv == "":
		return "", "slack channels need webhook_url_env (or webhook_url)"
	case c.WebhookURL != "" && c.WebhookURLEnv != "":
		return "", "give webhook_url or webhook_url_env, not both"
	case c.WebhookURL != "":
		if err := CheckEndpoint(c.WebhookURL); err != nil {
			return "webhook_url", err.Error()
		}
	}
	return "", ""
}

func (c Channel) webhookProblem() (field, msg string) {
	if c.URL == "" {
		return "url", "required for webhook channels"
	}
	if err := CheckEndpoint(c.URL); err != nil {
		return "url", err.Error()
	}
	return "", ""
}

func (c Channel) emailProblem() (field, msg string) {
	if c.SMTPHost == "" {
		return "smtp_host", "required for email channels"
	}
	if err := CheckHost(c.SMTPHost); err != nil {
		return "smtp_host", err.Error()
	}
	// 0 is the default port, 587.
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		return "smtp_port", fmt.Sprintf("must be 1-65535, got %d", c.SMTPPort)
	}
	if c.From == "" {
		return "from", "required for email channels"
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return "from", fmt.Sprintf("%q is not an e-mail address", c.From)
	}
	if len(c.To) == 0 && !c.MailOwners {
		return "to", "required unless mail_owners is true"
	}
	for i, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return fmt.Sprintf("to[%d]", i), fmt.Sprintf("%q is not an e-mail address", to)
		}
	}
	if (c.UsernameEnv == "") != (c.PasswordEnv == "") {
		return "", "give both username_env and password_env, or neither"
	}
	return "", ""
}

// validTopicARN accepts arn:PARTITION:sns:REGION:ACCOUNT:NAME.
func validTopicARN(s string) bool {
	a, ok := SplitARN(s)
	return ok && a.Partition != "" && a.Service == "sns" && a.Region != "" && validAccount(a.Account) &&
		a.Resource != "" && !strings.Contains(a.Resource, ":")
}
