package notify

import (
	"slices"
	"testing"

	"github.com/iamprune/iamprune"
)

func TestDoneDigest(t *testing.T) {
	facts := demoFacts(t)
	n := routingConfig()
	key := keyAction("alice", "AKIAALICE1", iamprune.KindDeactivateAccessKey, "2026-11-01")
	role := permAction(arn("role", "LegacyBatchRole"), iamprune.KindDenyUnusedServices, "2026-11-02", "ec2", "s3")
	failed := keyAction("carol", "AKIACAROL1", iamprune.KindDeactivateAccessKey, "2026-11-01")
	plan := &iamprune.Plan{GeneratedAt: day("2026-11-28T00:00:00Z"), Account: acct, Actions: []iamprune.Action{key, role, failed}}
	res := &iamprune.RunResult{RunID: "20261128T000000Z-ab12", Results: []iamprune.ActionResult{
		{ActionID: key.ID, Principal: key.Principal, Kind: key.Kind, Target: key.Target, Status: iamprune.ResultDone},
		{ActionID: role.ID, Principal: role.Principal, Kind: role.Kind, Target: role.Target, Status: iamprune.ResultDone},
		{ActionID: failed.ID, Principal: failed.Principal, Kind: failed.Kind, Target: failed.Target, Status: iamprune.ResultFailed},
		{ActionID: "not-in-plan", Principal: arn("user", "bob"), Kind: iamprune.KindDeleteLoginProfile, Target: "bob", Status: iamprune.ResultDone, Detail: "login profile deleted"},
	}}
	ds := DoneDigest(res, plan, facts, n)
	if len(ds) != 2 || ds[0].Digest.Route != "PAY*" || ds[1].Digest.Route != DefaultRoute {
		t.Fatalf("want the payments route and the default route, got %+v", ds)
	}
	var items []iamprune.DigestItem
	for _, d := range ds {
		for _, p := range d.Digest.Principals {
			items = append(items, p.Items...)
		}
	}
	if len(items) != 3 {
		t.Fatalf("got %d done items, want 3 (the failed one is not done)", len(items))
	}
	for _, it := range items {
		if it.Notice != NoticeDone || it.DoneRunID != res.RunID || it.RollbackCommand != "iamprune rollback 20261128T000000Z-ab12 --action "+it.ActionID+" --yes" {
			t.Errorf("item %+v", it)
		}
	}
	// The done notices are logged with the fingerprint of what was done.
	fps := []string{}
	for _, nt := range ds[1].Notices {
		fps = append(fps, nt.Fingerprint)
	}
	if !slices.Contains(fps, "deny-unused-services|2026-11-02|ec2,s3") {
		t.Errorf("default route fingerprints %v", fps)
	}
	if DoneDigest(&iamprune.RunResult{RunID: "r"}, plan, facts, n) != nil {
		t.Error("a run without changes has a done digest")
	}
	if DoneDigest(nil, nil, facts, n) != nil {
		t.Error("a nil result has a done digest")
	}
}

func TestErrorDigest(t *testing.T) {
	n := routingConfig()
	if ErrorDigest(nil, n) != nil {
		t.Error("no errors, yet a delivery")
	}
	errs := []string{"refused: 30 remediations exceed limits.max_actions_per_run (25)"}
	d := ErrorDigest(errs, n)
	if d == nil || d.Digest.Route != DefaultRoute || !slices.Equal(d.Channels, n.Default) || !slices.Equal(d.Digest.Errors, errs) || len(d.Notices) != 0 {
		t.Fatalf("delivery %+v", d)
	}
	errs[0] = "changed"
	if d.Digest.Errors[0] == "changed" {
		t.Error("the digest shares the caller's slice")
	}
}
