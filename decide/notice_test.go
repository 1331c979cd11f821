package decide

import (
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// requireNotice turns prior notice back on (config() turns it off).
func requireNotice(days int) func(*iamprune.Config) {
	return func(c *iamprune.Config) {
		c.Notifications.RequirePriorNotice = true
		c.Notifications.NoticeDays = days
	}
}

func keyItem(p *iamprune.Principal, id string) string {
	return p.ARN + "|UnusedIAMUserAccessKey|" + id
}

func svcItem(p *iamprune.Principal, service string) string {
	return p.ARN + "|UnusedPermission|" + p.Name + "|" + service
}

func TestPriorNotice(t *testing.T) {
	alice := withKeys(user("alice"), key("AKIAALICE1", 400), key("AKIAALICE2", 400))
	keys := keyFinding("k1", alice, used("AKIAALICE1", ago(272)))
	app := role("/", "app")
	perm := permFinding("p1", app, svc("ec2", ago(200)), svc("s3", ago(130)), svc("sqs", nil), svc("sns", ago(100)))
	carol := withPassword(user("carol"), 300, nil)
	pw := finding("pw1", iamprune.UnusedIAMUserPassword, carol)
	pw.LastAccessed = ago(100)
	roleF := finding("r1", iamprune.UnusedIAMRole, app)
	roleF.LastAccessed = ago(130)
	plus := func(d time.Duration) time.Time { return now.Add(d) }
	at := func(n iamprune.NoticeRecord, t time.Time) iamprune.NoticeRecord { n.SentAt = t; return n }

	const deactivate = "deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90)"
	notifyKey := func(on, clause string) string {
		return "notify AKIAALICE1 UnusedIAMUserAccessKey days=272 on=" + on + " | access key unused for 272 days (limit 90); " + clause
	}
	const never = "owner not yet notified (prior notice required, 7 days)"
	runCases(t, []planCase{
		{
			name:       "day 0, never notified: notify, remediation a notice period from now",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys}, config: requireNotice(7),
			want: []string{notifyKey(on(7), never)},
		},
		{
			name:       "notified 3 days ago: notify, remediation 7 days after that notice",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys}, config: requireNotice(7),
			notices: []iamprune.NoticeRecord{sent(keyItem(alice, "AKIAALICE1"), 3)},
			want:    []string{notifyKey(on(4), "owner notified on 2026-11-25; remediation from "+on(4)+" (prior notice, 7 days)")},
		},
		{
			name:       "notified exactly 7 days ago: remediation",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys}, config: requireNotice(7),
			notices: []iamprune.NoticeRecord{sent(keyItem(alice, "AKIAALICE1"), 7)},
			want:    []string{deactivate},
		},
		{
			name:       "a second short of 7 days: not yet",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys}, config: requireNotice(7),
			notices: []iamprune.NoticeRecord{at(sent(keyItem(alice, "AKIAALICE1"), 0), plus(-7*day+time.Second))},
			want:    []string{notifyKey(on(0), "owner notified on 2026-11-21; remediation from "+on(0)+" (prior notice, 7 days)")},
		},
		{
			name:       "the first notice counts, not the latest reminder",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys}, config: requireNotice(7),
			notices: []iamprune.NoticeRecord{sent(keyItem(alice, "AKIAALICE1"), 1), sent(keyItem(alice, "AKIAALICE1"), 14)},
			want:    []string{deactivate},
		},
		{
			name:       "a failed notice does not count",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys}, config: requireNotice(7),
			notices: []iamprune.NoticeRecord{failed(keyItem(alice, "AKIAALICE1"), 30)},
			want:    []string{notifyKey(on(7), never)},
		},
		{
			name:       "a failed channel, then a sent retry: counted from the retry",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys}, config: requireNotice(7),
			notices: []iamprune.NoticeRecord{failed(keyItem(alice, "AKIAALICE1"), 30), sent(keyItem(alice, "AKIAALICE1"), 2)},
			want:    []string{notifyKey(on(5), "owner notified on 2026-11-26; remediation from "+on(5)+" (prior notice, 7 days)")},
		},
		{
			name:       "a notice of the user's other key does not count",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys}, config: requireNotice(7),
			notices: []iamprune.NoticeRecord{sent(keyItem(alice, "AKIAALICE2"), 30), sent(alice.ARN+"|UnusedIAMUserPassword|alice", 30)},
			want:    []string{notifyKey(on(7), never)},
		},
		{
			name:       "a notice before the key's last use was about another stretch of disuse",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys}, config: requireNotice(7),
			notices: []iamprune.NoticeRecord{sent(keyItem(alice, "AKIAALICE1"), 300)},
			want:    []string{notifyKey(on(7), never)},
		},
		{
			name:       "a notice dated after now has not happened yet",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys}, config: requireNotice(7),
			notices: []iamprune.NoticeRecord{sent(keyItem(alice, "AKIAALICE1"), -1)},
			want:    []string{notifyKey(on(7), never)},
		},
		{
			name:       "notice_days is configurable",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys}, config: requireNotice(14),
			notices: []iamprune.NoticeRecord{sent(keyItem(alice, "AKIAALICE1"), 10)},
			want:    []string{notifyKey(on(4), "owner notified on 2026-11-18; remediation from "+on(4)+" (prior notice, 14 days)")},
		},
		{
			name:       "require_prior_notice false: remediation without notice",
			principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{keys},
			want: []string{deactivate},
		},
		{
			name:       "UnusedPermission: noticed services denied, the others join the notice",
			principals: []*iamprune.Principal{app}, findings: []iamprune.Finding{perm}, config: requireNotice(7),
			notices: []iamprune.NoticeRecord{sent(svcItem(app, "ec2"), 10), sent(svcItem(app, "s3"), 2)},
			want: []string{
				"deny-unused-services app UnusedPermission [ec2] days=200 on=" + on(-80) + " | 1 service unused for 200 days (limit 120): ec2",
				"notify app UnusedPermission [s3 sns sqs] days=400 on=" + on(5) + " | will deny-unused-services on " + on(5) +
					" (unused up to 400 days, notify after 30): s3, sns, sqs; owner not yet notified of sqs (prior notice required, 7 days);" +
					" owner notified of s3 on 2026-11-26; remediation from " + on(5) + " (prior notice, 7 days)",
			},
		},
		{
			name:       "UnusedPermission: a notice of another service of the same principal does not count",
			principals: []*iamprune.Principal{app}, findings: []iamprune.Finding{permFinding("p1", app, svc("ec2", ago(200)), svc("s3", ago(130)))},
			config:  requireNotice(7),
			notices: []iamprune.NoticeRecord{sent(svcItem(app, "ec2"), 10), sent(svcItem(app, "lambda"), 10), sent(app.ARN+"|UnusedPermission|app", 10)},
			want: []string{
				"deny-unused-services app UnusedPermission [ec2] days=200 on=" + on(-80) + " | 1 service unused for 200 days (limit 120): ec2",
				"notify app UnusedPermission [s3] days=130 on=" + on(7) + " | 1 service unused for 130 days (limit 120): s3; " + never,
			},
		},
		{
			name:       "UnusedPermission: nothing noticed, one notice for every service",
			principals: []*iamprune.Principal{app}, findings: []iamprune.Finding{permFinding("p1", app, svc("ec2", ago(200)), svc("s3", ago(130)))},
			config: requireNotice(7),
			want:   []string{"notify app UnusedPermission [ec2 s3] days=200 on=" + on(7) + " | 2 services unused for at least 130 days (limit 120): ec2, s3; " + never},
		},
		{
			name:       "passwords and roles are held back alike",
			principals: []*iamprune.Principal{carol, app}, findings: []iamprune.Finding{pw, roleF}, config: requireNotice(7),
			notices: []iamprune.NoticeRecord{sent(app.ARN+"|UnusedIAMRole|app", 8)},
			want: []string{
				"quarantine-role app UnusedIAMRole days=130 on=" + on(-10) + " | role not assumed for 130 days (limit 120)",
				"notify carol UnusedIAMUserPassword days=100 on=" + on(7) + " | console password unused for 100 days (limit 90); " + never,
			},
		},
		{
			name:       "a key iamprune deactivated is deleted without a new notice",
			principals: []*iamprune.Principal{withKeys(user("alice"), inactive("AKIAALICE1", 400, ago(272)))},
			findings:   []iamprune.Finding{keys},
			config: func(c *iamprune.Config) {
				requireNotice(7)(c)
				c.Rules[iamprune.UnusedIAMUserAccessKey] = iamprune.Rule{NotifyAfterDays: 30, RemediateAfterDays: 90, Action: iamprune.KindDeleteAccessKey}
			},
			deactivated: map[string]iamprune.DoneRef{"AKIAALICE1": ref("run-1", 30)},
			want:        []string{"delete-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | deactivated by iamprune on 2026-10-29 (run run-1) and unused since; delete after 30 days"},
		},
		{
			name:       "a key iamprune deactivated shows as done, not as a notice",
			principals: []*iamprune.Principal{withKeys(user("alice"), inactive("AKIAALICE1", 400, ago(272)))},
			findings:   []iamprune.Finding{keys}, config: requireNotice(7),
			deactivated: map[string]iamprune.DoneRef{"AKIAALICE1": ref("run-1", 10)},
			want:        []string{deactivate + "; already deactivated by run run-1 on 2026-11-18"},
		},
		{
			name:       "notify-only, protected and exempt entries are unchanged",
			principals: []*iamprune.Principal{alice, carol, role("/", "BreakGlass")},
			findings: []iamprune.Finding{keys, pw, func() iamprune.Finding {
				f := finding("r2", iamprune.UnusedIAMRole, role("/", "BreakGlass"))
				f.LastAccessed = ago(200)
				return f
			}()},
			config: func(c *iamprune.Config) {
				requireNotice(7)(c)
				c.Protected = []string{arn("role/BreakGlass")}
				c.Rules[iamprune.UnusedIAMUserPassword] = iamprune.Rule{NotifyAfterDays: 30, RemediateAfterDays: 90, Action: iamprune.KindNotifyOnly}
			},
			exceptions: []iamprune.Exception{{Principal: alice.ARN, File: "allowlist.txt", Line: 1}},
			want: []string{
				"protected BreakGlass UnusedIAMRole days=200 on=" + on(-80) + " | protected: matches protected pattern " + arn("role/BreakGlass") + "; would quarantine-role (unused 200 days, limit 120)",
				"exempt AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | exempt by exception " + alice.ARN + " (allowlist.txt:1); would deactivate-access-key (unused 272 days, limit 90) | exception=" + alice.ARN + " expires=",
				"notify carol UnusedIAMUserPassword days=100 on=" + on(-10) + " | console password unused for 100 days (limit 90); remediation disabled (notify-only)",
			},
		},
	})
}

