package decide

import (
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

type planCase struct {
	name        string
	principals  []*iamprune.Principal
	findings    []iamprune.Finding
	config      func(*iamprune.Config)
	exceptions  []iamprune.Exception
	caller      string // replaces the default caller when set
	done        map[string]iamprune.DoneRef
	deactivated map[string]iamprune.DoneRef
	notices     []iamprune.NoticeRecord
	holds       []iamprune.Hold
	want        []string
}

func (c planCase) run(t *testing.T) iamprune.Plan {
	t.Helper()
	cfg := config()
	if c.config != nil {
		c.config(&cfg)
	}
	fs := facts(c.principals...)
	if c.caller != "" {
		fs.Caller = c.caller
	}
	p := Plan(Input{Findings: c.findings, Facts: fs, Config: cfg, Exceptions: c.exceptions, Now: now, Done: c.done, Deactivated: c.deactivated, Notices: c.notices, Holds: c.holds})
	checkLines(t, p, c.want)
	return p
}

func runCases(t *testing.T, cases []planCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

func setRule(t iamprune.FindingType, r iamprune.Rule) func(*iamprune.Config) {
	return func(c *iamprune.Config) { c.Rules[t] = r }
}

func TestAccessKeys(t *testing.T) {
	alice := func() *iamprune.Principal {
		return withKeys(user("alice"), key("AKIAALICE1", 400), key("AKIAALICE2", 300), key("AKIAALICE3", 100))
	}
	plus := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	runCases(t, []planCase{
		{
			name:       "unused past the limit: the documented example",
			principals: []*iamprune.Principal{alice()},
			findings:   []iamprune.Finding{keyFinding("f1", alice(), used("AKIAALICE1", ago(272)))},
			want:       []string{"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90)"},
		},
		{
			name:       "never used: aged from the key's own creation date",
			principals: []*iamprune.Principal{alice()},
			findings:   []iamprune.Finding{keyFinding("f1", alice(), used("AKIAALICE2", nil))},
			want:       []string{"deactivate-access-key AKIAALICE2 UnusedIAMUserAccessKey days=300 on=" + on(-210) + " | access key never used; created 300 days ago (limit 90)"},
		},
		{
			name:       "between the thresholds: notify with the due date",
			principals: []*iamprune.Principal{alice()},
			findings:   []iamprune.Finding{keyFinding("f1", alice(), used("AKIAALICE1", ago(45)))},
			want:       []string{"notify AKIAALICE1 UnusedIAMUserAccessKey days=45 on=" + on(45) + " | will deactivate-access-key on " + on(45) + " (unused 45 days, notify after 30)"},
		},
		{
			name:       "below notify_after_days: no entry",
			principals: []*iamprune.Principal{alice()},
			findings:   []iamprune.Finding{keyFinding("f1", alice(), used("AKIAALICE1", ago(29)))},
			want:       []string{},
		},
		{
			// Reference defect: every key was aged by the first key's lastAccessed.
			name:       "regression: each key aged by its own lastAccessed",
			principals: []*iamprune.Principal{alice()},
			findings: []iamprune.Finding{keyFinding("f1", alice(),
				used("AKIAALICE1", ago(10)), used("AKIAALICE2", ago(200)), used("AKIAALICE3", ago(60)))},
			want: []string{
				"deactivate-access-key AKIAALICE2 UnusedIAMUserAccessKey days=200 on=" + on(-110) + " | access key unused for 200 days (limit 90)",
				"notify AKIAALICE3 UnusedIAMUserAccessKey days=60 on=" + on(30) + " | will deactivate-access-key on " + on(30) + " (unused 60 days, notify after 30)",
			},
		},
		{
			name:       "whole days: a second short of 90 days is 89, exactly 90 is 90",
			principals: []*iamprune.Principal{alice()},
			findings: []iamprune.Finding{keyFinding("f1", alice(),
				used("AKIAALICE1", plus(-90*24*time.Hour+time.Second)), used("AKIAALICE2", ago(90)),
				used("AKIAALICE3", plus(-30*24*time.Hour+time.Second)))},
			want: []string{
				"notify AKIAALICE1 UnusedIAMUserAccessKey days=89 on=2026-11-28 | will deactivate-access-key on 2026-11-28 (unused 89 days, notify after 30)",
				"deactivate-access-key AKIAALICE2 UnusedIAMUserAccessKey days=90 on=2026-11-28 | access key unused for 90 days (limit 90)",
			},
		},
		{
			name:       "used in the future (clock skew) counts as 0 days",
			principals: []*iamprune.Principal{alice()},
			findings:   []iamprune.Finding{keyFinding("f1", alice(), used("AKIAALICE1", plus(time.Hour)))},
			config:     setRule(iamprune.UnusedIAMUserAccessKey, iamprune.Rule{NotifyAfterDays: 0, RemediateAfterDays: 90, Action: iamprune.KindDeactivateAccessKey}),
			want:       []string{"notify AKIAALICE1 UnusedIAMUserAccessKey days=0 on=2027-02-26 | will deactivate-access-key on 2027-02-26 (unused 0 days, notify after 0)"},
		},
		{
			name:       "delete-access-key by config",
			principals: []*iamprune.Principal{alice()},
			findings:   []iamprune.Finding{keyFinding("f1", alice(), used("AKIAALICE1", ago(272)), used("AKIAALICE3", ago(45)))},
			config:     setRule(iamprune.UnusedIAMUserAccessKey, iamprune.Rule{NotifyAfterDays: 30, RemediateAfterDays: 90, Action: iamprune.KindDeleteAccessKey}),
			want: []string{
				// A key is deactivated first; only a key iamprune deactivated is ever deleted.
				"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90); deleted 30 days after iamprune deactivates it",
				"notify AKIAALICE3 UnusedIAMUserAccessKey days=45 on=" + on(45) + " | will deactivate-access-key on " + on(45) + " (unused 45 days, notify after 30)",
			},
		},
		{
			name:       "notify-only: notified past the limit, remediate_on still computed",
			principals: []*iamprune.Principal{alice()},
			findings:   []iamprune.Finding{keyFinding("f1", alice(), used("AKIAALICE1", ago(272)), used("AKIAALICE3", ago(45)))},
			config:     setRule(iamprune.UnusedIAMUserAccessKey, iamprune.Rule{NotifyAfterDays: 30, RemediateAfterDays: 90, Action: iamprune.KindNotifyOnly}),
			want: []string{
				"notify AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90); remediation disabled (notify-only)",
				"notify AKIAALICE3 UnusedIAMUserAccessKey days=45 on=" + on(45) + " | access key unused for 45 days (notify after 30); remediation disabled (notify-only)",
			},
		},
		{
			name: "facts fresher than the finding: a key used since is not remediated",
			principals: []*iamprune.Principal{withKeys(user("alice"),
				iamprune.AccessKey{ID: "AKIAALICE1", Status: "Active", CreateDate: *ago(400), LastUsed: ago(5)})},
			findings: []iamprune.Finding{keyFinding("f1", user("alice"), used("AKIAALICE1", ago(200)))},
			want:     []string{},
		},
		{
			name:       "a key that no longer exists is skipped, the others decided",
			principals: []*iamprune.Principal{alice()},
			findings:   []iamprune.Finding{keyFinding("f1", alice(), used("AKIAGONE0000", ago(200)), used("AKIAALICE1", ago(272)))},
			want: []string{
				"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90)",
				"skip AKIAGONE0000 UnusedIAMUserAccessKey days=0 on= | access key AKIAGONE0000 no longer exists",
			},
		},
		{
			name: "keys not read: a used key is aged from the finding, a never-used one cannot be aged",
			principals: []*iamprune.Principal{func() *iamprune.Principal {
				p := user("bob")
				p.KeysKnown = false
				return p
			}()},
			findings: []iamprune.Finding{keyFinding("f1", user("bob"), used("AKIABOB1", ago(200)), used("AKIABOB2", nil))},
			want: []string{
				"deactivate-access-key AKIABOB1 UnusedIAMUserAccessKey days=200 on=" + on(-110) + " | access key unused for 200 days (limit 90)",
				"skip AKIABOB2 UnusedIAMUserAccessKey days=0 on= | access key AKIABOB2 was never used and its creation date is unknown",
			},
		},
	})
}

func TestPasswordsAndRoles(t *testing.T) {
	pw := func(p *iamprune.Principal, last *time.Time) iamprune.Finding {
		f := finding("pw-"+p.Name, iamprune.UnusedIAMUserPassword, p)
		f.LastAccessed = last
		return f
	}
	rf := func(p *iamprune.Principal, last *time.Time) iamprune.Finding {
		f := finding("role-"+p.Name, iamprune.UnusedIAMRole, p)
		f.LastAccessed = last
		return f
	}
	carol := withPassword(user("carol"), 95, nil)
	app := role("/", "app")
	app.CreateDate = *ago(150)
	runCases(t, []planCase{
		{
			name:       "password unused past the limit",
			principals: []*iamprune.Principal{carol},
			findings:   []iamprune.Finding{pw(carol, ago(100))},
			want:       []string{"delete-login-profile carol UnusedIAMUserPassword days=100 on=" + on(-10) + " | console password unused for 100 days (limit 90)"},
		},
		{
			name:       "password never used: aged from the login profile, not the user",
			principals: []*iamprune.Principal{carol},
			findings:   []iamprune.Finding{pw(carol, nil)},
			want:       []string{"delete-login-profile carol UnusedIAMUserPassword days=95 on=" + on(-5) + " | console password never used; created 95 days ago (limit 90)"},
		},
		{
			name:       "password notify",
			principals: []*iamprune.Principal{carol},
			findings:   []iamprune.Finding{pw(carol, ago(31))},
			want:       []string{"notify carol UnusedIAMUserPassword days=31 on=" + on(59) + " | will delete-login-profile on " + on(59) + " (unused 31 days, notify after 30)"},
		},
		{
			name:       "login profile gone",
			principals: []*iamprune.Principal{user("dave")},
			findings:   []iamprune.Finding{pw(user("dave"), ago(100))},
			want:       []string{"skip dave UnusedIAMUserPassword days=0 on= | login profile no longer exists"},
		},
		{
			name:       "role not assumed past the limit",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{rf(app, ago(130))},
			want:       []string{"quarantine-role app UnusedIAMRole days=130 on=" + on(-10) + " | role not assumed for 130 days (limit 120)"},
		},
		{
			name:       "role never assumed: aged from the role's creation",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{rf(app, nil)},
			want:       []string{"quarantine-role app UnusedIAMRole days=150 on=" + on(-30) + " | role never assumed; created 150 days ago (limit 120)"},
		},
		{
			name:       "role notify",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{rf(app, ago(100))},
			want:       []string{"notify app UnusedIAMRole days=100 on=" + on(20) + " | will quarantine-role on " + on(20) + " (unused 100 days, notify after 30)"},
		},
		{
			name: "role used since the finding (RoleLastUsed) is not quarantined",
			principals: []*iamprune.Principal{func() *iamprune.Principal {
				r := role("/", "app")
				r.RoleLastUsed = ago(2)
				return r
			}()},
			findings: []iamprune.Finding{rf(app, ago(130))},
			want:     []string{},
		},
		{
			name:       "notify-only role past the limit",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{rf(app, ago(130))},
			config:     setRule(iamprune.UnusedIAMRole, iamprune.Rule{NotifyAfterDays: 30, RemediateAfterDays: 120, Action: iamprune.KindNotifyOnly}),
			want:       []string{"notify app UnusedIAMRole days=130 on=" + on(-10) + " | role not assumed for 130 days (limit 120); remediation disabled (notify-only)"},
		},
		{
			name:       "a finding type that does not fit the principal is skipped",
			principals: []*iamprune.Principal{carol},
			findings:   []iamprune.Finding{rf(carol, ago(300))},
			want:       []string{"skip carol UnusedIAMRole days=0 on= | UnusedIAMRole finding names a user, not a role"},
		},
	})
}

func TestSkips(t *testing.T) {
	alice := withKeys(user("alice"), key("AKIAALICE1", 400))
	status := func(s iamprune.FindingStatus) iamprune.Finding {
		f := keyFinding("f-"+string(s), alice, used("AKIAALICE1", ago(272)))
		f.Status = s
		return f
	}
	ghost := user("ghost")
	runCases(t, []planCase{
		{name: "archived", principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{status(iamprune.StatusArchived)},
			want: []string{"skip alice UnusedIAMUserAccessKey days=0 on= | finding is ARCHIVED"}},
		{name: "resolved", principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{status(iamprune.StatusResolved)},
			want: []string{"skip alice UnusedIAMUserAccessKey days=0 on= | finding is RESOLVED"}},
		{name: "no status", principals: []*iamprune.Principal{alice}, findings: []iamprune.Finding{status("")},
			want: []string{"skip alice UnusedIAMUserAccessKey days=0 on= | finding is without a status"}},
		{name: "principal gone", principals: []*iamprune.Principal{alice},
			findings: []iamprune.Finding{keyFinding("f1", ghost, used("AKIAGHOST", ago(300)))},
			want:     []string{"skip ghost UnusedIAMUserAccessKey days=0 on= | principal no longer exists"}},
		{name: "archived is skipped even when the principal is protected and gone",
			findings: []iamprune.Finding{func() iamprune.Finding {
				f := finding("f1", iamprune.UnusedIAMRole, role("/aws-service-role/x.amazonaws.com/", "AWSServiceRoleForX"))
				f.Status = iamprune.StatusArchived
				return f
			}()},
			want: []string{"skip AWSServiceRoleForX UnusedIAMRole days=0 on= | finding is ARCHIVED"}},
	})
}
