package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

func TestNewChannel(t *testing.T) {
	tests := []struct {
		name    string
		ch      iamprune.Channel
		deps    ChannelDeps
		want    string // the Notifier's type, or "" for an error
		wantErr string
	}{
		{name: "slack", ch: iamprune.Channel{Name: "s", Type: "slack", WebhookURLEnv: "X"}, want: "*notify.Slack"},
		{name: "webhook", ch: iamprune.Channel{Name: "w", Type: "webhook", URL: "https://example.com/hook"}, want: "*notify.Webhook"},
		{name: "email", ch: iamprune.Channel{Name: "e", Type: "email", SMTPHost: "smtp.example.com", From: "a@example.com", To: []string{"b@example.com"}}, want: "*notify.Email"},
		{name: "email to owners only", ch: iamprune.Channel{Name: "e", Type: "email", SMTPHost: "smtp.example.com", From: "a@example.com", MailOwners: true}, want: "*notify.Email"},
		{name: "sns", ch: iamprune.Channel{Name: "n", Type: "sns", TopicARN: testTopic}, deps: ChannelDeps{SNS: &fakeSNS{}}, want: "*notify.SNS"},
		{name: "sns without client", ch: iamprune.Channel{Name: "n", Type: "sns", TopicARN: testTopic}, wantErr: "no SNS client"},
		{name: "no name", ch: iamprune.Channel{Type: "slack", WebhookURLEnv: "X"}, wantErr: "name is required"},
		{name: "unknown type", ch: iamprune.Channel{Name: "x", Type: "pager"}, wantErr: `unknown type "pager"`},
		{name: "sns without topic", ch: iamprune.Channel{Name: "n", Type: "sns"}, deps: ChannelDeps{SNS: &fakeSNS{}}, wantErr: "topic_arn is required"},
		{name: "slack without url", ch: iamprune.Channel{Name: "s", Type: "slack"}, wantErr: "webhook_url_env (or webhook_url) is required"},
		{name: "slack url not http", ch: iamprune.Channel{Name: "s", Type: "slack", WebhookURL: "hooks.slack.com/services/secret"}, wantErr: "webhook_url is not an http(s) URL"},
		{name: "webhook without url", ch: iamprune.Channel{Name: "w", Type: "webhook"}, wantErr: "url is required"},
		{name: "webhook ftp url", ch: iamprune.Channel{Name: "w", Type: "webhook", URL: "ftp://example.com/x"}, wantErr: "must be an http(s) URL"},
		{name: "email without host", ch: iamprune.Channel{Name: "e", Type: "email", From: "a@example.com", To: []string{"b@example.com"}}, wantErr: "smtp_host is required"},
		{name: "email without from", ch: iamprune.Channel{Name: "e", Type: "email", SMTPHost: "h", To: []string{"b@example.com"}}, wantErr: "from is required"},
		{name: "email without to", ch: iamprune.Channel{Name: "e", Type: "email", SMTPHost: "h", From: "a@example.com"}, wantErr: "to is required"},
		{name: "email half credentials", ch: iamprune.Channel{Name: "e", Type: "email", SMTPHost: "h", From: "a@example.com", To: []string{"b@example.com"}, UsernameEnv: "U"}, wantErr: "must be set together"},
		{name: "email bad port", ch: iamprune.Channel{Name: "e", Type: "email", SMTPHost: "h", SMTPPort: 70000, From: "a@example.com", To: []string{"b@example.com"}}, wantErr: "smtp_port 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := NewChannel(tt.ch, tt.deps)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || iamprune.ErrorCode(err) != iamprune.EINVALID {
					t.Fatalf("err = %v (code %q), want EINVALID containing %q", err, iamprune.ErrorCode(err), tt.wantErr)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("channel %q", tt.ch.Name)) || strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q must name the channel and not echo URLs", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", n); got != tt.want || n.Name() != tt.ch.Name {
				t.Errorf("got %s named %q, want %s named %q", got, n.Name(), tt.want, tt.ch.Name)
			}
		})
	}
}

func TestTemporary(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", base, true},
		{"permanent", &PermanentError{Err: base}, false},
		{"wrapped permanent", fmt.Errorf("send: %w", &PermanentError{Err: base}), false},
		{"cancelled", fmt.Errorf("send: %w", context.Canceled), false},
		{"deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), true},
		{"status 503", &StatusError{StatusCode: 503}, true},
	}
	for _, tt := range tests {
		if got := Temporary(tt.err); got != tt.want {
			t.Errorf("%s: Temporary(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
	p := &PermanentError{Err: base}
	if !errors.Is(p, base) || p.Error() != "boom" {
		t.Errorf("PermanentError does not wrap: %v", p)
	}
}
