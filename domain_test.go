package iamprune_test

import (
	"maps"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"arn:aws:iam::*:role/BreakGlass*", "arn:aws:iam::111122223333:role/BreakGlassAdmin", true},
		{"arn:aws:iam::*:role/BreakGlass*", "arn:aws:iam::111122223333:role/ops/BreakGlassAdmin", false},
		{"arn:aws:iam::*:role/*BreakGlass*", "arn:aws:iam::111122223333:role/ops/BreakGlassAdmin", true},
		{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alice", true},
		{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alice2", false},
		{"arn:aws:iam::11112222333?:user/*", "arn:aws:iam::111122223333:user/x", true},
		{"*", "", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := iamprune.MatchGlob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestMatchGlobOptions(t *testing.T) {
	tests := []struct {
		pattern, s string
		opts       []iamprune.GlobOption
		want       bool
	}{
		{"s3:Get*", "S3:GETOBJECT", nil, false},
		{"s3:Get*", "S3:GETOBJECT", []iamprune.GlobOption{iamprune.FoldCase}, true},
		{"s3:G?t*", "s3:GÉÉtObject", []iamprune.GlobOption{iamprune.FoldCase}, false},
		{"s3:Gét*", "s3:GÉtObject", []iamprune.GlobOption{iamprune.FoldCase}, true},
		// ? is one character, not one byte.
		{"team-?", "team-é", nil, true},
		{"team-??", "team-é", nil, false},
		// A * in s is an ordinary character that a * in pattern may take.
		{"*a", "*ba", nil, true},
		{"arn:aws:iam::*:role/*", "arn:aws:iam::*:role/x*", nil, true},
	}
	for _, tt := range tests {
		if got := iamprune.MatchGlob(tt.pattern, tt.s, tt.opts...); got != tt.want {
			t.Errorf("MatchGlob(%q, %q, %v) = %v, want %v", tt.pattern, tt.s, tt.opts, got, tt.want)
		}
	}
}

// MatchGlob must agree with the glob written as a regular expression.
func TestMatchGlobAgreesWithRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	alphabet := []rune("aAbB:/*?*éÉ")
	word := func(n int) string {
		r := make([]rune, rng.IntN(n))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(r)
	}
	for range 20000 {
		p, s := word(7), word(7)
		expr := "(?s)^"
		for _, c := range p {
			switch c {
			case '*':
				expr += ".*"
			case '?':
				expr += "."
			default:
				expr += regexp.QuoteMeta(string(c))
			}
		}
		expr += "$"
		for _, fold := range []bool{false, true} {
			var opts []iamprune.GlobOption
			re := expr
			if fold {
				opts, re = []iamprune.GlobOption{iamprune.FoldCase}, "(?i)"+expr
			}
			want := regexp.MustCompile(re).MatchString(s)
			if got := iamprune.MatchGlob(p, s, opts...); got != want {
				t.Fatalf("MatchGlob(%q, %q, fold %v) = %v, the regexp says %v", p, s, fold, got, want)
			}
		}
	}
}

func TestParseARN(t *testing.T) {
	tests := []struct {
		arn  string
		want iamprune.ParsedARN
		ok   bool
	}{
		{"arn:aws:iam::111122223333:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport",
			iamprune.ParsedARN{Partition: "aws", Service: "iam", Account: "111122223333", Kind: "role", Path: "/aws-service-role/support.amazonaws.com/", Name: "AWSServiceRoleForSupport"}, true},
		{"arn:aws:iam::111122223333:user/alice",
			iamprune.ParsedARN{Partition: "aws", Service: "iam", Account: "111122223333", Kind: "user", Path: "/", Name: "alice"}, true},
		{"arn:aws:sts::111122223333:assumed-role/iamprune-runner/session",
			iamprune.ParsedARN{Partition: "aws", Service: "sts", Account: "111122223333", Kind: "assumed-role", Path: "/", Name: "iamprune-runner"}, true},
		{"arn:aws-us-gov:iam::111122223333:root",
			iamprune.ParsedARN{Partition: "aws-us-gov", Service: "iam", Account: "111122223333", Kind: "root", Path: "/"}, true},
		{"not-an-arn", iamprune.ParsedARN{}, false},
	}
	for _, tt := range tests {
		got, ok := iamprune.ParseARN(tt.arn)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseARN(%q) = %+v, %v; want %+v, %v", tt.arn, got, ok, tt.want, tt.ok)
		}
	}
}

func TestProtection(t *testing.T) {
	p := iamprune.Protection{
		Globs:  []string{"arn:aws:iam::*:role/BreakGlass*"},
		Caller: "arn:aws:sts::111122223333:assumed-role/iamprune-runner/ci",
	}
	tests := []struct {
		arn, path string
		protected bool
	}{
		{"arn:aws:iam::111122223333:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport", "", true},
		{"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ReadOnly_abc", "", true},
		{"arn:aws:iam::111122223333:role/OrganizationAccountAccessRole", "/", true},
		{"arn:aws:iam::111122223333:role/automation/iamprune-runner", "/automation/", true},
		{"arn:aws:iam::444455556666:role/iamprune-runner", "/", false},
		{"arn:aws:iam::111122223333:user/iamprune-runner", "/", false},
		{"arn:aws:iam::111122223333:role/BreakGlassAdmin", "/", true},
		{"arn:aws:iam::111122223333:role/WebAppRole", "/", false},
		// A role that only pretends to be service-linked by name is not.
		{"arn:aws:iam::111122223333:role/AWSServiceRoleForFake", "/", false},
	}
	for _, tt := range tests {
		if got := p.Check(tt.arn, tt.path) != ""; got != tt.protected {
			t.Errorf("Check(%s) protected=%v, want %v", tt.arn, got, tt.protected)
		}
	}
	user := iamprune.Protection{Caller: "arn:aws:iam::111122223333:user/ops/deployer"}
	if user.Check("arn:aws:iam::111122223333:user/deployer", "/") == "" {
		t.Error("the calling IAM user is not protected")
	}
}

func TestExceptionExpiry(t *testing.T) {
	e := iamprune.Exception{Principal: "arn:aws:iam::1:role/x", Expires: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}
	if e.Expired(time.Date(2026, 11, 28, 23, 59, 0, 0, time.UTC)) {
		t.Error("an exception applies through its expiry date")
	}
	if !e.Expired(time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)) {
		t.Error("an exception no longer applies the day after its expiry date")
	}
	if (iamprune.Exception{}).Expired(time.Now()) {
		t.Error("an exception without expiry never expires")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := iamprune.DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := func(mut func(*iamprune.Config)) iamprune.Config {
		c := iamprune.DefaultConfig()
		c.Rules = map[iamprune.FindingType]iamprune.Rule{}
		for k, v := range iamprune.DefaultConfig().Rules {
			c.Rules[k] = v
		}
		mut(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  iamprune.Config
		want string
	}{
		{"wrong action for type", bad(func(c *iamprune.Config) {
			c.Rules[iamprune.UnusedIAMRole] = iamprune.Rule{NotifyAfterDays: 1, RemediateAfterDays: 2, Action: iamprune.KindDeactivateAccessKey}
		}), "rules.UnusedIAMRole.action"},
		{"notify after remediate", bad(func(c *iamprune.Config) {
			c.Rules[iamprune.UnusedIAMRole] = iamprune.Rule{NotifyAfterDays: 200, RemediateAfterDays: 100, Action: iamprune.KindQuarantineRole}
		}), "notify_after_days"},
		{"negative limit", bad(func(c *iamprune.Config) { c.Limits.MaxActionsPerRun = -1 }), "limits.max_actions_per_run"},
		{"bad analyzer", bad(func(c *iamprune.Config) { c.Analyzer = "arn:aws:iam::1:role/x" }), "analyzer"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if err == nil || iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", tt.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %q does not name %q", tt.name, err, tt.want)
		}
	}
	notifyOnly := bad(func(c *iamprune.Config) {
		c.Rules[iamprune.UnusedPermission] = iamprune.Rule{NotifyAfterDays: 1, RemediateAfterDays: 2, Action: iamprune.KindNotifyOnly}
	})
	if err := notifyOnly.Validate(); err != nil {
		t.Errorf("notify-only rejected: %v", err)
	}
}

// An expiry with a time of day in another zone ends with its UTC day, not
// at that time of day nor with its local day.
func TestExceptionExpiredZone(t *testing.T) {
	e := iamprune.Exception{Expires: time.Date(2026, 12, 31, 22, 30, 0, 0, time.FixedZone("EST", -5*3600))} // 2027-01-01T03:30Z
	if e.Expired(time.Date(2027, 1, 1, 23, 59, 59, 0, time.UTC)) {
		t.Error("expired during its last UTC day")
	}
	if !e.Expired(time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Error("still applies the UTC day after its expiry")
	}
}

func TestNoticeRecordValidate(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	good := iamprune.NoticeRecord{Account: "111122223333", ItemKey: "k", Status: iamprune.NoticeSent, SentAt: at}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	tests := []struct {
		name string
		edit func(*iamprune.NoticeRecord)
		want string
	}{
		{"no account", func(n *iamprune.NoticeRecord) { n.Account = "" }, `notice needs an account and an item key (got "", "k")`},
		{"no item key", func(n *iamprune.NoticeRecord) { n.ItemKey = "" }, `notice needs an account and an item key (got "111122223333", "")`},
		{"bad status", func(n *iamprune.NoticeRecord) { n.Status = "queued" }, `notice of k has status "queued", want sent or failed`},
		{"no sent_at", func(n *iamprune.NoticeRecord) { n.SentAt = time.Time{} }, "notice of k has no sent_at"},
	}
	for _, tt := range tests {
		n := good
		tt.edit(&n)
		err := n.Validate()
		if err == nil || err.Error() != tt.want || iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("%s: Validate() = %v (code %q), want %q (invalid)", tt.name, err, iamprune.ErrorCode(err), tt.want)
		}
	}
}

