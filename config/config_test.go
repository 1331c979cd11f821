package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func TestReferenceParsesToDefaults(t *testing.T) {
	got, err := Parse([]byte(Reference), "reference.yaml")
	if err != nil {
		t.Fatalf("reference.yaml does not parse: %v", err)
	}
	want := iamprune.DefaultConfig()
	want.Source = "reference.yaml"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reference.yaml parses to\n%+v\nwant the defaults\n%+v", got, want)
	}
	// Every key must be documented, not just left to its default.
	keys := append(append(append(append([]string{}, topKeys...), ruleKeys...), limitKeys...), awsKeys...)
	keys = append(append(keys, holdKeys...), reportKeys...)
	keys = append(append(append(keys, notifKeys...), channelKeys...), routeKeys...)
	for _, ft := range iamprune.FindingTypes {
		keys = append(keys, string(ft))
	}
	for _, k := range keys {
		if !strings.Contains(Reference, "\n"+k+":") && !strings.Contains(Reference, " "+k+":") {
			t.Errorf("reference.yaml does not set key %s", k)
		}
	}
}

func TestLoad(t *testing.T) {
	def := iamprune.DefaultConfig
	tests := []struct {
		name string
		want func() iamprune.Config
	}{
		{"empty", def},
		{"comments-only", def},
		{"null-sections", def},
		{"partial-rule", func() iamprune.Config {
			c := def()
			c.Rules[iamprune.UnusedIAMRole] = iamprune.Rule{NotifyAfterDays: 60, RemediateAfterDays: 120, Action: iamprune.KindQuarantineRole}
			return c
		}},
		{"crlf", func() iamprune.Config {
			c := def()
			c.Exceptions = "allowlist.txt"
			c.Rules[iamprune.UnusedIAMRole] = iamprune.Rule{NotifyAfterDays: 30, RemediateAfterDays: 120, Action: iamprune.KindNotifyOnly}
			return c
		}},
		{"full", func() iamprune.Config {
			return iamprune.Config{
				Analyzer:           "arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/unused",
				FindingSource:      iamprune.SourceIAM,
				TrackingPeriodDays: 60,
				Exceptions:         "s3://security-bucket/exceptions.yaml",
				Rules: map[iamprune.FindingType]iamprune.Rule{
					iamprune.UnusedIAMUserAccessKey: {NotifyAfterDays: 10, RemediateAfterDays: 45, Action: iamprune.KindDeleteAccessKey},
					iamprune.UnusedIAMUserPassword:  {NotifyAfterDays: 0, RemediateAfterDays: 60, Action: iamprune.KindNotifyOnly},
					iamprune.UnusedIAMRole:          {NotifyAfterDays: 30, RemediateAfterDays: 180, Action: iamprune.KindQuarantineRole},
					iamprune.UnusedPermission:       {NotifyAfterDays: 30, RemediateAfterDays: 365, Action: iamprune.KindDenyUnusedServices},
				},
				Protected:       []string{"arn:aws:iam::*:role/BreakGlass*", "arn:aws:iam::111122223333:user/ci-*"},
				Limits:          iamprune.Limits{MaxActionsPerRun: 5},
				Holds:           iamprune.Holds{Days: 14},
				Report:          iamprune.Report{Publish: "s3://security-reports/iamprune/"},
				AWS:             iamprune.AWS{MaxRetries: 20, MaxRequestsPerSecond: 2.5, MaxConcurrentAccounts: 4, RetryBaseDelay: 50 * time.Millisecond, MaxBackoff: 5 * time.Second},
				ExceptionPolicy: iamprune.ExceptionPolicy{MaxDays: 90, MaxArchiveRules: 100},
				Notifications:   iamprune.DefaultNotifications(),
				Accounts:        []string{"111122223333", "444455556666"},
				CrossAccount:    iamprune.CrossAccount{RoleName: "iamprune-remediation", ExternalID: "iamprune-ext", SessionName: "iamprune"},
				Propose: func() iamprune.Propose {
					p := iamprune.DefaultConfig().Propose
					p.Repo, p.Base = "https://github.com/example/infra.git", "trunk"
					p.Files = []iamprune.ProposeFile{
						{Principal: "arn:aws:iam::*:role/app-*", Path: "iam/app.json"},
						{Principal: "arn:aws:iam::*:role/web-*", Policy: "WebPolicy", Path: "cfn/web.yaml", Pointer: "WebPolicy"},
					}
					return p
				}(),
				Sweep: iamprune.SweepSettings{QueueURL: "https://sqs.eu-west-1.amazonaws.com/111122223333/iamprune-sweep", PageSize: 250},
			}
		}},
		{"notifications", func() iamprune.Config {
			c := def()
			yes, no := true, false
			c.Notifications = iamprune.Notifications{
				Channels: []iamprune.Channel{
					{Name: "security-sns", Type: "sns", TopicARN: "arn:aws:sns:us-east-1:111122223333:iamprune"},
					{Name: "payments-slack", Type: "slack", WebhookURLEnv: "PAYMENTS_SLACK_WEBHOOK"},
					{Name: "tickets", Type: "webhook", URL: "https://tickets.example.com/hooks/iamprune", SecretEnv: "TICKETS_SECRET"},
					{Name: "mail", Type: "email", SMTPHost: "smtp.example.com", SMTPPort: 587, From: "iamprune@example.com",
						To: []string{"security@example.com", "audit@example.com"}, UsernameEnv: "SMTP_USERNAME", PasswordEnv: "SMTP_PASSWORD",
						StartTLS: &yes, MailOwners: true},
					{Name: "relay", Type: "email", SMTPHost: "localhost", SMTPPort: 25, From: "iamprune <iamprune@example.com>", StartTLS: &no, MailOwners: true},
				},
				OwnerTags: []string{"team"},
				Routes: []iamprune.Route{
					{Owner: "payments", Channels: []string{"payments-slack", "mail"}},
					{Owner: "*@example.com", Channels: []string{"relay"}},
				},
				Default:             []string{"security-sns", "tickets"},
				ExceptionRequestURL: "https://wiki.example.com/iam-exceptions",
				RemindDaysBefore:    []int{14, 7, 3}, // sorted largest first
				MinInterval:         48 * time.Hour,
				RequirePriorNotice:  false,
				NoticeDays:          10,
				TemplatesDir:        "templates",
			}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", tt.name, "iamprune.yaml")
			got, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := tt.want()
			want.Source = path
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		want []string // one line per problem, without the "testdata/NAME/iamprune.yaml" prefix
	}{
		{"typo-rule-key", []string{":7: rules.UnusedIAMRole.remedate_after_days: unknown key (did you mean remediate_after_days?)"}},
		{"typo-top-key", []string{":1: analyser: unknown key (did you mean analyzer?)"}},
		{"unknown-type", []string{
			":2: rules.UnusedIAMRoles: unknown finding type (did you mean UnusedIAMRole?)",
			":4: rules.ServiceUsage: unknown finding type (want one of UnusedIAMUserAccessKey, UnusedIAMUserPassword, UnusedIAMRole, UnusedPermission)",
		}},
		{"bad-cross-account", []string{`:3: accounts.role_name: "arn:aws:iam::444455556666:role/iamprune" is not a role name (1-64 of A-Za-z0-9+=,.@_-; not an ARN)`}},
		{"propose-plain-http", []string{`:2: propose.repo: "http://github.example.com/acme/infra.git": the GitHub token would be sent over plain HTTP; use https (plain http is allowed only to localhost)`}},
		{"propose-bad-file", []string{`:5: propose.files[0].path: "policies/app.txt" is not a policy file iamprune can edit (.json, .template, .yaml, .yml or .tf)`}},
		{"bad-session-name", []string{`:3: accounts.session_name: "a b" is not an STS session name (2-64 of A-Za-z0-9+=,.@_-)`}},
		{"propose-without-repo", []string{`:2: rules.UnusedPermission.action: propose-policy needs propose.repo, the repository to open pull requests against`}},
		{"wrong-type-int", []string{`:3: rules.UnusedIAMUserPassword.notify_after_days: must be a whole number, got "thirty"`}},
		{"wrong-type-float", []string{`:2: limits.max_actions_per_run: must be a whole number, got "2.5"`}},
		{"wrong-type-string", []string{":1: analyzer: must be a string, got a list"}},
		{"protected-not-list", []string{`:1: protected: must be a list, got "arn:aws:iam::*:role/BreakGlass*"`}},
		{"rules-not-mapping", []string{":2: rules: must be a mapping, got a list"}},
		{"top-not-mapping", []string{":1: must be a mapping, got a list"}},
		{"notify-after-remediate", []string{":2: rules.UnusedIAMRole: notify_after_days (30) must not exceed remediate_after_days (10)"}},
		{"bad-action", []string{`:4: rules.UnusedIAMUserAccessKey.action: "quarantine-role" is not valid for UnusedIAMUserAccessKey (want one of [deactivate-access-key delete-access-key notify-only])`}},
		{"two-rule-problems", []string{
			`:3: rules.UnusedPermission.action: "quarantine-role" is not valid for UnusedPermission (want one of [deny-unused-services rewrite-policy propose-policy notify-only])`,
			":5: rules.UnusedIAMUserAccessKey.remediate_after_days: must be >= 1, got 0",
		}},
		{"negative-limit", []string{":3: limits.max_actions_per_run: must be >= 0, got -1"}},
		{"negative-hold-days", []string{":3: holds.days: must be >= 0, got -3"}},
		{"report-bad-publish", []string{`:3: report.publish: "https://example.com/reports/" is not an S3 prefix (s3://bucket/prefix/)`}},
		{"report-bad-key", []string{":2: report.publsh: unknown key (did you mean publish?)"}},
		{"huge-hold-days", []string{":3: holds.days: must be at most 3650, got 999999999999"}},
		{"aws-bad", []string{":3: aws.max_retries: must be from 0 to 100, got -1"}},
		{"aws-bad-delay", []string{`:3: aws.retry_base_delay: must be a positive duration such as 200ms or 20s, got "soon"`}},
		{"aws-backoff-below-base", []string{":3: aws.max_backoff: must be at least aws.retry_base_delay (2s), got 1s"}},
		{"sweep-bad", []string{":4: sweep.page_size: must be from 1 to 1000, got 5000"}},
		{"aws-bad-rate", []string{`:2: aws.max_requests_per_second: must be a number, got "fast"`}},
		{"aws-bad-accounts", []string{":3: aws.max_concurrent_accounts: must be from 1 to 100, got 0"}},
		{"bad-analyzer", []string{`:1: analyzer: "my-analyzer" is neither "auto" nor an analyzer ARN (arn:aws:access-analyzer:REGION:ACCOUNT:analyzer/NAME)`}},
		{"bad-source", []string{`:2: source: "iam-data" is neither "analyzer" nor "iam"`}},
		{"bad-tracking-period", []string{":3: tracking_period_days: must be between 1 and 365, got 0"}},
		{"empty-protected", []string{":3: protected[1]: empty pattern"}},
		{"bad-exceptions-key", []string{":3: exceptions.max_dayz: unknown key (did you mean max_days?)"}},
		{"bad-account", []string{`:3: accounts[1]: "12345" is not a 12-digit AWS account id`}},
		{"delete-after-wrong-type", []string{":3: rules.UnusedIAMRole.delete_after_days: only applies to UnusedIAMUserAccessKey"}},
		{"syntax", []string{":2: invalid YAML: did not find expected node content"}},
		{"duplicate-key", []string{":3: limits: duplicate key (first given on line 1)"}},
		{"two-documents", []string{":2: only one YAML document is allowed"}},
		{"notif-unknown-route-channel", []string{`:8: notifications.routes[1].channels[0]: unknown channel "ops-slack" (want one of security-sns)`}},
		{"notif-typo-key", []string{
			":2: notifications.remind_days_befor: unknown key (did you mean remind_days_before?)",
			":3: notifications.notice_day: unknown key (did you mean notice_days?)",
		}},
		{"notif-foreign-key", []string{
			":6: notifications.channels[0].url: not a key of slack channels (they take webhook_url, webhook_url_env)",
			":7: notifications.channels[0].topic_arn: not a key of slack channels (they take webhook_url, webhook_url_env)",
		}},
		{"notif-duplicate-channel", []string{`:4: notifications.channels[1].name: duplicate channel name "a" (also channels[0])`}},
		{"notif-slack-both", []string{":3: notifications.channels[0]: give webhook_url or webhook_url_env, not both"}},
		{"notif-bad-duration", []string{`:2: notifications.min_interval: "3 days" is not a duration (like 20h, 90m or 7d)`}},
		{"notif-bad-bool", []string{
			`:2: notifications.require_prior_notice: must be true or false, got "yes"`,
			`:3: notifications.notice_days: must be a whole number, got "seven"`,
		}},
		{"notif-remind-zero", []string{":4: notifications.remind_days_before[1]: must be >= 1, got 0"}},
		{"notif-unknown-default", []string{`:6: notifications.default[1]: unknown channel "slack" (want one of mail)`}},
		{"notif-bad-sns-arn", []string{`:5: notifications.channels[0].topic_arn: "arn:aws:sqs:us-east-1:111122223333:queue" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)`}},
		{"notif-email-no-from", []string{":3: notifications.channels[0].from: required for email channels"}},
		{"notif-unknown-type", []string{`:4: notifications.channels[0].type: unknown channel type "teams" (want one of sns, slack, webhook, email)`}},
		{"notif-webhook-url", []string{`:5: notifications.channels[0].url: is not an absolute https URL`}},
		{"notif-webhook-metadata", []string{`:5: notifications.channels[0].url: is a link-local or instance-metadata address, which iamprune never connects to`}},
		{"notif-slack-plain-http", []string{`:5: notifications.channels[0].webhook_url: must be https (plain http is allowed only to localhost)`}},
		{"propose-github-api-file", []string{`:3: propose.github_api: "file:///etc/" is not an absolute https URL`}},
		// A notifications problem does not hide another one.
		{"notif-limit-and-route", []string{
			":2: limits.max_actions_per_run: must be >= 0, got -2",
			`:5: notifications.routes[0].channels[0]: unknown channel "nope" (no channels are configured)`,
		}},
		{"notif-channels-not-list", []string{
			`:2: notifications.channels: must be a list, got "slack"`,
			":5: notifications.routes[0].chanels: unknown key (did you mean channels?)",
		}},
		// Structural problems are all reported; semantic checks wait until they are fixed.
		{"many-problems", []string{
			":1: analyser: unknown key (did you mean analyzer?)",
			":7: limits.max_action_per_run: unknown key (did you mean max_actions_per_run?)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", tt.name, "iamprune.yaml")
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if code := iamprune.ErrorCode(err); code != iamprune.EINVALID {
				t.Errorf("error code = %q, want %q", code, iamprune.EINVALID)
			}
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = path + w
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Errorf("error =\n%s\nwant\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	if iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("code = %q, want %q", iamprune.ErrorCode(err), iamprune.EINVALID)
	}
	if want := "config: config file " + path + " does not exist"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

// Parse must not share the defaults' map between calls: a rule changed by
// one file must not leak into the next.
func TestParseDoesNotLeakRules(t *testing.T) {
	if _, err := Parse([]byte("rules: {UnusedIAMRole: {remediate_after_days: 400}}"), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	got, err := Parse(nil, "b.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Rule(iamprune.UnusedIAMRole); r.RemediateAfterDays != 120 {
		t.Errorf("UnusedIAMRole remediate_after_days = %d after parsing another file, want the default 120", r.RemediateAfterDays)
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if err == nil || iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.HasPrefix(err.Error(), "config: cannot read config file "+dir+": ") {
		t.Errorf("Load(dir) error = %v, want EINVALID naming the file", err)
	}
}

// The key list in the package comment must not drift from the defaults.
func TestDocCommentParsesToDefaults(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	for _, l := range strings.Split(string(src), "\n") {
		if s, ok := strings.CutPrefix(l, "//\t"); ok {
			block = append(block, s)
		}
	}
	got, err := Parse([]byte(strings.Join(block, "\n")), "doc")
	if err != nil {
		t.Fatalf("package comment block does not parse: %v", err)
	}
	want := iamprune.DefaultConfig()
	want.Source = "doc"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("package comment block parses to\n%+v\nwant the defaults\n%+v", got, want)
	}
}

func TestParseSource(t *testing.T) {
	cfg, err := Parse([]byte("source: iam\ntracking_period_days: 30\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FindingSource != iamprune.SourceIAM || cfg.TrackingPeriodDays != 30 {
		t.Errorf("source %q, tracking_period_days %d; want iam, 30", cfg.FindingSource, cfg.TrackingPeriodDays)
	}
	if d := iamprune.DefaultConfig(); d.FindingSource != iamprune.SourceAnalyzer || d.TrackingPeriodDays != 90 {
		t.Errorf("defaults: source %q, tracking_period_days %d; want analyzer, 90", d.FindingSource, d.TrackingPeriodDays)
	}
}
