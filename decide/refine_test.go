package decide

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

const (
	docS3EC2  = `{"Version":"2012-10-17","Statement":[{"Sid":"App","Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}`
	docEC2    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`
	docDyn    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}]}`
	docS3Deny = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"ec2:TerminateInstances","Resource":"*"}]}`
)

func rewriteConfig(kind iamprune.ActionKind) iamprune.Config {
	cfg := config()
	cfg.Rules[iamprune.UnusedPermission] = iamprune.Rule{NotifyAfterDays: 30, RemediateAfterDays: 120, Action: kind}
	return cfg
}

// TestRewritePolicy checks how each kind of policy is planned, and that the
// planned documents remove exactly the entry's services.
func TestRewritePolicy(t *testing.T) {
	app := role("/", "app")
	app.InlinePolicies = []iamprune.InlinePolicy{{Name: "inline-app", Document: json.RawMessage(docS3EC2)}, {Name: "inline-dyn", Document: json.RawMessage(docDyn)}}
	sole, shared, awsm := arn("policy/sole"), arn("policy/shared"), "arn:aws:iam::aws:policy/AmazonEC2FullAccess"
	app.AttachedPolicies = []string{sole, shared, awsm}
	fs := facts(app)
	fs.ManagedPolicies = map[string]*iamprune.ManagedPolicy{
		sole:   {ARN: sole, Name: "sole", DefaultVersion: "v2", Document: json.RawMessage(docEC2), AttachmentCount: 1},
		shared: {ARN: shared, Name: "shared", DefaultVersion: "v1", Document: json.RawMessage(docS3Deny), AttachmentCount: 3},
		awsm:   {ARN: awsm, Name: "AmazonEC2FullAccess", DefaultVersion: "v9", Document: json.RawMessage(docEC2), AttachmentCount: 1, AWSManaged: true},
	}
	f := permFinding("p1", app, svc("ec2", ago(200)), svc("s3", ago(20)))
	for _, kind := range []iamprune.ActionKind{iamprune.KindRewritePolicy, iamprune.KindProposePolicy} {
		t.Run(string(kind), func(t *testing.T) {
			plan := Plan(Input{Findings: []iamprune.Finding{f}, Facts: fs, Config: rewriteConfig(kind), Now: now})
			if len(plan.Actions) != 1 {
				t.Fatalf("want one entry, got %v", lines(plan))
			}
			a := plan.Actions[0]
			if a.Kind != kind || strings.Join(a.Services, ",") != "ec2" {
				t.Fatalf("entry: %s", line(a))
			}
			got := map[string]iamprune.PolicyChange{}
			for _, c := range a.Policies {
				got[c.Policy] = c
			}
			want := map[string]iamprune.RewriteMethod{
				"inline-app": iamprune.MethodPutInline,
				sole:         iamprune.MethodDetach, // only ec2: nothing used remains
				shared:       "",                    // grants s3 only: unchanged
				awsm:         iamprune.MethodDetach, // AWS-managed, only ec2
				"inline-dyn": "",                    // unchanged
			}
			for p, m := range want {
				c, ok := got[p]
				if m == "" {
					if ok {
						t.Errorf("%s: planned %s, want unchanged", p, c.Method)
					}
					continue
				}
				if !ok || c.Method != m {
					t.Errorf("%s: method %q, want %q", p, c.Method, m)
				}
			}
			c := got["inline-app"]
			if len(c.After) != 1 || string(c.Before) != docS3EC2 {
				t.Fatalf("inline-app change: %+v", c)
			}
			doc, err := policy.Parse(c.After[0])
			if err != nil {
				t.Fatal(err)
			}
			docs := []policy.Document{doc}
			if !policy.Allowed(docs, "s3:GetObject") || policy.Allowed(docs, "ec2:DescribeInstances") {
				t.Errorf("refined inline-app: %s", c.After[0])
			}
			if doc.Statement[0].Sid != "App" || c.Evidence == "" {
				t.Errorf("Sid or evidence lost: %s / %q", c.After[0], c.Evidence)
			}
			if want := map[iamprune.ActionKind]string{iamprune.KindRewritePolicy: "inline-app (put-inline)", iamprune.KindProposePolicy: "policies: inline-app, sole"}[kind]; !strings.Contains(a.Reason, want) {
				t.Errorf("reason does not list the policies: %s", a.Reason)
			}
		})
	}
}

func TestRewritePolicyMethods(t *testing.T) {
	app := role("/", "app")
	shared, awsm := arn("policy/shared"), "arn:aws:iam::aws:policy/PowerUser"
	mixed := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}`
	app.AttachedPolicies = []string{shared, awsm}
	fs := facts(app)
	fs.ManagedPolicies = map[string]*iamprune.ManagedPolicy{
		shared: {ARN: shared, Name: "shared", Document: json.RawMessage(mixed), AttachmentCount: 2},
		awsm:   {ARN: awsm, Name: "PowerUser", Document: json.RawMessage(mixed), AttachmentCount: 1, AWSManaged: true},
	}
	plan := Plan(Input{Findings: []iamprune.Finding{permFinding("p1", app, svc("ec2", ago(200)))}, Facts: fs, Config: rewriteConfig(iamprune.KindRewritePolicy), Now: now})
	a := plan.Actions[0]
	if len(a.Policies) != 2 {
		t.Fatalf("policies: %+v", a.Policies)
	}
	for _, c := range a.Policies {
		if c.Method != iamprune.MethodReplaceCopy {
			t.Errorf("%s: %s, want replace-copy", c.Policy, c.Method)
		}
	}
	if a.Policies[1].Type != iamprune.PolicyAWSManaged {
		t.Errorf("type %s", a.Policies[1].Type)
	}
}

