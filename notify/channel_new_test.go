package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
		{name: "unknown type", ch: iamprune.Channel{Name: "x", Type: "pager"}, wantErr: `unknown channel type "pager"`},
		{name: "sns without topic", ch: iamprune.Channel{Name: "n", Type: "sns"}, deps: ChannelDeps{SNS: &fakeSNS{}}, wantErr: "topic_arn: required"},
		{name: "slack without url", ch: iamprune.Channel{Name: "s", Type: "slack"}, wantErr: "need webhook_url_env (or webhook_url)"},
		{name: "slack url not http", ch: iamprune.Channel{Name: "s", Type: "slack", WebhookURL: "hooks.slack.com/services/secret"}, wantErr: "webhook_url: is not an absolute https URL"},
		{name: "webhook without url", ch: iamprune.Channel{Name: "w", Type: "webhook"}, wantErr: "url: required"},
		{name: "webhook ftp url", ch: iamprune.Channel{Name: "w", Type: "webhook", URL: "ftp://example.com/x"}, wantErr: "url: is not an absolute https URL"},
		{name: "email without host", ch: iamprune.Channel{Name: "e", Type: "email", From: "a@example.com", To: []string{"b@example.com"}}, wantErr: "smtp_host: required"},
		{name: "email without from", ch: iamprune.Channel{Name: "e", Type: "email", SMTPHost: "h", To: []string{"b@example.com"}}, wantErr: "from: required"},
		{name: "email without to", ch: iamprune.Channel{Name: "e", Type: "email", SMTPHost: "h", From: "a@example.com"}, wantErr: "to: required unless mail_owners"},
		{name: "email half credentials", ch: iamprune.Channel{Name: "e", Type: "email", SMTPHost: "h", From: "a@example.com", To: []string{"b@example.com"}, UsernameEnv: "U"}, wantErr: "give both username_env and password_env"},
		// Endpoints: https, plain http only to the loopback, never a
		// link-local or instance-metadata address.
		{name: "webhook to loopback over http", ch: iamprune.Channel{Name: "w", Type: "webhook", URL: "http://127.0.0.1:8080/hook"}, want: "*notify.Webhook"},
		{name: "webhook to localhost over http", ch: iamprune.Channel{Name: "w", Type: "webhook", URL: "http://localhost/hook"}, want: "*notify.Webhook"},
		{name: "webhook over plain http", ch: iamprune.Channel{Name: "w", Type: "webhook", URL: "http://hooks.example.com/x"}, wantErr: "url: must be https"},
		{name: "webhook to metadata", ch: iamprune.Channel{Name: "w", Type: "webhook", URL: "https://169.254.169.254/latest/meta-data/"}, wantErr: "url: is a link-local or instance-metadata address"},
		{name: "webhook to IPv6 metadata", ch: iamprune.Channel{Name: "w", Type: "webhook", URL: "http://[fd00:ec2::254]/latest/"}, wantErr: "instance-metadata address"},
		{name: "webhook to link-local IPv6", ch: iamprune.Channel{Name: "w", Type: "webhook", URL: "https://[fe80::1]/x"}, wantErr: "link-local"},
		{name: "webhook to metadata name", ch: iamprune.Channel{Name: "w", Type: "webhook", URL: "https://metadata.google.internal/computeMetadata/v1/"}, wantErr: "instance-metadata service"},
		{name: "slack to metadata", ch: iamprune.Channel{Name: "s", Type: "slack", WebhookURL: "http://169.254.169.254/secret"}, wantErr: "webhook_url: is a link-local"},
		{name: "email to metadata", ch: iamprune.Channel{Name: "e", Type: "email", SMTPHost: "169.254.169.254", From: "a@example.com", To: []string{"b@example.com"}}, wantErr: "smtp_host: is a link-local"},
		{name: "email bad port", ch: iamprune.Channel{Name: "e", Type: "email", SMTPHost: "h", SMTPPort: 70000, From: "a@example.com", To: []string{"b@example.com"}}, wantErr: "smtp_port: must be 1-65535, got 70000"},
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

// A Slack URL from the environment is checked when resolved, by the rules
// a URL in the file gets: nothing is sent to a metadata address or over
// plain http to another host.
func TestSlackEnvURLChecked(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://hooks.example.com/services/T0/B0/x", "must be https"},
		{"file:///etc/passwd", "not an absolute https URL"},
	} {
		sent := 0
		client := &http.Client{Transport: endpointRoundTrip(func(*http.Request) (*http.Response, error) {
			sent++
			return nil, errors.New("no network in this test")
		})}
		ch := iamprune.Channel{Name: "chat", Type: iamprune.ChannelSlack, WebhookURLEnv: "SLACK_URL"}
		n, err := NewChannel(ch, ChannelDeps{HTTPClient: client, Getenv: func(string) string { return tt.url }})
		if err != nil {
			t.Fatal(err)
		}
		err = n.Send(context.Background(), iamprune.Message{Subject: "s", Text: "t"})
		if err == nil || iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "SLACK_URL") {
			t.Errorf("%s: %v, want EINVALID naming SLACK_URL and %q", tt.url, err, tt.want)
		}
		if strings.Contains(fmt.Sprint(err), tt.url) {
			t.Errorf("the error echoes the URL: %v", err)
		}
		if sent != 0 {
			t.Errorf("%s: %d requests sent", tt.url, sent)
		}
	}
}

type endpointRoundTrip func(*http.Request) (*http.Response, error)

func (f endpointRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
