package notify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// twoDeliveries routes three items (four item keys) to two routes: alice
// and WebAppRole (three keys) to payments, erin to the default route.
func twoDeliveries(t *testing.T) []Delivery {
	t.Helper()
	n := iamprune.DefaultNotifications()
	n.OwnerTags = []string{"team", "owner"}
	n.Channels = []iamprune.Channel{
		{Name: "slack", Type: iamprune.ChannelSlack, WebhookURLEnv: "X"},
		{Name: "mail", Type: iamprune.ChannelEmail, SMTPHost: "h", SMTPPort: 587, From: "i@example.com", MailOwners: true},
		{Name: "sns", Type: iamprune.ChannelSNS, TopicARN: "arn:aws:sns:us-east-1:111122223333:t"},
	}
	n.Routes = []iamprune.Route{{Owner: "payments", Channels: []string{"slack", "mail"}}}
	n.Default = []string{"sns"}
	plan := &iamprune.Plan{Account: acct, Actions: []iamprune.Action{
		keyAction("alice", "AKIAALICE1", iamprune.KindNotify, "2026-12-05"),
		permAction(arn("role", "WebAppRole"), iamprune.KindNotify, "2026-12-10", "s3", "sqs"),
		keyAction("erin", "AKIAERIN1", iamprune.KindNotify, "2026-12-09"),
	}}
	ds := Route(Select(plan, nil, n, day("2026-11-28T09:00:00Z")), demoFacts(t), n)
	if len(ds) != 2 {
		t.Fatalf("want 2 deliveries, got %d", len(ds))
	}
	return ds
}

func tempErr() error { return errors.New("connection reset") }

func TestSenderRetriesThenSucceeds(t *testing.T) {
	ds := twoDeliveries(t)
	slack := &fakeNotifier{name: "slack", fail: 2, err: tempErr()}
	mail := &fakeNotifier{name: "mail"}
	sns := &fakeNotifier{name: "sns"}
	log := &memLog{}
	var waits []int
	var events []string
	at := day("2026-11-28T09:05:00Z")
	s := &Sender{
		Notifiers: map[string]iamprune.Notifier{"slack": slack, "mail": mail, "sns": sns},
		Log:       log,
		Retries:   3,
		Backoff:   func(n int) time.Duration { waits = append(waits, n); return 0 },
		Now:       func() time.Time { return at },
		Audit: func(event string, f map[string]any) {
			events = append(events, event+" "+f["route"].(string)+"/"+f["channel"].(string))
		},
	}
	rep := s.Send(context.Background(), ds, "run-1")
	if rep.Failed() {
		t.Fatalf("report failed: %+v", rep)
	}
	want := []ChannelReport{
		{Route: "payments", Channel: "slack", Status: "sent", Attempts: 3, Items: 2},
		{Route: "payments", Channel: "mail", Status: "sent", Attempts: 1, Items: 2},
		{Route: DefaultRoute, Channel: "sns", Status: "sent", Attempts: 1, Items: 1},
	}
	if !slices.Equal(rep.Channels, want) {
		t.Errorf("report\n got %+v\nwant %+v", rep.Channels, want)
	}
	if !slices.Equal(waits, []int{1, 2}) {
		t.Errorf("backoff attempts %v, want [1 2]", waits)
	}
	if len(slack.got) != 1 || len(mail.got) != 1 || len(sns.got) != 1 {
		t.Fatalf("messages sent: slack %d, mail %d, sns %d", len(slack.got), len(mail.got), len(sns.got))
	}
	if !strings.HasPrefix(slack.got[0].Subject, "iamprune: 2 items for payments in 111122223333") || !strings.Contains(sns.got[0].Text, "AKIAERIN1") {
		t.Errorf("unexpected messages: %q / %q", slack.got[0].Subject, sns.got[0].Text)
	}
	// Only the mail_owners email channel mails owners directly.
	if slack.got[0].To != nil || !slices.Equal(mail.got[0].To, []string{"alice@example.com", "payments-team@example.com"}) {
		t.Errorf("To: slack %v, mail %v", slack.got[0].To, mail.got[0].To)
	}
	if !slices.Equal(events, []string{"notice-sent payments/slack", "notice-sent payments/mail", "notice-sent default/sns"}) {
		t.Errorf("audit events %v", events)
	}
	// One record per item key per channel: 3 keys x 2 channels + 1.
	if len(log.recs) != 7 {
		t.Fatalf("%d notice records, want 7", len(log.recs))
	}
	r := log.recs[0]
	if r.Status != "sent" || r.Channel != "slack" || r.Route != "payments" || r.Account != acct || r.RunID != "run-1" ||
		!r.SentAt.Equal(at) || r.Owner != "payments" || r.Fingerprint == "" || r.ActionID == "" || r.Principal == "" || r.Error != "" {
		t.Errorf("record %+v", r)
	}
	// The log now makes the same plan quiet.
	sent, _ := log.FindNotices(context.Background(), iamprune.NoticeFilter{Status: "sent"})
	plan := &iamprune.Plan{Actions: []iamprune.Action{keyAction("alice", "AKIAALICE1", iamprune.KindNotify, "2026-12-05")}}
	if again := Select(plan, sent, iamprune.DefaultNotifications(), at.Add(time.Hour)); len(again) != 0 {
		t.Errorf("selected again after sending: %+v", again)
	}
}

