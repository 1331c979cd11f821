package decide

import (
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func TestHolds(t *testing.T) {
	alice := withKeys(user("alice"), key("AKIAALICE1", 400))
	legacy := role("/", "legacy")
	app := role("/", "app")
	keys := keyFinding("k1", alice, used("AKIAALICE1", ago(272)))
	unusedRole := finding("r1", iamprune.UnusedIAMRole, legacy)
	perm := permFinding("p1", app, svc("ec2", ago(200)), svc("s3", ago(130)), svc("sqs", ago(150)))
	hold := func(principal *iamprune.Principal, ft iamprune.FindingType, target string, until time.Time, services ...string) iamprune.Hold {
		if services == nil {
			services = []string{}
		}
		return iamprune.Hold{
			ID: iamprune.HoldID(acct, principal.ARN, ft, target), Account: acct, Principal: principal.ARN, FindingType: ft,
			Target: target, Services: services, RunID: "R1", RollbackRunID: "R2", By: "ops", At: *ago(1), Until: until,
		}
	}
	until := now.AddDate(0, 0, 29)
	keyHold := hold(alice, iamprune.UnusedIAMUserAccessKey, "AKIAALICE1", until)
	roleHold := hold(legacy, iamprune.UnusedIAMRole, "legacy", until)
	released := roleHold
	released.ReleasedAt, released.ReleasedBy = ago(0), "ops"
	reason := func(h iamprune.Hold, svc string) string {
		return "held" + svc + " until 2026-12-27 after rollback R2 of run R1 (iamprune holds release " + h.ID + " to end it)"
	}
	permHold := hold(app, iamprune.UnusedPermission, "app", until, "ec2", "sqs")

	// erin's password was deleted, then restored by the rollback: a fresh
	// login profile, never used, younger than notify_after_days.
	erin := withPassword(user("erin"), 0, nil)
	pwHold := hold(erin, iamprune.UnusedIAMUserPassword, "erin", until)
	runCases(t, []planCase{
		{
			name:       "a held item stays in the plan while its restored credential is young",
			principals: []*iamprune.Principal{erin},
			findings:   []iamprune.Finding{finding("pw", iamprune.UnusedIAMUserPassword, erin)},
			holds:      []iamprune.Hold{pwHold},
			want:       []string{"exempt erin UnusedIAMUserPassword days=0 on=2027-02-26 | " + reason(pwHold, "") + "; would notify (never used; created 0 days ago, notify after 30)"},
		},
		{
			name:       "a held key is exempt, naming the rollback and the hold's end",
			principals: []*iamprune.Principal{alice},
			findings:   []iamprune.Finding{keys},
			holds:      []iamprune.Hold{keyHold},
			want:       []string{"exempt AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | " + reason(keyHold, "") + "; would deactivate-access-key (unused 272 days, limit 90)"},
		},
		{
			name:       "a held role is exempt",
			principals: []*iamprune.Principal{legacy},
			findings:   []iamprune.Finding{unusedRole},
			holds:      []iamprune.Hold{roleHold},
			want:       []string{"exempt legacy UnusedIAMRole days=400 on=2026-02-21 | " + reason(roleHold, "") + "; would quarantine-role (never used; created 400 days ago, limit 120)"},
		},
		{
			name:       "a released hold no longer applies",
			principals: []*iamprune.Principal{legacy},
			findings:   []iamprune.Finding{unusedRole},
			holds:      []iamprune.Hold{released},
			want:       []string{"quarantine-role legacy UnusedIAMRole days=400 on=2026-02-21 | role never assumed; created 400 days ago (limit 120)"},
		},
		{
			name:       "an ended hold no longer applies",
			principals: []*iamprune.Principal{legacy},
			findings:   []iamprune.Finding{unusedRole},
			holds:      []iamprune.Hold{hold(legacy, iamprune.UnusedIAMRole, "legacy", now)},
			want:       []string{"quarantine-role legacy UnusedIAMRole days=400 on=2026-02-21 | role never assumed; created 400 days ago (limit 120)"},
		},
		{
			name:       "a hold on another item does not apply",
			principals: []*iamprune.Principal{alice, legacy},
			findings:   []iamprune.Finding{keys},
			holds:      []iamprune.Hold{roleHold, hold(alice, iamprune.UnusedIAMUserAccessKey, "AKIAOTHER", until)},
			want:       []string{"deactivate-access-key AKIAALICE1 UnusedIAMUserAccessKey days=272 on=2026-05-30 | access key unused for 272 days (limit 90)"},
		},
		{
			name:       "only the held services of a permission finding are exempt",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{perm},
			holds:      []iamprune.Hold{permHold},
			want: []string{
				"deny-unused-services app UnusedPermission [s3] days=130 on=2026-11-18 | 1 service unused for 130 days (limit 120): s3",
				"exempt app UnusedPermission [ec2 sqs] days=200 on=2026-09-09 | " + reason(permHold, " for ec2, sqs") + "; would deny-unused-services for ec2, sqs (unused at least 150 days, limit 120)",
			},
		},
		{
			name:       "an exception wins over a hold",
			principals: []*iamprune.Principal{legacy},
			findings:   []iamprune.Finding{unusedRole},
			holds:      []iamprune.Hold{roleHold},
			exceptions: []iamprune.Exception{{Principal: legacy.ARN, File: "allow.txt", Line: 1}},
			want: []string{"exempt legacy UnusedIAMRole days=400 on=2026-02-21 | exempt by exception " + legacy.ARN +
				" (allow.txt:1); would quarantine-role (never used; created 400 days ago, limit 120) | exception=" + legacy.ARN + " expires="},
		},
	})
}

// A held entry says which hold, and until when, for notices and apply.
func TestHoldFields(t *testing.T) {
	legacy := role("/", "legacy")
	h := iamprune.Hold{ID: "hold-x", Account: acct, Principal: legacy.ARN, FindingType: iamprune.UnusedIAMRole, Target: "legacy",
		Services: []string{}, RunID: "R1", RollbackRunID: "R2", Until: now.AddDate(0, 0, 3)}
	p := Plan(Input{Findings: []iamprune.Finding{finding("r1", iamprune.UnusedIAMRole, legacy)}, Facts: facts(legacy), Config: config(), Now: now, Holds: []iamprune.Hold{h}})
	if len(p.Actions) != 1 || p.Actions[0].Hold != "hold-x" || p.Actions[0].HoldUntil != "2026-12-01" || p.Actions[0].Kind.IsRemediation() {
		t.Fatalf("actions %+v, want one exempt entry with hold hold-x until 2026-12-01", p.Actions)
	}
}
