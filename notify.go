package iamprune

import (
	"context"
	"time"
)

// Notifications is the `notifications:` block of the config.
type Notifications struct {
	Channels []Channel `json:"channels"`
	// OwnerTags are the principal tag keys read, in order, for its owner.
	OwnerTags []string `json:"owner_tags"`
	// Routes send the items of matching owners to channels; the first
	// matching route wins.
	Routes []Route `json:"routes"`
	// Default names the channels of everything no route matches, and of
	// errors and circuit-breaker stops.
	Default []string `json:"default"`
	// ExceptionRequestURL is where owners ask for an exception.
	ExceptionRequestURL string `json:"exception_request_url"`
	// RemindDaysBefore are the days before remediate_on on which owners are
	// reminded, besides the first notice.
	RemindDaysBefore []int `json:"remind_days_before"`
	// MinInterval: nothing unchanged is sent again within it.
	MinInterval time.Duration `json:"min_interval"`
	// RequirePriorNotice: a remediation happens only if its owner was
	// successfully notified of that item at least NoticeDays earlier.
	RequirePriorNotice bool `json:"require_prior_notice"`
	NoticeDays         int  `json:"notice_days"`
	// TemplatesDir, when set, holds templates overriding the built-in ones.
	TemplatesDir string `json:"templates_dir"`
}

// DefaultNotifications are the defaults of the `notifications:` block.
func DefaultNotifications() Notifications {
	return Notifications{
		OwnerTags:          []string{"owner", "team", "contact"},
		RemindDaysBefore:   []int{14, 3},
		MinInterval:        20 * time.Hour,
		RequirePriorNotice: true,
		NoticeDays:         7,
	}
}

// Channel types.
const (
	ChannelSNS     = "sns"
	ChannelSlack   = "slack"
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
)

// Channel is one configured destination. Secrets are never in the file:
// the *Env fields name environment variables.
type Channel struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// sns
	TopicARN string `json:"topic_arn,omitempty"`
	// slack (the incoming-webhook URL is a secret: WebhookURLEnv)
	WebhookURL    string `json:"webhook_url,omitempty"`
	WebhookURLEnv string `json:"webhook_url_env,omitempty"`
	// webhook
	URL       string `json:"url,omitempty"`
	SecretEnv string `json:"secret_env,omitempty"`
	// email
	SMTPHost    string   `json:"smtp_host,omitempty"`
	SMTPPort    int      `json:"smtp_port,omitempty"`
	From        string   `json:"from,omitempty"`
	To          []string `json:"to,omitempty"`
	UsernameEnv string   `json:"username_env,omitempty"`
	PasswordEnv string   `json:"password_env,omitempty"`
	// StartTLS is required unless explicitly disabled (local relays).
	StartTLS *bool `json:"starttls,omitempty"`
	// MailOwners lets the channel mail an owner-tag value that is an
	// e-mail address directly.
	MailOwners bool `json:"mail_owners,omitempty"`
}

// Route sends the items of owners matching a glob to channels.
type Route struct {
	Owner    string   `json:"owner"`
	Channels []string `json:"channels"`
}

// Notice statuses.
const (
	NoticeSent   = "sent"
	NoticeFailed = "failed"
)

// NoticeRecord is one notice of one item sent (or not) to one channel: the
// notification log that deduplicates reminders and proves prior notice.
type NoticeRecord struct {
	Account string `json:"account"`
	// ItemKey identifies the thing noticed across runs and kinds:
	// principal|finding type|target[|service] (see ItemKeys).
	ItemKey   string `json:"item_key"`
	ActionID  string `json:"action_id"`
	Principal string `json:"principal"`
	Owner     string `json:"owner"`
	Route     string `json:"route"`
	Channel   string `json:"channel"`
	// Fingerprint changes when what the notice says changes (kind,
	// remediate_on, services), so a changed item is sent again.
	Fingerprint string    `json:"fingerprint"`
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
	SentAt      time.Time `json:"sent_at"`
	RunID       string    `json:"run_id,omitempty"`
}