func TestRewritePolicyNothingToRefine(t *testing.T) {
	bob := user("bob")
	bob.Groups = []string{"developers"}
	mp := arn("policy/unread")
	bob.AttachedPolicies = []string{mp}
	plan := Plan(Input{Findings: []iamprune.Finding{permFinding("p1", bob, svc("ec2", ago(200)))}, Facts: facts(bob), Config: rewriteConfig(iamprune.KindRewritePolicy), Now: now})
	checkLines(t, plan, []string{
		"skip bob UnusedPermission [ec2] days=0 on= | 1 service unused for 200 days (limit 120): ec2; no policy of the principal can be refined: managed policy " + mp +
			" could not be read and is left as it is; group policies are never changed (groups: developers); the unused services are not granted by its own policies",
	})
}

func TestUnreachableAccount(t *testing.T) {
	app := role("/", "app")
	fs := facts()
	fs.Unreachable = map[string]string{"444455556666": "cannot assume role"}
	f := permFinding("p1", app, svc("ec2", ago(200)))
	f.Account = "444455556666"
	plan := Plan(Input{Findings: []iamprune.Finding{f}, Facts: fs, Config: config(), Now: now})
	checkLines(t, plan, []string{"skip app UnusedPermission days=0 on= | account 444455556666 unreachable: cannot assume role"})
}