func TestSenderFailures(t *testing.T) {
	ds := twoDeliveries(t)
	slack := &fakeNotifier{name: "slack", fail: 99, err: &PermanentError{Err: errors.New("HTTP 400: invalid_payload")}}
	mail := &fakeNotifier{name: "mail", fail: 99, err: tempErr()}
	log := &memLog{}
	attempts := 0
	s := &Sender{
		Notifiers: map[string]iamprune.Notifier{"slack": slack, "mail": mail}, // sns is not configured
		Log:       log,
		Retries:   2,
		Backoff:   func(int) time.Duration { attempts++; return 0 },
	}
	rep := s.Send(context.Background(), ds, "run-2")
	if !rep.Failed() {
		t.Fatal("report does not show the failures")
	}
	got := map[string]ChannelReport{}
	for _, c := range rep.Channels {
		got[c.Channel] = c
	}
	if c := got["slack"]; c.Status != "failed" || c.Attempts != 1 || !strings.Contains(c.Error, "invalid_payload") {
		t.Errorf("permanent failure: %+v (want one attempt, no retry)", c)
	}
	if c := got["mail"]; c.Status != "failed" || c.Attempts != 3 || !strings.Contains(c.Error, "connection reset") {
		t.Errorf("temporary failure: %+v (want 1 + 2 retries)", c)
	}
	if c := got["sns"]; c.Status != "failed" || !strings.Contains(c.Error, `unknown channel "sns"`) {
		t.Errorf("unknown channel: %+v", c)
	}
	if attempts != 2 {
		t.Errorf("backed off %d times, want 2 (mail only)", attempts)
	}
	if len(log.recs) != 7 {
		t.Fatalf("%d records, want 7", len(log.recs))
	}
	for _, r := range log.recs {
		if r.Status != "failed" || r.Error == "" {
			t.Errorf("record %+v, want failed with the error", r)
		}
	}
	// Failed notices do not count: everything is selected again.
	plan := &iamprune.Plan{Actions: []iamprune.Action{keyAction("alice", "AKIAALICE1", iamprune.KindNotify, "2026-12-05")}}
	if again := Select(plan, log.recs, iamprune.DefaultNotifications(), day("2026-11-28T10:00:00Z")); len(again) != 1 || again[0].Notice != NoticeFirst {
		t.Errorf("after failures, selected %+v, want a first notice", again)
	}
}

func TestSenderOneChannelFailsOthersSent(t *testing.T) {
	ds := twoDeliveries(t)
	slack := &fakeNotifier{name: "slack", fail: 99, err: &PermanentError{Err: errors.New("gone")}}
	mail := &fakeNotifier{name: "mail"}
	sns := &fakeNotifier{name: "sns"}
	log := &memLog{}
	s := &Sender{Notifiers: map[string]iamprune.Notifier{"slack": slack, "mail": mail, "sns": sns}, Log: log, Retries: 3, Backoff: func(int) time.Duration { return 0 }}
	s.Send(context.Background(), ds, "run-3")
	if len(mail.got) != 1 || len(sns.got) != 1 {
		t.Errorf("a failed channel stopped others: mail %d, sns %d", len(mail.got), len(sns.got))
	}
	status := map[string]int{}
	for _, r := range log.recs {
		status[r.Channel+" "+r.Status]++
	}
	if want := map[string]int{"slack failed": 3, "mail sent": 3, "sns sent": 1}; !mapsEqual(status, want) {
		t.Errorf("records %v, want %v", status, want)
	}
}

