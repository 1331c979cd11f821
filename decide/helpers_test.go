package decide

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

const acct = "111122223333"

// now is the fixed clock of every test: 2026-11-28T00:00:00Z.
var now = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// config is the default configuration without prior notice: the cases
// that predate the rule test the ageing rules alone (notice_test.go tests
// prior notice).
func config() iamprune.Config {
	cfg := iamprune.DefaultConfig()
	cfg.Notifications.RequirePriorNotice = false
	return cfg
}

func ago(days int) *time.Time {
	t := now.Add(-time.Duration(days) * 24 * time.Hour)
	return &t
}

// on is the date `days` after now, for expected remediate_on values.
func on(days int) string { return now.AddDate(0, 0, days).Format(time.DateOnly) }

func arn(res string) string { return "arn:aws:iam::" + acct + ":" + res }

func user(name string) *iamprune.Principal {
	return &iamprune.Principal{ARN: arn("user/" + name), Kind: iamprune.KindUser, Name: name, Path: "/",
		Account: acct, CreateDate: *ago(500), KeysKnown: true, LoginProfileKnown: true}
}

func role(path, name string) *iamprune.Principal {
	return &iamprune.Principal{ARN: arn("role" + path + name), Kind: iamprune.KindRole, Name: name, Path: path,
		Account: acct, CreateDate: *ago(400)}
}

func withKeys(p *iamprune.Principal, keys ...iamprune.AccessKey) *iamprune.Principal {
	p.AccessKeys = keys
	return p
}

func withPassword(p *iamprune.Principal, created int, lastUsed *time.Time) *iamprune.Principal {
	p.LoginProfile = &iamprune.LoginProfile{CreateDate: *ago(created), PasswordLastUsed: lastUsed}
	return p
}

func key(id string, created int) iamprune.AccessKey {
	return iamprune.AccessKey{ID: id, Status: "Active", CreateDate: *ago(created)}
}

func finding(id string, t iamprune.FindingType, p *iamprune.Principal) iamprune.Finding {
	return iamprune.Finding{ID: id, Type: t, Status: iamprune.StatusActive, Resource: p.ARN, Account: acct}
}

func keyFinding(id string, p *iamprune.Principal, keys ...iamprune.KeyUsage) iamprune.Finding {
	f := finding(id, iamprune.UnusedIAMUserAccessKey, p)
	f.ResourceType = "AWS::IAM::User"
	f.AccessKeys = keys
	return f
}

func used(id string, last *time.Time) iamprune.KeyUsage {
	return iamprune.KeyUsage{AccessKeyID: id, LastAccessed: last}
}

func permFinding(id string, p *iamprune.Principal, svcs ...iamprune.ServiceUsage) iamprune.Finding {
	f := finding(id, iamprune.UnusedPermission, p)
	f.Services = svcs
	return f
}

func svc(ns string, last *time.Time, actions ...iamprune.ActionUsage) iamprune.ServiceUsage {
	return iamprune.ServiceUsage{Namespace: ns, LastAccessed: last, Actions: actions}
}

func facts(ps ...*iamprune.Principal) *iamprune.Facts {
	f := &iamprune.Facts{Account: acct, Partition: "aws", Caller: arn("role/iamprune-runner"), Principals: map[string]*iamprune.Principal{}}
	for _, p := range ps {
		f.Principals[p.ARN] = p
	}
	return f
}

// line renders the fields a test checks on one action, compactly.
func line(a iamprune.Action) string {
	s := fmt.Sprintf("%s %s %s", a.Kind, a.Target, a.FindingType)
	if len(a.Services) > 0 {
		s += " [" + strings.Join(a.Services, " ") + "]"
	}
	s += fmt.Sprintf(" days=%d on=%s | %s", a.UnusedDays, a.RemediateOn, a.Reason)
	if a.Exception != "" || a.ExceptionExpires != "" {
		s += fmt.Sprintf(" | exception=%s expires=%s", a.Exception, a.ExceptionExpires)
	}
	return s
}

func lines(p iamprune.Plan) []string {
	out := []string{}
	for _, a := range p.Actions {
		out = append(out, line(a))
	}
	return out
}

func checkLines(t *testing.T, p iamprune.Plan, want []string) {
	t.Helper()
	got := lines(p)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("actions:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// sent is a notice of itemKey sent daysAgo; failed one whose channel failed.
func sent(itemKey string, daysAgo int) iamprune.NoticeRecord {
	return iamprune.NoticeRecord{Account: acct, ItemKey: itemKey, Channel: "slack", Status: iamprune.NoticeSent, SentAt: *ago(daysAgo)}
}

func failed(itemKey string, daysAgo int) iamprune.NoticeRecord {
	n := sent(itemKey, daysAgo)
	n.Status, n.Error = iamprune.NoticeFailed, "slack: 500 Internal Server Error"
	return n
}
