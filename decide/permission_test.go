package decide

import (
	"testing"

	"github.com/iamprune/iamprune"
)

func TestUnusedPermission(t *testing.T) {
	app := role("/", "app") // created 400 days ago
	bob := user("bob")
	mixed := permFinding("p1", app,
		svc("ec2", ago(200)),
		svc("s3", ago(130)),
		svc("sqs", nil), // never used: aged from the role's creation
		svc("sns", ago(100)),
		svc("sts", ago(40)),
		svc("lambda", ago(10)),
		// Recently used service with unused actions: never denied.
		svc("iam", ago(5), iamprune.ActionUsage{Action: "iam:CreateUser"}, iamprune.ActionUsage{Action: "iam:DeleteUser"}),
		// No service-level date, but an action used 3 days ago: in use.
		svc("dynamodb", nil, iamprune.ActionUsage{Action: "dynamodb:GetItem", LastAccessed: ago(3)}, iamprune.ActionUsage{Action: "dynamodb:PutItem"}),
	)
	runCases(t, []planCase{
		{
			name:       "one deny for aged services, one notice for the rest",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{mixed},
			want: []string{
				"deny-unused-services app UnusedPermission [ec2 s3 sqs] days=130 on=" + on(-10) + " | 3 services unused for at least 130 days (limit 120): ec2, s3, sqs",
				"notify app UnusedPermission [sns sts] days=100 on=" + on(20) + " | will deny-unused-services on " + on(20) + " (unused up to 100 days, notify after 30): sns, sts",
			},
		},
		{
			// Reference defect: short lists were never written, yet reported as remediated.
			name:       "regression: a single service still gets its deny",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{permFinding("p1", app, svc("s3", ago(200)))},
			want:       []string{"deny-unused-services app UnusedPermission [s3] days=200 on=" + on(-80) + " | 1 service unused for 200 days (limit 120): s3"},
		},
		{
			// Reference defect: PutRolePolicy was called with a user's name.
			name:       "regression: UnusedPermission on a user targets the user",
			principals: []*iamprune.Principal{bob},
			findings:   []iamprune.Finding{permFinding("p2", bob, svc("s3", nil), svc("kms", ago(150)))},
			want:       []string{"deny-unused-services bob UnusedPermission [kms s3] days=150 on=" + on(-30) + " | 2 services unused for at least 150 days (limit 120): kms, s3"},
		},
		{
			name:       "notify-only: one notice for every aged service",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{permFinding("p1", app, svc("ec2", ago(200)), svc("sns", ago(100)), svc("lambda", ago(3)))},
			config:     setRule(iamprune.UnusedPermission, iamprune.Rule{NotifyAfterDays: 30, RemediateAfterDays: 120, Action: iamprune.KindNotifyOnly}),
			want:       []string{"notify app UnusedPermission [ec2 sns] days=200 on=" + on(-80) + " | 2 services unused for up to 200 days (limit 120); remediation disabled (notify-only): ec2, sns"},
		},
		{
			name:       "pages repeating a service are merged, keeping the latest use",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{permFinding("p1", app, svc("s3", ago(200)), svc("s3", ago(50)))},
			want:       []string{"notify app UnusedPermission [s3] days=50 on=" + on(70) + " | will deny-unused-services on " + on(70) + " (unused 50 days, notify after 30): s3"},
		},
		{
			name:       "every service recent: no entry",
			principals: []*iamprune.Principal{app},
			findings:   []iamprune.Finding{permFinding("p1", app, svc("s3", ago(2)), svc("iam", ago(29), iamprune.ActionUsage{Action: "iam:PassRole"}))},
			want:       []string{},
		},
	})
}

func TestUnusedPermissionOnUserFields(t *testing.T) {
	bob := user("bob")
	p := Plan(Input{Findings: []iamprune.Finding{permFinding("p2", bob, svc("s3", ago(200)))}, Facts: facts(bob), Config: config(), Now: now})
	if len(p.Actions) != 1 {
		t.Fatalf("got %d actions, want 1", len(p.Actions))
	}
	a := p.Actions[0]
	if a.Principal != arn("user/bob") || a.Target != "bob" || a.Kind != iamprune.KindDenyUnusedServices {
		t.Errorf("principal=%s target=%s kind=%s, want the user ARN, bob, deny-unused-services", a.Principal, a.Target, a.Kind)
	}
	if a.LastAccessed == nil || !a.LastAccessed.Equal(*ago(200)) {
		t.Errorf("last_accessed = %v, want %v", a.LastAccessed, *ago(200))
	}
}

func TestLastAccessedIsTheMostRecent(t *testing.T) {
	app := role("/", "app")
	p := Plan(Input{Findings: []iamprune.Finding{permFinding("p1", app, svc("ec2", ago(300)), svc("s3", ago(150)), svc("sqs", nil))},
		Facts: facts(app), Config: config(), Now: now})
	if len(p.Actions) != 1 || p.Actions[0].LastAccessed == nil || !p.Actions[0].LastAccessed.Equal(*ago(150)) {
		t.Fatalf("want one action last accessed %v, got %+v", *ago(150), p.Actions)
	}
	// Never used: no last_accessed.
	p = Plan(Input{Findings: []iamprune.Finding{permFinding("p1", app, svc("sqs", nil))}, Facts: facts(app), Config: config(), Now: now})
	if len(p.Actions) != 1 || p.Actions[0].LastAccessed != nil {
		t.Fatalf("want one action without last_accessed, got %+v", p.Actions)
	}
}