func TestSenderEdgeCases(t *testing.T) {
	ds := twoDeliveries(t)
	t.Run("broken template fails every channel", func(t *testing.T) {
		log := &memLog{}
		n := &fakeNotifier{name: "sns"}
		s := &Sender{Notifiers: map[string]iamprune.Notifier{"sns": n}, Log: log, TemplatesDir: "testdata/templates-broken"}
		rep := s.Send(context.Background(), ds[1:], "r")
		if len(rep.Channels) != 1 || rep.Channels[0].Status != "failed" || !strings.Contains(rep.Channels[0].Error, "digest.txt.tmpl") || n.n != 0 {
			t.Errorf("report %+v, sends %d", rep, n.n)
		}
		if len(log.recs) != 1 || log.recs[0].Status != "failed" {
			t.Errorf("records %+v", log.recs)
		}
	})
	t.Run("route without channels", func(t *testing.T) {
		d := ds[1]
		d.Channels = nil
		log := &memLog{}
		rep := (&Sender{Log: log}).Send(context.Background(), []Delivery{d}, "r")
		if len(rep.Channels) != 1 || rep.Channels[0].Status != "failed" || !strings.Contains(rep.Channels[0].Error, "no channel") || len(log.recs) != 0 {
			t.Errorf("report %+v, records %d", rep, len(log.recs))
		}
	})
	t.Run("log write failure is reported", func(t *testing.T) {
		log := &memLog{err: errors.New("database is locked")}
		s := &Sender{Notifiers: map[string]iamprune.Notifier{"sns": &fakeNotifier{name: "sns"}}, Log: log}
		rep := s.Send(context.Background(), ds[1:], "r")
		if len(rep.LogErrors) != 1 || !strings.Contains(rep.LogErrors[0], "database is locked") || !rep.Failed() {
			t.Errorf("report %+v", rep)
		}
	})
	t.Run("cancelled run stops backing off", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		n := &fakeNotifier{name: "sns", fail: 99, err: tempErr()}
		s := &Sender{Notifiers: map[string]iamprune.Notifier{"sns": n}, Retries: 5, Backoff: func(int) time.Duration { cancel(); return time.Hour }}
		done := make(chan Report)
		go func() { done <- s.Send(ctx, ds[1:], "r") }()
		select {
		case rep := <-done:
			if rep.Channels[0].Status != "failed" || rep.Channels[0].Attempts != 1 {
				t.Errorf("report %+v", rep)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Send kept waiting after the context was cancelled")
		}
	})
	t.Run("error digest", func(t *testing.T) {
		n := &fakeNotifier{name: "sns"}
		d := ErrorDigest([]string{"refused: 40 changes exceed limits.max_actions_per_run (25)"}, iamprune.Notifications{Default: []string{"sns"}})
		at := day("2026-11-28T09:00:00Z")
		rep := (&Sender{Notifiers: map[string]iamprune.Notifier{"sns": n}, Now: func() time.Time { return at }}).Send(context.Background(), []Delivery{*d}, "r")
		if rep.Failed() || len(n.got) != 1 || !strings.Contains(n.got[0].Text, "max_actions_per_run") || !n.got[0].Digest.GeneratedAt.Equal(at) {
			t.Errorf("report %+v, got %+v", rep, n.got)
		}
	})
}

func TestDefaultBackoff(t *testing.T) {
	ceil := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, c := range ceil {
		if got := BackoffCeiling(i + 1); got != c {
			t.Errorf("BackoffCeiling(%d) = %v, want %v", i+1, got, c)
		}
		// Full jitter: anywhere from 0 to the ceiling, not always the same.
		seen := map[time.Duration]bool{}
		for range 50 {
			d := DefaultBackoff(i + 1)
			if d < 0 || d > c {
				t.Fatalf("DefaultBackoff(%d) = %v, outside [0, %v]", i+1, d, c)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("DefaultBackoff(%d) has no jitter: %v", i+1, seen)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