// Validate rejects a record that could never be found again or that would
// prove nothing: prior notice keys on account, item and status. Every
// notice log checks records with it before writing; the error is EINVALID.
func (n NoticeRecord) Validate() error {
	switch {
	case n.Account == "" || n.ItemKey == "":
		return Errorf(EINVALID, "notice needs an account and an item key (got %q, %q)", n.Account, n.ItemKey)
	case n.Status != NoticeSent && n.Status != NoticeFailed:
		return Errorf(EINVALID, "notice of %s has status %q, want %s or %s", n.ItemKey, n.Status, NoticeSent, NoticeFailed)
	case n.SentAt.IsZero():
		return Errorf(EINVALID, "notice of %s has no sent_at", n.ItemKey)
	}
	return nil
}

// NoticeFilter selects notification-log entries; zero fields match anything.
type NoticeFilter struct {
	Account string
	ItemKey string
	Status  string
	Since   time.Time
}

// NoticeLog is the part of the state store that records notices. Stores
// implement it beside Store.
type NoticeLog interface {
	RecordNotice(ctx context.Context, n NoticeRecord) error
	// FindNotices returns matching records, oldest first.
	FindNotices(ctx context.Context, f NoticeFilter) ([]NoticeRecord, error)
}

// ItemKeys returns the notice keys of an action: one per service for
// UnusedPermission entries, else one. Prior notice and reminders are
// tracked per key, so that a service noticed alone is not taken as notice
// of another.
func ItemKeys(a Action) []string {
	base := a.Principal + "|" + string(a.FindingType) + "|" + a.Target
	if a.FindingType != UnusedPermission || len(a.Services) == 0 {
		return []string{base}
	}
	keys := make([]string, len(a.Services))
	for i, s := range a.Services {
		keys[i] = base + "|" + s
	}
	return keys
}

// Digest is one message's worth of notices: every item of one route in one
// run, grouped by principal. Channels render it (text, HTML, Slack blocks,
// webhook JSON); its JSON form is the webhook body, a documented contract.
type Digest struct {
	Account     string    `json:"account"`
	GeneratedAt time.Time `json:"generated_at"`
	// Route names the route (its owner glob, or "default").
	Route string `json:"route"`
	// Owner is the owner the digest is for, when it is for one owner.
	Owner               string            `json:"owner,omitempty"`
	Principals          []DigestPrincipal `json:"principals"`
	ExceptionRequestURL string            `json:"exception_request_url,omitempty"`
	// Errors are run errors and circuit-breaker stops (default route only).
	Errors []string `json:"errors,omitempty"`
}

// DigestPrincipal is the items of one principal in a digest.
type DigestPrincipal struct {
	ARN   string       `json:"arn"`
	Owner string       `json:"owner,omitempty"`
	Items []DigestItem `json:"items"`
}

// DigestItem is one plan entry as its owner reads it.
type DigestItem struct {
	ActionID    string      `json:"action_id"`
	FindingType FindingType `json:"finding_type"`
	Kind        ActionKind  `json:"kind"`
	Target      string      `json:"target"`
	Services    []string    `json:"services"`
	UnusedDays  int         `json:"unused_days"`
	RemediateOn string      `json:"remediate_on"`
	Reason      string      `json:"reason"`
	// Notice says why it is sent now: "first notice", "reminder: 3 days
	// left", "changed", "done".
	Notice string `json:"notice"`
	// ExceptionYAML is a ready-to-paste exceptions.yaml entry.
	ExceptionYAML string `json:"exception_yaml,omitempty"`
	// Done is set for a change already made, with how to undo it.
	DoneRunID       string `json:"done_run_id,omitempty"`
	RollbackCommand string `json:"rollback_command,omitempty"`
}

// Message is a rendered digest.
type Message struct {
	Subject string
	Text    string
	HTML    string
	Digest  *Digest
	// To are extra e-mail recipients (owners mailed directly).
	To []string
}

// Notifier sends messages to one configured channel.
type Notifier interface {
	Name() string
	Send(ctx context.Context, m Message) error
}
