package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/iamprune/iamprune"
)

// slackServer records the last payload and answers with status.
func slackServer(t *testing.T, status int, header map[string]string) (*httptest.Server, *slackMessage) {
	t.Helper()
	got := &slackMessage{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("got %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, got); err != nil {
			t.Errorf("payload is not JSON: %v", err)
		}
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		if status == http.StatusOK {
			io.WriteString(w, "ok")
		} else {
			io.WriteString(w, "invalid_payload")
		}
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func blockTypes(m *slackMessage) []string {
	var out []string
	for _, b := range m.Blocks {
		out = append(out, b.Type)
	}
	return out
}

func TestSlackSendPayload(t *testing.T) {
	srv, got := slackServer(t, http.StatusOK, nil)
	s := &Slack{
		Channel: iamprune.Channel{Name: "team-slack", Type: iamprune.ChannelSlack, WebhookURLEnv: "SLACK_URL"},
		Getenv:  env(map[string]string{"SLACK_URL": srv.URL + "/services/T0/B0/secret"}),
	}
	m := sampleMessage(t)
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	// header, run errors, one section per principal, context.
	want := []string{"header", "section", "section", "section", "context"}
	if g := blockTypes(got); strings.Join(g, ",") != strings.Join(want, ",") {
		t.Fatalf("blocks = %v, want %v", g, want)
	}
	if h := got.Blocks[0].Text; h.Type != "plain_text" || h.Text != m.Subject {
		t.Errorf("header = %+v", h)
	}
	if want := m.Subject + " (4 items for 2 principals)"; got.Text != want {
		t.Errorf("fallback text = %q, want %q", got.Text, want)
	}
	if e := got.Blocks[1].Text.Text; !strings.Contains(e, "Run errors") || !strings.Contains(e, "circuit breaker") {
		t.Errorf("errors section = %q", e)
	}
	alice := got.Blocks[2].Text
	for _, want := range []string{
		"*arn:aws:iam::111122223333:user/alice*", "(owner: team-a)",
		"*deactivate-access-key* `AKIAEXAMPLEALICE0001`", "unused 272 days", "remediate on *2026-12-12*",
		"access key unused for 272 days (limit 90)", "_first notice_", "*notify*", "remediate on *2027-01-14*",
	} {
		if alice.Type != "mrkdwn" || !strings.Contains(alice.Text, want) {
			t.Errorf("alice section lacks %q:\n%s", want, alice.Text)
		}
	}
	role := got.Blocks[3].Text.Text
	for _, want := range []string{
		"*arn:aws:iam::111122223333:role/etl-&lt;legacy&gt;*", // mrkdwn escaping
		"services: s3, ec2, dynamodb", "&amp; granted by AdminAccess",
		"*done: quarantine-role*", "undo: `iamprune rollback run-20261128-0600 --action 99ff00 --yes`",
	} {
		if !strings.Contains(role, want) {
			t.Errorf("role section lacks %q:\n%s", want, role)
		}
	}
	ctx := got.Blocks[4].Elements
	if len(ctx) != 2 {
		t.Fatalf("context elements = %+v", ctx)
	}
	// The next remediation skips the done item (2026-11-20).
	for _, want := range []string{"generated 2026-11-28 06:00 UTC", "next remediation *2026-12-05*", "account 111122223333"} {
		if !strings.Contains(ctx[0].Text, want) {
			t.Errorf("context %q lacks %q", ctx[0].Text, want)
		}
	}
	if want := "<https://example.com/iam/exceptions/new?team=a|Ask for an exception>"; !strings.Contains(ctx[1].Text, want) {
		t.Errorf("context %q lacks %q", ctx[1].Text, want)
	}
}

func TestSlackLimits(t *testing.T) {
	long := strings.Repeat("x", 120) + " reason"
	tests := []struct {
		name        string
		msg         iamprune.Message
		wantBlocks  int
		wantOmitted string // text of the last section, "" when nothing is cut
	}{
		{
			name:       "48 principals fill the message exactly",
			msg:        iamprune.Message{Subject: "s", Digest: bigDigest(48, 1, "r")},
			wantBlocks: 50,
		},
		{
			name:        "49 principals: the last two become a note",
			msg:         iamprune.Message{Subject: "s", Digest: bigDigest(49, 1, "r")},
			wantBlocks:  50,
			wantOmitted: "… and 2 more items (2 principals not shown): run `iamprune plan` for the full list.",
		},
		{
			name:        "60 principals",
			msg:         iamprune.Message{Subject: "s", Digest: bigDigest(60, 3, "r")},
			wantBlocks:  50,
			wantOmitted: "… and 39 more items (13 principals not shown): run `iamprune plan` for the full list.",
		},
		{
			// Each item renders to 256 chars: 11 fit a 3000-char section
			// after the principal's ARN.
			name:       "one principal with many items is split into sections",
			msg:        iamprune.Message{Subject: "s", Digest: bigDigest(1, 100, long)},
			wantBlocks: 2 + 10,
		},
		{
			// 47 sections of 11 items are shown.
			name:        "split sections past the block limit",
			msg:         iamprune.Message{Subject: "s", Digest: bigDigest(1, 1000, long)},
			wantBlocks:  50,
			wantOmitted: "… and 483 more items: run `iamprune plan` for the full list.",
		},
		{
			name:       "no digest: the text in sections",
			msg:        iamprune.Message{Subject: "test message", Text: strings.Repeat("line of text\n", 500)},
			wantBlocks: 1 + 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := slackPayload(tt.msg)
			if len(p.Blocks) != tt.wantBlocks {
				t.Fatalf("%d blocks, want %d: %v", len(p.Blocks), tt.wantBlocks, blockTypes(&p))
			}
			items := 0
			var sections []string
			for _, b := range p.Blocks {
				if b.Type == "section" {
					sections = append(sections, b.Text.Text)
					if n := utf8.RuneCountInString(b.Text.Text); n > slackMaxTextChars || n == 0 {
						t.Errorf("section of %d chars", n)
					}
					items += strings.Count(b.Text.Text, "• ")
				}
			}
			for i, s := range sections[1:] {
				head, _, ok := strings.Cut(sections[i], "*\n")
				if ok && strings.HasPrefix(s, head+"*") && !strings.HasPrefix(s, head+"* (continued)") {
					t.Errorf("section %d repeats a principal without (continued)", i+1)
				}
			}
			last := sections[len(sections)-1]
			if tt.wantOmitted != "" {
				if last != tt.wantOmitted {
					t.Errorf("last section = %q, want %q", last, tt.wantOmitted)
				}
				return
			}
			if strings.Contains(last, "more item") {
				t.Errorf("unexpected note %q", last)
			}
			if d := tt.msg.Digest; d != nil {
				want := 0
				for _, p := range d.Principals {
					want += len(p.Items)
				}
				if items != want {
					t.Errorf("%d items shown, want all %d", items, want)
				}
			}
		})
	}
}

func TestSlackHeaderTruncated(t *testing.T) {
	subject := strings.Repeat("é", 149) + "ab"
	p := slackPayload(iamprune.Message{Subject: subject, Digest: bigDigest(1, 1, "r")})
	h := p.Blocks[0].Text.Text
	if utf8.RuneCountInString(h) != slackMaxHeaderChars || !strings.HasSuffix(h, strings.Repeat("é", 149)+"…") {
		t.Errorf("header %q (%d chars)", h, utf8.RuneCountInString(h))
	}
	exact := strings.Repeat("a", 150)
	if h := slackPayload(iamprune.Message{Subject: exact}).Blocks[0].Text.Text; h != exact {
		t.Errorf("150-char subject changed to %q", h)
	}
}

func TestSlackServices(t *testing.T) {
	it := iamprune.DigestItem{Kind: iamprune.KindDenyUnusedServices}
	for i := range 25 {
		it.Services = append(it.Services, fmt.Sprintf("svc%02d", i))
	}
	got := slackItem(it)
	if !strings.Contains(got, "svc19 … and 5 more") || strings.Contains(got, "svc20") {
		t.Errorf("services line: %q", got)
	}
}

func TestSlackErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		want   string
	}{
		{"ok", 200, nil, ""},
		{"bad payload", 400, nil, "permanent"},
		{"archived channel", 410, nil, "permanent"},
		{"rate limited", 429, map[string]string{"Retry-After": "30"}, "temporary"},
		{"server error", 500, nil, "temporary"},
		{"redirect", 302, map[string]string{"Location": "/elsewhere"}, "permanent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := slackServer(t, tt.status, tt.header)
			s := &Slack{Channel: iamprune.Channel{Name: "s", WebhookURL: srv.URL + "/services/secret-token"}}
			err := s.Send(context.Background(), sampleMessage(t))
			wantErrClass(t, err, tt.want)
			if err != nil && strings.Contains(err.Error(), "secret-token") {
				t.Errorf("error leaks the webhook URL: %v", err)
			}
			if tt.status == 429 && RetryAfter(err).Seconds() != 30 {
				t.Errorf("RetryAfter = %v", RetryAfter(err))
			}
		})
	}
}

func TestSlackConfigErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name string
		ch   iamprune.Channel
		env  map[string]string
		want string
	}{
		{"env var empty", iamprune.Channel{Name: "s", WebhookURLEnv: "SLACK_URL"}, nil, "permanent"},
		{"no url", iamprune.Channel{Name: "s"}, nil, "permanent"},
		{"unreachable", iamprune.Channel{Name: "s", WebhookURLEnv: "U"}, map[string]string{"U": closed.URL + "/services/secret-token"}, "temporary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Slack{Channel: tt.ch, Getenv: env(tt.env)}
			err := s.Send(context.Background(), sampleMessage(t))
			wantErrClass(t, err, tt.want)
			if tt.want == "permanent" && iamprune.ErrorCode(err) != iamprune.EINVALID {
				t.Errorf("code = %q, want invalid: %v", iamprune.ErrorCode(err), err)
			}
			if strings.Contains(err.Error(), "secret-token") {
				t.Errorf("error leaks the webhook URL: %v", err)
			}
		})
	}
}