func TestSplitARN(t *testing.T) {
	tests := []struct {
		s    string
		want iamprune.ARN
		ok   bool
	}{
		{"arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/org",
			iamprune.ARN{Partition: "aws", Service: "access-analyzer", Region: "eu-west-1", Account: "111122223333", Resource: "analyzer/org"}, true},
		{"arn:aws:iam::111122223333:role/a/b", iamprune.ARN{Partition: "aws", Service: "iam", Account: "111122223333", Resource: "role/a/b"}, true},
		{"arn:aws:sns:us-east-1:111122223333:topic:with:colons",
			iamprune.ARN{Partition: "aws", Service: "sns", Region: "us-east-1", Account: "111122223333", Resource: "topic:with:colons"}, true},
		{"arn:::::", iamprune.ARN{}, true},
		{"arn:aws:iam::111122223333", iamprune.ARN{}, false},
		{"ARN:aws:iam::111122223333:root", iamprune.ARN{}, false},
		{"", iamprune.ARN{}, false},
	}
	for _, tt := range tests {
		got, ok := iamprune.SplitARN(tt.s)
		if ok != tt.ok || got != tt.want {
			t.Errorf("SplitARN(%q) = %+v, %v; want %+v, %v", tt.s, got, ok, tt.want, tt.ok)
		}
	}
	typ, rest, ok := iamprune.ARN{Resource: "role/a/b"}.ResourceType()
	if typ != "role" || rest != "a/b" || !ok {
		t.Errorf("ResourceType() = %q, %q, %v", typ, rest, ok)
	}
}

