package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// The organisation digest lists every change done across the sweep's
// accounts with its rollback command (rollbacks and other statuses left
// out), names the parts that needed more than one attempt, goes to the
// default route, and is nil with nothing to tell or no default route.
func TestSweepDigest(t *testing.T) {
	at := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	sw := iamprune.Sweep{ID: "sweep-1", Expected: 2, Done: 2, FinishedAt: &at}
	parts := []iamprune.SweepPart{
		{SweepID: "sweep-1", Account: "444455556666", Page: 1, Status: iamprune.SweepDone, RunID: "run-a", Changes: 1, Attempts: 1},
		{SweepID: "sweep-1", Account: "555566667777", Page: 1, Status: iamprune.SweepDone, RunID: "run-b", Changes: 1, Attempts: 3},
	}
	recs := []iamprune.ActionRecord{
		{RunID: "run-a", ActionID: "a1", Account: "444455556666", Principal: "arn:aws:iam::444455556666:user/ci-bot", FindingType: iamprune.UnusedIAMUserAccessKey, Kind: iamprune.KindDeactivateAccessKey, Target: "AKIA1", Status: iamprune.ResultDone},
		{RunID: "run-b", ActionID: "b1", Account: "555566667777", Principal: "arn:aws:iam::555566667777:role/etl", FindingType: iamprune.UnusedIAMRole, Kind: iamprune.KindQuarantineRole, Target: "etl", Status: iamprune.ResultDone},
		{RunID: "run-b", ActionID: "b2", Account: "555566667777", Principal: "arn:aws:iam::555566667777:role/etl", Kind: iamprune.KindQuarantineRole, Target: "x", Status: iamprune.ResultAlreadyDone},
		{RunID: "run-c", ActionID: "c1", Account: "555566667777", Principal: "arn:aws:iam::555566667777:role/etl", Kind: iamprune.KindQuarantineRole, Target: "etl", Status: iamprune.ResultDone, RollbackOf: "run-b/b1"},
	}
	n := iamprune.DefaultNotifications()
	n.Channels = []iamprune.Channel{{Name: "hook", Type: iamprune.ChannelWebhook, URL: "https://example.com/h"}}
	n.Default = []string{"hook"}
	d := SweepDigest(sw, parts, recs, "111122223333", n)
	if d == nil {
		t.Fatal("no digest")
	}
	if d.Digest.Route != DefaultRoute || len(d.Channels) != 1 || d.Channels[0] != "hook" || d.Digest.Account != "111122223333" || !d.Digest.GeneratedAt.Equal(at) {
		t.Errorf("delivery %+v", d)
	}
	var items []string
	for _, p := range d.Digest.Principals {
		for _, it := range p.Items {
			items = append(items, it.Target+" "+it.RollbackCommand)
		}
	}
	if strings.Join(items, "|") != "AKIA1 iamprune rollback run-a --action a1 --yes|etl iamprune rollback run-b --action b1 --yes" {
		t.Errorf("items %q", items)
	}
	if len(d.Digest.Errors) != 1 || !strings.Contains(d.Digest.Errors[0], "555566667777 page 1: 3 attempt(s)") {
		t.Errorf("errors %q", d.Digest.Errors)
	}
	parts[1].Attempts = 1
	if d := SweepDigest(sw, parts, recs[2:3], "111122223333", n); d != nil {
		t.Errorf("nothing to tell, but %+v", d)
	}
	n.Default = nil
	if d := SweepDigest(sw, parts, recs, "111122223333", n); d != nil {
		t.Errorf("no default route, but %+v", d)
	}
}