// A change the state store shows as made stays a done remediation: its
// notice period, if any, was before it.
func TestPriorNoticeKeepsDone(t *testing.T) {
	app := role("/", "app")
	f := finding("r1", iamprune.UnusedIAMRole, app)
	f.LastAccessed = ago(130)
	const quarantine = "quarantine-role app UnusedIAMRole days=130 on=2026-11-18 | role not assumed for 130 days (limit 120)"
	id := planCase{principals: []*iamprune.Principal{app}, findings: []iamprune.Finding{f}, want: []string{quarantine}}.run(t).Actions[0].ID
	c := planCase{principals: []*iamprune.Principal{app}, findings: []iamprune.Finding{f}, config: requireNotice(7),
		done: map[string]iamprune.DoneRef{id: ref("run-1", 2)},
		want: []string{quarantine + "; already done by run run-1 on 2026-11-26"}}
	if a := c.run(t).Actions[0]; a.ID != id || a.Done == nil {
		t.Errorf("done entry = %+v, want id %s done by run-1", a, id)
	}
}

// Over simulated days, with the notices a sender would record for each
// notify entry (one per iamprune.ItemKeys of the entry): day 0 only
// notifies, and from day 7 on the plan remediates what it would have
// without the rule. This pins that the keys notices are recorded under are
// the keys decide looks up.
func TestPriorNoticeOverDays(t *testing.T) {
	in := scenario()
	in.Notices = nil
	var log []iamprune.NoticeRecord
	remediations := func(p iamprune.Plan) []string {
		out := []string{}
		for _, a := range p.Actions {
			if a.Kind.IsRemediation() && a.Done == nil {
				out = append(out, line(a))
			}
		}
		return out
	}
	for day := range 9 {
		in.Now = now.Add(time.Duration(day) * 24 * time.Hour)
		in.Notices = log
		p := Plan(in)
		off := in
		off.Config = config()
		want := remediations(Plan(off))
		got := remediations(p)
		switch {
		case len(want) == 0:
			t.Fatalf("day %d: the scenario has nothing to remediate", day)
		case day < 7 && len(got) != 0:
			t.Errorf("day %d: remediations before the notice period ended:\n  %s", day, strings.Join(got, "\n  "))
		case day >= 7 && strings.Join(got, "\n") != strings.Join(want, "\n"):
			t.Errorf("day %d: remediations\n  %s\nwant\n  %s", day, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		for _, a := range p.Actions {
			if a.Kind != iamprune.KindNotify {
				continue
			}
			for _, k := range iamprune.ItemKeys(a) {
				log = append(log, iamprune.NoticeRecord{Account: acct, ItemKey: k, ActionID: a.ID, Channel: "slack", Status: iamprune.NoticeSent, SentAt: in.Now})
			}
		}
	}
}