// A policy attached only here but used as someone's permissions boundary
// is never changed in place.
func TestRewritePolicyBoundary(t *testing.T) {
	app := role("/", "app")
	sole := arn("policy/boundary")
	mixed := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}`
	app.AttachedPolicies = []string{sole}
	fs := facts(app)
	fs.ManagedPolicies = map[string]*iamprune.ManagedPolicy{sole: {ARN: sole, Name: "boundary", Document: json.RawMessage(mixed), AttachmentCount: 1, BoundaryCount: 2}}
	plan := Plan(Input{Findings: []iamprune.Finding{permFinding("p1", app, svc("ec2", ago(200)))}, Facts: fs, Config: rewriteConfig(iamprune.KindRewritePolicy), Now: now})
	if m := plan.Actions[0].Policies[0].Method; m != iamprune.MethodReplaceCopy {
		t.Errorf("method %s, want replace-copy", m)
	}
}

// A refined inline policy too large for the principal's inline quota is
// split into parts that fit a managed policy each.
func TestRewritePolicyInlineSplit(t *testing.T) {
	bob := user("bob")
	bob.InlinePolicies = []iamprune.InlinePolicy{{Name: "admin", Document: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}}
	plan := Plan(Input{Findings: []iamprune.Finding{permFinding("p1", bob, svc("ec2", ago(200)))}, Facts: facts(bob), Config: rewriteConfig(iamprune.KindRewritePolicy), Now: now})
	c := plan.Actions[0].Policies[0]
	if len(c.After) < 2 {
		t.Fatalf("want the refined admin policy split, got %d part(s)", len(c.After))
	}
	var parts []policy.Document
	for i, raw := range c.After {
		d, err := policy.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if n := policy.Size(d); n > policy.LimitManaged {
			t.Errorf("part %d: %d characters, over the managed limit", i, n)
		}
		parts = append(parts, d)
	}
	if policy.Allowed(parts, "ec2:RunInstances") || !policy.Allowed(parts, "s3:GetObject") {
		t.Error("the parts do not grant what is used and only that")
	}
	if err := policy.Narrows(c.Before, c.After, []string{"ec2"}); err != nil {
		t.Errorf("apply would refuse it: %v", err)
	}
	// The first part is written inline: it must fit a user's inline quota.
	if n := policy.Size(parts[0]); n > policy.LimitInlineUser {
		t.Errorf("inline part: %d characters, over the user inline quota of %d", n, policy.LimitInlineUser)
	}
}

// The inline part fits what the principal's other inline policies leave of
// the quota (a user's 2,048 characters).
func TestRewritePolicyInlineSplitRoom(t *testing.T) {
	bob := user("bob")
	other := `{"Version":"2012-10-17","Statement":[{"Sid":"Other","Effect":"Allow","Action":["` + strings.Repeat("s3:GetObjectVersionTagging\",\"", 40) + `s3:GetObject"],"Resource":"*"}]}`
	bob.InlinePolicies = []iamprune.InlinePolicy{
		{Name: "admin", Document: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)},
		{Name: "other", Document: json.RawMessage(other)},
	}
	otherDoc, err := policy.Parse(json.RawMessage(other))
	if err != nil {
		t.Fatal(err)
	}
	used := policy.Size(otherDoc)
	plan := Plan(Input{Findings: []iamprune.Finding{permFinding("p1", bob, svc("ec2", ago(200)))}, Facts: facts(bob), Config: rewriteConfig(iamprune.KindRewritePolicy), Now: now})
	c := plan.Actions[0].Policies[0]
	if c.Policy != "admin" || len(c.After) < 2 {
		t.Fatalf("want admin split, got %+v", c)
	}
	first, err := policy.Parse(c.After[0])
	if err != nil {
		t.Fatal(err)
	}
	if n := policy.Size(first); used+n > policy.LimitInlineUser {
		t.Errorf("inline part %d + other inline %d characters, over the user inline quota of %d", n, used, policy.LimitInlineUser)
	}
	if err := policy.Narrows(c.Before, c.After, []string{"ec2"}); err != nil {
		t.Errorf("apply would refuse it: %v", err)
	}
}

func TestAccountNotAllowed(t *testing.T) {
	app := role("/", "app")
	cfg := config()
	cfg.Accounts = []string{"444455556666"}
	plan := Plan(Input{Findings: []iamprune.Finding{permFinding("p1", app, svc("ec2", ago(200)))}, Facts: facts(app), Config: cfg, Now: now})
	checkLines(t, plan, []string{"skip app UnusedPermission days=0 on= | account " + acct + " is not in the config's accounts allowlist"})
}