func TestPlanPendingCountsRoundTrip(t *testing.T) {
	p := iamprune.Plan{Actions: []iamprune.Action{
		{Kind: iamprune.KindNotify}, {Kind: iamprune.KindQuarantineRole},
		{Kind: iamprune.KindQuarantineRole, Done: &iamprune.DoneRef{RunID: "r"}}, {Kind: iamprune.KindExempt},
	}}
	got := p.PendingCounts()
	want := map[iamprune.ActionKind]int{iamprune.KindNotify: 1, iamprune.KindQuarantineRole: 1, iamprune.KindExempt: 1}
	if !maps.Equal(got, want) {
		t.Fatalf("PendingCounts = %v, want %v", got, want)
	}
	s, err := iamprune.EncodePlanCounts(got)
	if err != nil {
		t.Fatal(err)
	}
	back, err := iamprune.DecodePlanCounts(s)
	if err != nil || !maps.Equal(back, want) {
		t.Errorf("decoded %q to %v, %v", s, back, err)
	}
	if s, _ := iamprune.EncodePlanCounts(nil); s != "" {
		t.Errorf("no counts encode as %q", s)
	}
	if c, err := iamprune.DecodePlanCounts(""); c != nil || err != nil {
		t.Errorf("empty decodes as %v, %v", c, err)
	}
	if _, err := iamprune.DecodePlanCounts("{"); err == nil {
		t.Error("bad counts decode without error")
	}
}
