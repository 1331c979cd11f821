package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

func sampleDigest() iamprune.Digest {
	return iamprune.Digest{
		Account:             acct,
		GeneratedAt:         day("2026-11-28T09:00:00Z"),
		Route:               "team-*",
		Owner:               "team-payments",
		ExceptionRequestURL: "https://wiki.example.com/exceptions",
		Principals: []iamprune.DigestPrincipal{
			{ARN: arn("role", "WebAppRole"), Owner: "team-payments", Items: []iamprune.DigestItem{{
				ActionID: "a1", FindingType: iamprune.UnusedPermission, Kind: iamprune.KindNotify, Target: "WebAppRole",
				Services: []string{"s3", "sqs"}, UnusedDays: 45, RemediateOn: "2026-12-20",
				Reason: "will deny-unused-services on 2026-12-20 (unused up to 45 days, notify after 30): s3, sqs", Notice: "reminder: 14 days before remediation",
				ExceptionYAML: "- principal: " + arn("role", "WebAppRole") + "\n  services: [s3, sqs]\n",
			}}},
			{ARN: arn("user", "alice"), Owner: "team-payments", Items: []iamprune.DigestItem{
				{ActionID: "a2", FindingType: iamprune.UnusedIAMUserAccessKey, Kind: iamprune.KindDeactivateAccessKey, Target: "AKIAALICE1",
					UnusedDays: 130, RemediateOn: "2026-12-05", Reason: "access key unused for 130 days (limit 90)", Notice: NoticeFirst},
				{ActionID: "a3", FindingType: iamprune.UnusedIAMUserPassword, Kind: iamprune.KindDeleteLoginProfile, Target: "alice",
					UnusedDays: 200, RemediateOn: "2026-06-01", Reason: "console password unused for 200 days (limit 90)", Notice: NoticeDone,
					DoneRunID: "run-7", RollbackCommand: RollbackCommand("run-7", "a3")},
			}},
		},
	}
}

func TestRenderBuiltin(t *testing.T) {
	m, err := Render(sampleDigest(), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "iamprune: 3 items for team-payments in 111122223333 (next action 2026-12-05)"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	for _, want := range []string{
		"== " + arn("role", "WebAppRole") + " (owner: team-payments)",
		"* unused services s3, sqs [reminder: 14 days before remediation]",
		"Unused:       45 days",
		"What happens: nothing yet; will deny-unused-services on 2026-12-20",
		"What happens: iamprune will deactivate access key AKIAALICE1 on 2026-12-05.",
		"Why:          access key unused for 130 days (limit 90)",
		"What happens: iamprune deleted the console password of alice (run run-7).",
		"To undo it:   iamprune rollback run-7 --action a3 --yes",
		"ask for an exception at https://wiki.example.com/exceptions",
		"    - principal: " + arn("role", "WebAppRole") + "\n      services: [s3, sqs]",
	} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	for _, want := range []string{
		"<code>iamprune rollback run-7 --action a3 --yes</code>",
		`<a href="https://wiki.example.com/exceptions">`,
		"<pre>- principal: " + arn("role", "WebAppRole"),
	} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
		}
	}
	if m.Digest == nil || m.Digest.Owner != "team-payments" {
		t.Errorf("message does not carry its digest: %+v", m.Digest)
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	d := sampleDigest()
	d.Principals[1].Items[0].Reason = "<script>alert(1)</script>"
	m, err := Render(d, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") {
		t.Error("HTML body carries an unescaped reason")
	}
}

func TestRenderSubjects(t *testing.T) {
	done := sampleDigest()
	done.Principals = done.Principals[1:]
	done.Principals[0].Items = done.Principals[0].Items[1:]
	overdue := sampleDigest()
	overdue.Principals[1].Items[0].RemediateOn = "2026-11-01" // due at the next apply
	noOwner := sampleDigest()
	noOwner.Owner, noOwner.Route = "", DefaultRoute
	tests := []struct {
		name string
		d    iamprune.Digest
		want string
	}{
		{"changes made", done, "iamprune: 1 change made for team-payments in 111122223333"},
		{"overdue counts as today", overdue, "iamprune: 3 items for team-payments in 111122223333 (next action 2026-11-28)"},
		{"several owners", noOwner, "iamprune: 3 items for owners without a route in 111122223333 (next action 2026-12-05)"},
		{"errors", ErrorDigest([]string{"a", "b"}, iamprune.Notifications{}).Digest, "iamprune: 2 problems in the run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Render(tt.d, "")
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tt.want {
				t.Errorf("subject %q, want %q", m.Subject, tt.want)
			}
		})
	}
}

func TestRenderOverride(t *testing.T) {
	builtin, err := Render(sampleDigest(), "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Render(sampleDigest(), filepath.Join("testdata", "templates-override"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "[IAM] 3 for team-payments due 2026-12-05"; m.Subject != want {
		t.Errorf("overridden subject %q, want %q", m.Subject, want)
	}
	// Templates the folder lacks stay built in.
	if m.Text != builtin.Text || m.HTML != builtin.HTML {
		t.Error("text or HTML changed although the override folder only has a subject")
	}
}

func TestRenderBadOverride(t *testing.T) {
	unreadable := t.TempDir()
	if err := os.Mkdir(filepath.Join(unreadable, SubjectTemplate), 0o755); err != nil { // a folder where a file should be
		t.Fatal(err)
	}
	tests := []struct {
		dir, file, want string
	}{
		{filepath.Join("testdata", "templates-broken"), TextTemplate, "does not parse"},
		{filepath.Join("testdata", "templates-exec-error"), HTMLTemplate, "failed"},
		{unreadable, SubjectTemplate, "cannot read template"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			_, err := Render(sampleDigest(), tt.dir)
			if err == nil {
				t.Fatal("Render succeeded")
			}
			if iamprune.ErrorCode(err) != iamprune.EINVALID {
				t.Errorf("code %q, want %q", iamprune.ErrorCode(err), iamprune.EINVALID)
			}
			if path := filepath.Join(tt.dir, tt.file); !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s and say %q", err, path, tt.want)
			}
		})
	}
}

// A held item tells its owner that it is left alone until the hold ends,
// and gives the exception entry that makes it permanent.
func TestRenderHeldItem(t *testing.T) {
	a := iamprune.Action{ID: "h1", Account: "111122223333", Principal: arn("role", "LegacyBatchRole"), FindingType: iamprune.UnusedIAMRole,
		Kind: iamprune.KindExempt, Target: "LegacyBatchRole", Services: []string{}, UnusedDays: 200, RemediateOn: "2026-06-01",
		Reason: "held until 2026-12-28 after rollback R2 of run R1 (iamprune holds release hold-1 to end it)", Hold: "hold-1", HoldUntil: "2026-12-28"}
	plan := &iamprune.Plan{Account: "111122223333", GeneratedAt: day("2026-11-28T00:00:00Z"), Actions: []iamprune.Action{a}}
	n := iamprune.DefaultNotifications()
	n.Default = []string{"c"}
	ds := Route(Select(plan, nil, n, day("2026-11-28T00:00:00Z")), nil, n)
	if len(ds) != 1 {
		t.Fatalf("%d deliveries, want 1", len(ds))
	}
	m, err := Render(ds[0].Digest, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"[" + NoticeHeld + "]",
		"What happens: nothing for now: held until 2026-12-28 after rollback R2 of run R1 (iamprune holds release hold-1 to end it).",
		"- principal: " + arn("role", "LegacyBatchRole"),
		"finding_types: [UnusedIAMRole]",
		"expires: 2027-02-26",
	} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
}
