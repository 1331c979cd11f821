package decide

import (
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func TestExceptions(t *testing.T) {
	alice := withPassword(withKeys(user("alice"), key("AKIAALICE1", 400), key("AKIAALICE3", 100)), 300, nil)
	app := role("/", "app")
	keys := keyFinding("k1", alice, used("AKIAALICE1", ago(272)))
	password := finding("pw1", iamprune.UnusedIAMUserPassword, alice)
	password.LastAccessed = ago(100)
	perm := permFinding("p1", app, svc("ec2", ago(200)), svc("s3", ago(130)), svc("sns", ago(100)), svc("sqs", nil))
	date := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	txt := iamprune.Exception{Principal: arn("user/alice"), File: "allowlist.txt", Line: 3}
	passwordOnly := iamprune.Exception{Principal: arn("user/ali*"), FindingTypes: []iamprune.FindingType{iamprune.UnusedIAMUserPassword},
		Reason: "shared console login", Owner: "it@example.com", Ticket: "SEC-7", Expires: date("2026-12-31"), File: "exceptions.yaml", Line: 4}
	runCases(t, []planCase{
		{
			name:       "txt allowlist entry exempts every type",
			principals: []*iamprune.Principal{alice},
			findings:   []iamprune.Finding{keys},
			exceptions: []iamprune.Exception{txt},
			want: []string{"exempt AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | exempt by exception " + arn("user/alice") +
				" (allowlist.txt:3); would deactivate-access-key (unused 272 days, limit 90) | exception=" + arn("user/alice") + " expires="},
		},
		{
			name:       "yaml exception limited to a finding type",
			principals: []*iamprune.Principal{alice},
			findings:   []iamprune.Finding{keys, password},
			exceptions: []iamprune.Exception{passwordOnly},
			want: []string{
				"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90)",
				"exempt alice UnusedIAMUserPassword days=100 on=" + on(-10) + ` | exempt by exception arn:aws:iam::111122223333:user/ali* (reason "shared console login", owner it@example.com, ticket SEC-7, expires 2026-12-31, exceptions.yaml:4); would delete-login-profile (unused 100 days, limit 90) | exception=arn:aws:iam::111122223333:user/ali* expires=2026-12-31`,
			},
		},
		{
			name:       "an expired exception no longer applies",
			principals: []*iamprune.Principal{alice},
			findings:   []iamprune.Finding{keys},
			exceptions: []iamprune.Exception{{Principal: arn("user/alice"), Expires: date("2026-11-27"), File: "exceptions.yaml", Line: 2}},
			want:       []string{"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90); exception arn:aws:iam::111122223333:user/alice (exceptions.yaml:2) expired on 2026-11-27"},
		},
		{
			name:       "an exception still applies on its expiry day",
			principals: []*iamprune.Principal{alice},
			findings:   []iamprune.Finding{keys},
			exceptions: []iamprune.Exception{{Principal: arn("user/alice"), Expires: date("2026-11-28"), File: "exceptions.yaml", Line: 2}},
			want: []string{"exempt AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | exempt by exception " + arn("user/alice") +
				" (expires 2026-11-28, exceptions.yaml:2); would deactivate-access-key (unused 272 days, limit 90) | exception=" + arn("user/alice") + " expires=2026-11-28"},
		},
		{
			name:       "an exempt item within tolerance is not notified either",
			principals: []*iamprune.Principal{alice},
			findings:   []iamprune.Finding{keyFinding("k2", alice, used("AKIAALICE3", ago(45)))},
			exceptions: []iamprune.Exception{txt},
			want: []string{"exempt AKIAALICE3 UnusedIAMUserAccessKey days=45 on=" + on(45) + " | exempt by exception " + arn("user/alice") +
				" (allowlist.txt:3); would notify (unused 45 days, notify after 30) | exception=" + arn("user/alice") + " expires="},
		},
		{
			name:       "services-limited exception exempts only its services",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{perm},
			exceptions: []iamprune.Exception{{Principal: arn("role/app"), FindingTypes: []iamprune.FindingType{iamprune.UnusedPermission},
				Services: []string{"s3", "sns", "dynamodb"}, Reason: "data lake", File: "exceptions.yaml", Line: 9}},
			want: []string{
				"deny-unused-services app UnusedPermission [ec2 sqs] days=200 on=" + on(-80) + " | 2 services unused for at least 200 days (limit 120): ec2, sqs",
				"exempt app UnusedPermission [s3 sns] days=130 on=" + on(-10) + ` | exempt by exception arn:aws:iam::111122223333:role/app for s3, sns (reason "data lake", exceptions.yaml:9); would deny-unused-services for s3 (unused 130 days, limit 120) and notify for sns (unused 100 days, notify after 30) | exception=arn:aws:iam::111122223333:role/app expires=`,
			},
		},
		{
			name:       "two exceptions covering different services: one exempt entry naming both, in file order",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{perm},
			exceptions: []iamprune.Exception{
				{Principal: arn("role/a*"), Services: []string{"sns"}, File: "exceptions.yaml", Line: 2},
				{Principal: arn("role/app"), Services: []string{"s3", "sns"}, Expires: date("2027-01-01"), File: "exceptions.yaml", Line: 5},
			},
			want: []string{
				"deny-unused-services app UnusedPermission [ec2 sqs] days=200 on=" + on(-80) + " | 2 services unused for at least 200 days (limit 120): ec2, sqs",
				"exempt app UnusedPermission [s3 sns] days=130 on=" + on(-10) + " | exempt by exception arn:aws:iam::111122223333:role/a* for sns (exceptions.yaml:2); exempt by exception arn:aws:iam::111122223333:role/app for s3 (expires 2027-01-01, exceptions.yaml:5); would deny-unused-services for s3 (unused 130 days, limit 120) and notify for sns (unused 100 days, notify after 30) | exception=arn:aws:iam::111122223333:role/a* expires=",
			},
		},
		{
			name:       "an exception without services exempts the whole UnusedPermission finding",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{perm},
			exceptions: []iamprune.Exception{{Principal: arn("role/app"), File: "allowlist.txt", Line: 1}},
			want:       []string{"exempt app UnusedPermission [ec2 s3 sns sqs] days=400 on=" + on(-280) + " | exempt by exception arn:aws:iam::111122223333:role/app (allowlist.txt:1); would deny-unused-services for ec2, s3, sqs (unused at least 130 days, limit 120) and notify for sns (unused 100 days, notify after 30) | exception=arn:aws:iam::111122223333:role/app expires="},
		},
		{
			name:       "an exception for another principal does nothing",
			principals: []*iamprune.Principal{alice},
			findings:   []iamprune.Finding{keys},
			exceptions: []iamprune.Exception{{Principal: arn("user/alice2")}, {Principal: "arn:aws:iam::444455556666:user/alice"}},
			want:       []string{"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90)"},
		},
	})
}

func TestProtection(t *testing.T) {
	slr := role("/aws-service-role/elasticbeanstalk.amazonaws.com/", "AWSServiceRoleForElasticBeanstalk")
	sso := role("/aws-reserved/sso.amazonaws.com/eu-west-1/", "AWSReservedSSO_Admin_0123456789abcdef")
	org := role("/", "OrganizationAccountAccessRole")
	runner := role("/", "iamprune-runner")
	breakGlass := role("/", "BreakGlassAdmin")
	ci := withKeys(user("ci"), key("AKIACI1", 400))
	rf := func(p *iamprune.Principal) iamprune.Finding {
		f := finding("r-"+p.Name, iamprune.UnusedIAMRole, p)
		f.LastAccessed = ago(200)
		return f
	}
	would := "would quarantine-role (unused 200 days, limit 120)"
	runCases(t, []planCase{
		{
			name:       "service-linked role",
			principals: []*iamprune.Principal{slr},
			findings:   []iamprune.Finding{rf(slr)},
			want:       []string{"protected AWSServiceRoleForElasticBeanstalk UnusedIAMRole days=200 on=" + on(-80) + " | protected: service-linked role (path /aws-service-role/); " + would},
		},
		{
			name:       "IAM Identity Center role",
			principals: []*iamprune.Principal{sso},
			findings:   []iamprune.Finding{rf(sso)},
			want:       []string{"protected AWSReservedSSO_Admin_0123456789abcdef UnusedIAMRole days=200 on=" + on(-80) + " | protected: IAM Identity Center role (path /aws-reserved/sso.amazonaws.com/); " + would},
		},
		{
			name:       "OrganizationAccountAccessRole",
			principals: []*iamprune.Principal{org},
			findings:   []iamprune.Finding{rf(org)},
			want:       []string{"protected OrganizationAccountAccessRole UnusedIAMRole days=200 on=" + on(-80) + " | protected: OrganizationAccountAccessRole; " + would},
		},
		{
			name:       "the caller as an assumed role: one entry for all aged services",
			principals: []*iamprune.Principal{runner},
			caller:     "arn:aws:sts::111122223333:assumed-role/iamprune-runner/run-42",
			findings:   []iamprune.Finding{permFinding("p1", runner, svc("ec2", ago(200)), svc("sns", ago(100)), svc("s3", ago(3)))},
			want: []string{"protected iamprune-runner UnusedPermission [ec2 sns] days=200 on=" + on(-80) +
				" | protected: the identity iamprune runs as (arn:aws:sts::111122223333:assumed-role/iamprune-runner/run-42); would deny-unused-services for ec2 (unused 200 days, limit 120) and notify for sns (unused 100 days, notify after 30)"},
		},
		{
			name:       "the caller as a user",
			principals: []*iamprune.Principal{ci},
			caller:     arn("user/ci"),
			findings:   []iamprune.Finding{keyFinding("k1", ci, used("AKIACI1", ago(272)))},
			want:       []string{"protected AKIACI1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | protected: the identity iamprune runs as (" + arn("user/ci") + "); would deactivate-access-key (unused 272 days, limit 90)"},
		},
		{
			name:       "config glob, which wins over an exception",
			principals: []*iamprune.Principal{breakGlass},
			findings:   []iamprune.Finding{rf(breakGlass)},
			config:     func(c *iamprune.Config) { c.Protected = []string{"arn:aws:iam::*:role/BreakGlass*"} },
			exceptions: []iamprune.Exception{{Principal: arn("role/BreakGlassAdmin")}},
			want:       []string{"protected BreakGlassAdmin UnusedIAMRole days=200 on=" + on(-80) + " | protected: matches protected pattern arn:aws:iam::*:role/BreakGlass*; " + would},
		},
		{
			name:       "protected but within tolerance: what it would get is a notice",
			principals: []*iamprune.Principal{slr},
			findings:   []iamprune.Finding{func() iamprune.Finding { f := rf(slr); f.LastAccessed = ago(40); return f }()},
			want:       []string{"protected AWSServiceRoleForElasticBeanstalk UnusedIAMRole days=40 on=" + on(80) + " | protected: service-linked role (path /aws-service-role/); would notify (unused 40 days, notify after 30)"},
		},
		{
			name:       "protected under a notify-only rule",
			principals: []*iamprune.Principal{org},
			findings:   []iamprune.Finding{rf(org)},
			config:     setRule(iamprune.UnusedIAMRole, iamprune.Rule{NotifyAfterDays: 30, RemediateAfterDays: 120, Action: iamprune.KindNotifyOnly}),
			want:       []string{"protected OrganizationAccountAccessRole UnusedIAMRole days=200 on=" + on(-80) + " | protected: OrganizationAccountAccessRole; would notify (unused 200 days, limit 120; remediation disabled)"},
		},
		{
			name:       "protected and below notify_after_days: no entry",
			principals: []*iamprune.Principal{slr},
			findings:   []iamprune.Finding{func() iamprune.Finding { f := rf(slr); f.LastAccessed = ago(10); return f }()},
			want:       []string{},
		},
		{
			name:       "a role with the caller's name in another account is not the caller",
			principals: []*iamprune.Principal{runner},
			caller:     "arn:aws:sts::444455556666:assumed-role/iamprune-runner/run-42",
			findings:   []iamprune.Finding{rf(runner)},
			want:       []string{"quarantine-role iamprune-runner UnusedIAMRole days=200 on=" + on(-80) + " | role not assumed for 200 days (limit 120)"},
		},
	})
}
