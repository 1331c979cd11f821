package decide

import (
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func inactive(id string, created int, lastUsed *time.Time) iamprune.AccessKey {
	return iamprune.AccessKey{ID: id, Status: "Inactive", CreateDate: *ago(created), LastUsed: lastUsed}
}

func ref(run string, daysAgo int) iamprune.DoneRef {
	return iamprune.DoneRef{RunID: run, At: *ago(daysAgo)}
}

// The state store shapes the plan: what iamprune did shows as done, and
// only keys it deactivated itself are deleted, after the grace period and
// only if unused since.
func TestStateShapesPlan(t *testing.T) {
	deleteRule := setRule(iamprune.UnusedIAMUserAccessKey, iamprune.Rule{NotifyAfterDays: 30, RemediateAfterDays: 90, Action: iamprune.KindDeleteAccessKey})
	alice := func(k iamprune.AccessKey) *iamprune.Principal { return withKeys(user("alice"), k) }
	runCases(t, []planCase{
		{
			name:        "key deactivated by iamprune shows as done",
			principals:  []*iamprune.Principal{alice(inactive("AKIAALICE1", 400, ago(272)))},
			findings:    []iamprune.Finding{keyFinding("f1", alice(key("AKIAALICE1", 400)), used("AKIAALICE1", ago(272)))},
			deactivated: map[string]iamprune.DoneRef{"AKIAALICE1": ref("run-1", 10)},
			want:        []string{"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90); already deactivated by run run-1 on 2026-11-18"},
		},
		{
			name:        "delete after the grace period when unused since",
			principals:  []*iamprune.Principal{alice(inactive("AKIAALICE1", 400, ago(272)))},
			findings:    []iamprune.Finding{keyFinding("f1", alice(key("AKIAALICE1", 400)), used("AKIAALICE1", ago(272)))},
			config:      deleteRule,
			deactivated: map[string]iamprune.DoneRef{"AKIAALICE1": ref("run-1", 30)},
			want:        []string{"delete-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | deactivated by iamprune on 2026-10-29 (run run-1) and unused since; delete after 30 days"},
		},
		{
			name:        "within the grace period: done, with the deletion date",
			principals:  []*iamprune.Principal{alice(inactive("AKIAALICE1", 400, ago(272)))},
			findings:    []iamprune.Finding{keyFinding("f1", alice(key("AKIAALICE1", 400)), used("AKIAALICE1", ago(272)))},
			config:      deleteRule,
			deactivated: map[string]iamprune.DoneRef{"AKIAALICE1": ref("run-1", 29)},
			want:        []string{"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90); already deactivated by run run-1 on 2026-10-30; will be deleted on 2026-11-29"},
		},
		{
			name:       "a key inactive but not deactivated by iamprune is never deleted",
			principals: []*iamprune.Principal{alice(inactive("AKIAALICE1", 400, ago(272)))},
			findings:   []iamprune.Finding{keyFinding("f1", alice(key("AKIAALICE1", 400)), used("AKIAALICE1", ago(272)))},
			config:     deleteRule,
			want:       []string{"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90); deleted 30 days after iamprune deactivates it; already Inactive (not by iamprune): iamprune will never delete it"},
		},
		{
			name:        "a key reactivated by a person is deactivated again, not deleted",
			principals:  []*iamprune.Principal{alice(key("AKIAALICE1", 400))},
			findings:    []iamprune.Finding{keyFinding("f1", alice(key("AKIAALICE1", 400)), used("AKIAALICE1", ago(272)))},
			config:      deleteRule,
			deactivated: map[string]iamprune.DoneRef{"AKIAALICE1": ref("run-1", 60)},
			want:        []string{"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90); deleted 30 days after iamprune deactivates it"},
		},
		{
			name:        "no deletion without delete_after_days",
			principals:  []*iamprune.Principal{alice(inactive("AKIAALICE1", 400, ago(272)))},
			findings:    []iamprune.Finding{keyFinding("f1", alice(key("AKIAALICE1", 400)), used("AKIAALICE1", ago(272)))},
			deactivated: map[string]iamprune.DoneRef{"AKIAALICE1": ref("run-1", 300)},
			want:        []string{"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90); already deactivated by run run-1 on 2026-02-01"},
		},
	})
}

func TestDoneLoginProfileShowsDone(t *testing.T) {
	bob := user("bob") // its login profile is gone
	f := finding("f2", iamprune.UnusedIAMUserPassword, bob)
	f.LastAccessed = ago(200)
	probe := planCase{principals: []*iamprune.Principal{withPassword(user("bob"), 300, nil)}, findings: []iamprune.Finding{f},
		want: []string{"delete-login-profile bob UnusedIAMUserPassword days=200 on=2026-08-10 | console password unused for 200 days (limit 90)"}}
	id := probe.run(t).Actions[0].ID

	c := planCase{principals: []*iamprune.Principal{bob}, findings: []iamprune.Finding{f},
		done: map[string]iamprune.DoneRef{id: ref("run-7", 3)},
		want: []string{"delete-login-profile bob UnusedIAMUserPassword days=0 on= | done by run run-7 on 2026-11-25"}}
	p := c.run(t)
	if a := p.Actions[0]; a.ID != id || a.Done == nil || a.Done.RunID != "run-7" {
		t.Errorf("done entry = %+v, want id %s done by run-7", a, id)
	}
	// Without the journal, the same facts are a skip.
	c.done, c.want = nil, []string{"skip bob UnusedIAMUserPassword days=0 on= | login profile no longer exists"}
	c.run(t)
}

func TestBasisRecordsWhatTheDecisionSaw(t *testing.T) {
	updated := now.Add(-48 * time.Hour)
	f := keyFinding("f1", user("alice"), used("AKIAALICE1", ago(272)))
	f.UpdatedAt = updated
	p := planCase{principals: []*iamprune.Principal{withKeys(user("alice"), key("AKIAALICE1", 400))}, findings: []iamprune.Finding{f},
		want: []string{"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90)"}}.run(t)
	b := p.Actions[0].Basis
	if b == nil || b.FindingUpdatedAt == nil || !b.FindingUpdatedAt.Equal(updated) || b.KeyStatus != "Active" || b.LastUsed == nil || !b.LastUsed.Equal(*ago(272)) {
		t.Errorf("basis = %+v", b)
	}
}
