package notify

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func routingConfig() iamprune.Notifications {
	n := iamprune.DefaultNotifications()
	n.OwnerTags = []string{"team", "owner"}
	n.Channels = []iamprune.Channel{
		{Name: "pay-slack", Type: iamprune.ChannelSlack, WebhookURLEnv: "X"},
		{Name: "pay-mail", Type: iamprune.ChannelEmail, SMTPHost: "smtp", SMTPPort: 587, From: "i@example.com", MailOwners: true},
		{Name: "plat-mail", Type: iamprune.ChannelEmail, SMTPHost: "smtp", SMTPPort: 587, From: "i@example.com", To: []string{"platform@example.com"}},
		{Name: "sec-sns", Type: iamprune.ChannelSNS, TopicARN: "arn:aws:sns:us-east-1:111122223333:sec"},
	}
	n.Routes = []iamprune.Route{
		{Owner: "PAY*", Channels: []string{"pay-slack", "pay-mail"}}, // owner globs ignore case
		{Owner: "platform", Channels: []string{"plat-mail"}},
		{Owner: "payments", Channels: []string{"sec-sns"}}, // never reached: the first match wins
	}
	n.Default = []string{"sec-sns"}
	n.ExceptionRequestURL = "https://wiki.example.com/exceptions"
	return n
}

func TestRouteByOwnerTags(t *testing.T) {
	facts := demoFacts(t)
	n := routingConfig()
	now := day("2026-11-28T09:00:00Z")
	actions := []iamprune.Action{
		keyAction("bob", "AKIABOB2", iamprune.KindNotify, "2026-12-20"),
		keyAction("alice", "AKIAALICE1", iamprune.KindNotify, "2026-12-05"),
		keyAction("bob", "AKIABOB1", iamprune.KindDeactivateAccessKey, "2026-11-01"),
		permAction(arn("role", "WebAppRole"), iamprune.KindNotify, "2026-12-10", "s3", "sqs"),
		keyAction("carol", "AKIACAROL1", iamprune.KindNotify, "2026-12-07"),
		keyAction("erin", "AKIAERIN1", iamprune.KindNotify, "2026-12-09"),                    // team data: no route
		keyAction("ghost", "AKIAGHOST1", iamprune.KindNotify, "2026-12-09"),                  // not in the facts: no owner
		permAction(arn("role", "BreakGlassAdmin"), iamprune.KindNotify, "2026-12-31", "iam"), // team security: no route
	}
	var pending []Pending
	for _, a := range actions {
		pending = append(pending, Pending{Action: a, Keys: iamprune.ItemKeys(a), Notice: NoticeFirst, Fingerprint: Fingerprint(a), At: now})
	}
	ds := Route(pending, facts, n)

	type principal struct {
		arn, owner string
		targets    []string
	}
	want := []struct {
		route, owner string
		channels     []string
		principals   []principal
		to           map[string][]string
		keys         int
	}{
		{"PAY*", "payments", []string{"pay-slack", "pay-mail"}, []principal{
			{arn("role", "WebAppRole"), "payments", []string{"WebAppRole"}},
			{arn("user", "alice"), "payments", []string{"AKIAALICE1"}},
			{arn("user", "bob"), "payments", []string{"AKIABOB1", "AKIABOB2"}},
		}, map[string][]string{"pay-mail": {"alice@example.com", "bob@example.com", "payments-team@example.com"}}, 5},
		{"platform", "platform", []string{"plat-mail"}, []principal{
			{arn("user", "carol"), "platform", []string{"AKIACAROL1"}},
		}, nil, 1}, // plat-mail does not mail owners
		{DefaultRoute, "", []string{"sec-sns"}, []principal{
			{arn("role", "BreakGlassAdmin"), "security", []string{"BreakGlassAdmin"}},
			{arn("user", "erin"), "data", []string{"AKIAERIN1"}},
			{arn("user", "ghost"), "", []string{"AKIAGHOST1"}},
		}, nil, 3},
	}
	if len(ds) != len(want) {
		t.Fatalf("got %d deliveries, want one per route used (%d): %+v", len(ds), len(want), ds)
	}
	for i, w := range want {
		d := ds[i]
		if d.Digest.Route != w.route || d.Digest.Owner != w.owner || !slices.Equal(d.Channels, w.channels) {
			t.Errorf("delivery %d: route %q owner %q channels %v, want %q %q %v", i, d.Digest.Route, d.Digest.Owner, d.Channels, w.route, w.owner, w.channels)
		}
		if d.Digest.Account != acct || !d.Digest.GeneratedAt.Equal(now) || d.Digest.ExceptionRequestURL != n.ExceptionRequestURL {
			t.Errorf("delivery %d: account %q generated %v url %q", i, d.Digest.Account, d.Digest.GeneratedAt, d.Digest.ExceptionRequestURL)
		}
		var got []principal
		for _, p := range d.Digest.Principals {
			gp := principal{arn: p.ARN, owner: p.Owner}
			for _, it := range p.Items {
				gp.targets = append(gp.targets, it.Target)
			}
			got = append(got, gp)
		}
		if !reflect.DeepEqual(got, w.principals) {
			t.Errorf("delivery %d principals:\n got %v\nwant %v", i, got, w.principals)
		}
		if !reflect.DeepEqual(d.To, w.to) {
			t.Errorf("delivery %d To = %v, want %v", i, d.To, w.to)
		}
		if len(d.Notices) != w.keys {
			t.Errorf("delivery %d has %d notices, want %d (one per item key)", i, len(d.Notices), w.keys)
		}
	}
	// The log entries carry what Select needs next time.
	for _, nt := range ds[0].Notices {
		if nt.Principal == arn("role", "WebAppRole") {
			if nt.Owner != "payments" || nt.Fingerprint != "notify|2026-12-10|s3,sqs" || nt.ActionID == "" {
				t.Errorf("notice %+v", nt)
			}
			if nt.ItemKey != arn("role", "WebAppRole")+"|UnusedPermission|WebAppRole|s3" && nt.ItemKey != arn("role", "WebAppRole")+"|UnusedPermission|WebAppRole|sqs" {
				t.Errorf("unexpected item key %q", nt.ItemKey)
			}
		}
	}
	// Items carry the exception entry and no rollback (nothing was done).
	it := ds[1].Digest.Principals[0].Items[0]
	if it.ExceptionYAML == "" || it.RollbackCommand != "" || it.Notice != NoticeFirst || it.RemediateOn != "2026-12-07" {
		t.Errorf("item %+v", it)
	}
}

func TestRouteWithoutRoutes(t *testing.T) {
	facts := demoFacts(t)
	n := iamprune.DefaultNotifications()
	n.Default = []string{"all"}
	a := keyAction("alice", "AKIAALICE1", iamprune.KindNotify, "2026-12-05")
	b := keyAction("frank", "AKIAFRANK1", iamprune.KindNotify, "2026-12-05")
	ds := Route([]Pending{
		{Action: a, Keys: iamprune.ItemKeys(a), At: time.Now()},
		{Action: b, Keys: iamprune.ItemKeys(b), At: time.Now()},
	}, facts, n)
	if len(ds) != 1 || ds[0].Digest.Route != DefaultRoute || len(ds[0].Digest.Principals) != 2 || ds[0].Digest.Owner != "" {
		t.Fatalf("want one default digest with two owners, got %+v", ds)
	}
	if got := Route(nil, facts, n); got != nil {
		t.Errorf("Route(nil) = %v, want nothing", got)
	}
}
