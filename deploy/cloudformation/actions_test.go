package cloudformation

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/decide"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/examples"
	"github.com/iamprune/iamprune/notify"
	"github.com/iamprune/iamprune/remediate"
	"github.com/iamprune/iamprune/snapshot"
)

// These tests keep actions.go in sync with the code: by reflection over the
// interfaces the adapters call through, and by recording the calls the
// readers and executors make against the emulator serving the demo
// account.

func apis(groups ...[]Call) []string {
	var out []string
	for _, g := range groups {
		for _, c := range g {
			out = append(out, c.API)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// methods returns "SERVICE."+method for each method of interface I.
func methods[I any](service string) []string {
	typ := reflect.TypeFor[I]()
	var out []string
	for i := range typ.NumMethod() {
		out = append(out, service+"."+typ.Method(i).Name)
	}
	slices.Sort(out)
	return out
}

func allKindWrites() []Call {
	var out []Call
	for _, k := range RemediationKinds() {
		out = append(out, KindWrites[k]...)
	}
	return out
}

func TestRemediationCallsMatchIAMAPI(t *testing.T) {
	got := apis(RemediationReads, allKindWrites())
	if want := methods[remediate.IAMAPI]("IAM"); !slices.Equal(got, want) {
		t.Errorf("RemediationReads and KindWrites name\n%v\nremediate.IAMAPI has\n%v", got, want)
	}
	// A read granted whatever kinds are enabled must not change anything.
	for _, c := range RemediationReads {
		if op := strings.TrimPrefix(c.API, "IAM."); !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List") {
			t.Errorf("RemediationReads lists %s, which is not a read", c.API)
		}
	}
	for _, c := range allKindWrites() {
		if op := strings.TrimPrefix(c.API, "IAM."); strings.HasPrefix(op, "Get") || strings.HasPrefix(op, "List") {
			t.Errorf("KindWrites lists %s, a read: move it to RemediationReads", c.API)
		}
	}
}

func TestKindsMatchExecutors(t *testing.T) {
	got := slices.Sorted(maps.Keys(remediate.Executors(nil, remediate.Options{})))
	if want := RemediationKinds(); !slices.Equal(got, want) {
		t.Errorf("remediate.Executors has kinds %v, KindWrites %v", got, want)
	}
	for _, k := range got {
		if kindParams[k] == "" {
			t.Errorf("kind %s has no enabling parameter in the templates (kindParams)", k)
		}
	}
}

func TestNotifyCallsMatchSNSPublisher(t *testing.T) {
	if got, want := apis(NotifyCalls), methods[notify.SNSPublisher]("SNS"); !slices.Equal(got, want) {
		t.Errorf("NotifyCalls name %v, notify.SNSPublisher has %v", got, want)
	}
}

// iamPrefix maps the SDK's service ids to IAM's service prefixes.
var iamPrefix = map[string]string{
	"AccessAnalyzer": "access-analyzer", "CloudWatchLogs": "logs", "DynamoDB": "dynamodb", "IAM": "iam",
	"S3": "s3", "SNS": "sns", "SQS": "sqs", "STS": "sts",
}

// renamed are the operations authorised by an action of another name.
var renamed = map[string]string{
	"AccessAnalyzer.ListFindingsV2": "access-analyzer:ListFindings",
	"AccessAnalyzer.GetFindingV2":   "access-analyzer:GetFinding",
	// A batch needs the permission of each message it sends.
	"SQS.SendMessageBatch": "sqs:SendMessage",
}

func TestCallsNameTheirActions(t *testing.T) {
	groups := map[string][]Call{
		"AnalyzerReads": AnalyzerReads, "RecommendationCalls": RecommendationCalls, "FactReads": FactReads, "IAMSourceReads": IAMSourceReads, "RemediationReads": RemediationReads,
		"NotifyCalls": NotifyCalls, "ExceptionsCalls": ExceptionsCalls, "StateCalls": StateCalls,
		"RuntimeCalls": RuntimeCalls, "CrossAccountCalls": CrossAccountCalls, "FanOutCalls": FanOutCalls, "ReportCalls": ReportCalls,
	}
	for _, k := range RemediationKinds() {
		groups["KindWrites["+string(k)+"]"] = KindWrites[k]
	}
	actionOf := map[string]string{}
	all := map[string]bool{}
	for name, g := range groups {
		for _, c := range g {
			service, op, _ := strings.Cut(c.API, ".")
			want := iamPrefix[service] + ":" + op
			if r, ok := renamed[c.API]; ok {
				want = r
			}
			if iamPrefix[service] == "" || c.Action != want {
				t.Errorf("%s: %s is authorised by %s, not %s", name, c.API, want, c.Action)
			}
			if prev, ok := actionOf[c.API]; ok && prev != c.Action {
				t.Errorf("%s is listed with two actions, %s and %s", c.API, prev, c.Action)
			}
			actionOf[c.API] = c.Action
			all[c.Action] = true
			if c.Source == "" {
				t.Errorf("%s: %s names no source", name, c.API)
			}
		}
	}
	// A create call that tags is authorised by the create action and by the
	// Tag action of the same resource: CreatePolicy and iam:TagPolicy.
	for k, g := range TagOnCreate {
		for _, c := range g {
			service, op, _ := strings.Cut(c.API, ".")
			noun, ok := strings.CutPrefix(op, "Create")
			if want := iamPrefix[service] + ":Tag" + noun; !ok || c.Action != want {
				t.Errorf("TagOnCreate[%s]: %s is a create call tagging with %s, not %s", k, c.API, want, c.Action)
			}
			if !slices.ContainsFunc(KindWrites[k], func(w Call) bool { return w.API == c.API }) {
				t.Errorf("TagOnCreate[%s]: %s is not among the kind's KindWrites", k, c.API)
			}
			all[c.Action] = true
			if c.Source == "" {
				t.Errorf("TagOnCreate[%s]: %s names no source", k, c.API)
			}
		}
	}
	for a := range WildcardOnly {
		if !all[a] {
			t.Errorf("WildcardOnly lists %s, which no call needs", a)
		}
	}
}

// demo is the emulator serving the demo account, with a config whose calls
// are recorded by counter.
type demo struct {
	cfg     aws.Config // counted
	plain   aws.Config // not counted
	counter *awsapi.Counter
	srv     *emulator.Server
	snap    *snapshot.Snapshot
}

func startDemo(t *testing.T, opts emulator.Options) *demo {
	t.Helper()
	fsys, err := fs.Sub(examples.Demo, examples.DemoSnapshotDir)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.Load(fsys, examples.DemoSnapshotDir)
	if err != nil {
		t.Fatal(err)
	}
	return startSnapshot(t, snap, opts)
}

// startSnapshot serves snap, recording the calls made with cfg.
func startSnapshot(t *testing.T, snap *snapshot.Snapshot, opts emulator.Options) *demo {
	t.Helper()
	srv, cfg := emulatortest.Start(t, snap, opts)
	d := &demo{srv: srv, snap: snap, counter: awsapi.NewCounter(), plain: cfg}
	d.cfg = cfg.Copy()
	d.counter.Attach(&d.cfg)
	return d
}

// config is an SDK config for the emulator without the counter.
func (d *demo) config() aws.Config { return d.plain.Copy() }

func (d *demo) calls() []string {
	return slices.Sorted(maps.Keys(d.counter.ByOperation()))
}

// read reads the findings and the facts as plan does.
func (d *demo) read(t *testing.T, ctx context.Context) ([]iamprune.Finding, *iamprune.Facts) {
	t.Helper()
	findings, _, err := awsapi.NewFindingSource(d.cfg, iamprune.AnalyzerAuto).Findings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	facts, err := awsapi.NewFacts(d.cfg).Facts(ctx, findings)
	if err != nil {
		t.Fatal(err)
	}
	return findings, facts
}

// The demo account has every finding type, so reading it makes every read
// call.
func TestReadCallsMatchCode(t *testing.T) {
	d := startDemo(t, emulator.Options{})
	d.read(t, context.Background())
	if got, want := d.calls(), apis(AnalyzerReads, FactReads); !slices.Equal(got, want) {
		t.Errorf("reading the demo account called\n%v\nAnalyzerReads and FactReads name\n%v", got, want)
	}
}

// Reading the demo account's IAM data as source iam does calls exactly the
// fact reads it needs and the service-last-accessed jobs.
func TestIAMSourceCallsMatchCode(t *testing.T) {
	ctx := context.Background()
	d := startDemo(t, emulator.Options{})
	facts, _, err := awsapi.NewFacts(d.cfg).IAMData(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp := awsapi.NewCapturer(d.cfg)
	cp.Poll = time.Millisecond
	arns := slices.Sorted(maps.Keys(facts.Principals))
	jobs, err := cp.LastAccessedJobs(ctx, arns)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Err != nil {
			t.Errorf("%s: %v", j.ARN, j.Err)
		}
	}
	want := slices.DeleteFunc(apis(FactReads, IAMSourceReads), func(api string) bool { return api == "IAM.GetLoginProfile" })
	if got := d.calls(); !slices.Equal(got, want) {
		t.Errorf("reading the demo account's IAM data called\n%v\nFactReads (but GetLoginProfile) and IAMSourceReads name\n%v", got, want)
	}
}

func TestExceptionsCallsMatchCode(t *testing.T) {
	ctx := context.Background()
	d := startDemo(t, emulator.Options{Buckets: []string{"exceptions"}})
	uncounted := d.config()
	if _, err := awsapi.NewS3Object(uncounted).Put(ctx, "exceptions", "exceptions.yaml", []byte("exceptions: []\n"), "application/yaml"); err != nil {
		t.Fatal(err)
	}
	objects := awsapi.NewS3Object(d.cfg)
	_, etag, _, err := objects.Get(ctx, "exceptions", "exceptions.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, notModified, err := objects.Get(ctx, "exceptions", "exceptions.yaml", etag); err != nil || !notModified {
		t.Fatalf("conditional get: notModified %v, %v", notModified, err)
	}
	if got, want := d.calls(), apis(ExceptionsCalls); !slices.Equal(got, want) {
		t.Errorf("reading exceptions called %v, ExceptionsCalls name %v", got, want)
	}
}

// notExercised are the writes of a kind that the demo account does not
// reach, with why; every other write of KindWrites must be made.
var notExercised = map[iamprune.ActionKind]map[string]string{
	iamprune.KindQuarantineRole: {
		"IAM.AttachRolePolicy": "only when the role's inline policy quota is full",
		"IAM.DetachRolePolicy": "only to undo AttachRolePolicy",
	},
	iamprune.KindDenyUnusedServices: {
		"IAM.CreatePolicy":     "only when the deny overflows the inline policy quota",
		"IAM.DeletePolicy":     "only to undo CreatePolicy",
		"IAM.AttachRolePolicy": "only with CreatePolicy",
		"IAM.DetachRolePolicy": "only with CreatePolicy",
		"IAM.AttachUserPolicy": "only with CreatePolicy",
		"IAM.DetachUserPolicy": "only with CreatePolicy",
	},
}

// accountsFor are the accounts whose plans exercise a kind: the demo, and
// for rewrite-policy also remediate's rewrite account (rewriteSnapshot),
// whose policies take the methods the demo's do not.
func accountsFor(t *testing.T, kind iamprune.ActionKind, opts emulator.Options) []*demo {
	ds := []*demo{startDemo(t, opts)}
	if kind == iamprune.KindRewritePolicy {
		ds = append(ds, startSnapshot(t, rewriteSnapshot(t), opts))
	}
	return ds
}

// Each kind's executor, applied to the plan's actions of that kind and
// rolled back, calls only RemediationReads and its own KindWrites, makes
// every write of KindWrites but those of notExercised, and passes Tags to
// exactly the create calls of its TagOnCreate.
func TestKindCallsMatchExecutors(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	plan := func(t *testing.T, d *demo, kind iamprune.ActionKind) []iamprune.Action {
		findings, facts := d.read(t, ctx)
		cfg := iamprune.DefaultConfig()
		cfg.Notifications.RequirePriorNotice = false
		if kind == iamprune.KindRewritePolicy {
			r := cfg.Rules[iamprune.UnusedPermission]
			r.Action = kind
			cfg.Rules[iamprune.UnusedPermission] = r
		}
		return decide.Plan(decide.Input{Findings: findings, Facts: facts, Config: cfg, Now: now}).Actions
	}
	tagKeys := map[string]bool{}
	for _, kind := range RemediationKinds() {
		t.Run(string(kind), func(t *testing.T) {
			var called []string
			tagged := map[string]bool{}
			n := 0
			for _, d := range accountsFor(t, kind, emulator.Options{Now: func() time.Time { return now }}) {
				actions := plan(t, d, kind)
				opts := remediate.Options{Now: func() time.Time { return now }, RunID: "run-1"}
				if kind == iamprune.KindDeleteAccessKey {
					// Only keys iamprune deactivated are deleted: deactivate
					// them first, unrecorded, and plan their deletion.
					uncounted := remediate.Executors(iam.NewFromConfig(d.config()), opts)
					var deletes []iamprune.Action
					for _, a := range actions {
						if a.Kind == iamprune.KindDeactivateAccessKey {
							in := inspect(t, ctx, uncounted[a.Kind], a)
							if _, err := uncounted[a.Kind].Apply(ctx, a, in); err != nil {
								t.Fatal(err)
							}
							a.Kind = iamprune.KindDeleteAccessKey
							deletes = append(deletes, a)
						}
					}
					actions = deletes
				}
				before := d.counter.ByOperation()
				d.srv.ResetCalls()
				exec := remediate.Executors(iam.NewFromConfig(d.cfg), opts)[kind]
				for _, a := range actions {
					if a.Kind == kind {
						run(t, ctx, exec, a)
						n++
					}
				}
				for op, c := range d.counter.ByOperation() {
					if c > before[op] && !slices.Contains(called, op) {
						called = append(called, op)
					}
				}
				for _, c := range d.srv.Calls() {
					if keys := requestTagKeys(t, c); len(keys) > 0 {
						tagged["IAM."+c.Operation] = true
						for _, k := range keys {
							tagKeys[k] = true
						}
					}
				}
			}
			if n == 0 {
				t.Fatalf("the plans have no %s action", kind)
			}
			allowed := apis(RemediationReads, KindWrites[kind])
			for _, op := range called {
				if !slices.Contains(allowed, op) {
					t.Errorf("%s called %s, which is neither in RemediationReads nor in its KindWrites", kind, op)
				}
			}
			for _, c := range KindWrites[kind] {
				_, skip := notExercised[kind][c.API]
				if made := slices.Contains(called, c.API); made == skip {
					t.Errorf("%s: %s made %v, want %v (notExercised)", kind, c.API, made, !skip)
				}
			}
			if got, want := slices.Sorted(maps.Keys(tagged)), apis(TagOnCreate[kind]); !slices.Equal(got, want) {
				t.Errorf("%s passed Tags to %v, TagOnCreate names %v", kind, got, want)
			}
		})
	}
	// The stack lets the function tag its policies with iamprune's keys only.
	for _, tmpl := range []struct{ file, role string }{{stackTemplate, "FunctionRole"}, {memberTemplate, "MemberRole"}} {
		st := statementBySid(t, mustLoad(t, tmpl.file), tmpl.role, "RewritePoliciesTagCopies", map[string]string{kindParams[iamprune.KindRewritePolicy]: "true"})
		pattern, _ := dig(st, "Condition", "ForAllValues:StringLike", "aws:TagKeys")
		for k := range tagKeys {
			if ok, _ := path.Match(fmt.Sprint(pattern), k); !ok {
				t.Errorf("%s: RewritePoliciesTagCopies allows tag keys %v, the code tags with %s", tmpl.file, pattern, k)
			}
		}
	}
	if len(tagKeys) == 0 {
		t.Error("no executor tagged anything")
	}
}

// requestTagKeys returns the tag keys an IAM create request passed
// (Tags.member.N.Key).
func requestTagKeys(t *testing.T, c emulator.Call) []string {
	t.Helper()
	if c.Service != "iam" || !strings.HasPrefix(c.Operation, "Create") {
		return nil
	}
	form, err := url.ParseQuery(c.Params)
	if err != nil {
		t.Fatalf("%s params %q: %v", c.Operation, c.Params, err)
	}
	var keys []string
	for k, v := range form {
		if strings.HasPrefix(k, "Tags.member.") && strings.HasSuffix(k, ".Key") {
			keys = append(keys, v...)
		}
	}
	return keys
}

// run inspects, applies and rolls back one action. Deleting a key cannot be
// undone, which its Rollback reports as a conflict.
func run(t *testing.T, ctx context.Context, e iamprune.Executor, a iamprune.Action) {
	t.Helper()
	in := inspect(t, ctx, e, a)
	post, err := e.Apply(ctx, a, in)
	if err != nil {
		t.Fatalf("apply %s %s: %v", a.Kind, a.Target, err)
	}
	rec := iamprune.ActionRecord{RunID: "run-1", ActionID: a.ID, Account: a.Account, Principal: a.Principal, FindingType: a.FindingType,
		Kind: a.Kind, Target: a.Target, Services: a.Services, Status: iamprune.ResultDone, PreImage: in.PreImage, PostImage: post}
	if _, err := e.Rollback(ctx, rec); err != nil && !(a.Kind == iamprune.KindDeleteAccessKey && iamprune.ErrorCode(err) == iamprune.ECONFLICT) {
		t.Fatalf("rollback %s %s: %v", a.Kind, a.Target, err)
	}
}

// inspect inspects an action that must be ready to apply.
func inspect(t *testing.T, ctx context.Context, e iamprune.Executor, a iamprune.Action) iamprune.Inspection {
	t.Helper()
	in, err := e.Inspect(ctx, a)
	if err != nil {
		t.Fatalf("inspect %s %s: %v", a.Kind, a.Target, err)
	}
	if in.Skip != "" || in.AlreadyDone {
		t.Fatalf("inspect %s %s: skip %q, already done %v", a.Kind, a.Target, in.Skip, in.AlreadyDone)
	}
	return in
}

// Asking for Access Analyzer's recommendation on a finding makes exactly
// RecommendationCalls.
func TestRecommendationCallsMatchCode(t *testing.T) {
	ctx := context.Background()
	d := startDemo(t, emulator.Options{})
	d.srv.SetRecommendationPolls(2) // polled until it finishes
	uncounted := d.config()
	src := awsapi.NewFindingSource(uncounted, iamprune.AnalyzerAuto)
	arn, err := src.AnalyzerARN(ctx)
	if err != nil {
		t.Fatal(err)
	}
	findings, _, err := src.Findings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(findings, func(f iamprune.Finding) bool { return f.Type == iamprune.UnusedPermission })
	if i < 0 {
		t.Fatal("the demo account has no UnusedPermission finding")
	}
	r := awsapi.NewRecommender(d.cfg, arn, awsapi.WithRecommendationBackoff(time.Millisecond, time.Millisecond))
	rec, err := r.Recommendation(ctx, findings[i].ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != "SUCCEEDED" {
		t.Fatalf("recommendation %s: %+v", findings[i].ID, rec)
	}
	if got, want := d.calls(), apis(RecommendationCalls); !slices.Equal(got, want) {
		t.Errorf("a recommendation called %v, RecommendationCalls name %v", got, want)
	}
}

// memberAccount is a member account holding the member role, trusting the
// demo's caller role with an external id as member-role.yaml does.
const memberAccount = "444455556666"

var memberSnapshot = fstest.MapFS{
	"meta.json": {Data: []byte(`{"account_id": "` + memberAccount + `", "partition": "aws", "region": "us-east-1", "captured_at": "2026-11-28T00:00:00Z"}`)},
	"account-authorization-details.json": {Data: []byte(`{"UserDetailList": [], "GroupDetailList": [], "Policies": [], "RoleDetailList": [{
	  "Path": "/", "RoleName": "iamprune-member", "RoleId": "AROAMEMBERROLE0000000", "Arn": "arn:aws:iam::` + memberAccount + `:role/iamprune-member",
	  "CreateDate": "2025-01-01T00:00:00Z",
	  "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	    "Principal": {"AWS": "arn:aws:iam::111122223333:role/iamprune-runner"}, "Action": "sts:AssumeRole",
	    "Condition": {"StringEquals": {"sts:ExternalId": "s3cret"}}}]}}]}`)},
}

// Reaching a member account makes exactly CrossAccountCalls.
func TestCrossAccountCallsMatchCode(t *testing.T) {
	ctx := context.Background()
	d := startDemo(t, emulator.Options{})
	member, err := snapshot.Load(memberSnapshot, "member")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.srv.AddMember(member); err != nil {
		t.Fatal(err)
	}
	accounts := awsapi.NewAccounts(d.cfg, d.snap.Meta.CallerARN, iamprune.CrossAccount{RoleName: "iamprune-member", ExternalID: "s3cret"})
	if _, err := accounts.Config(ctx, memberAccount); err != nil {
		t.Fatal(err)
	}
	if got := d.srv.Assumed(); len(got) != 1 || got[0].RoleArn != "arn:aws:iam::"+memberAccount+":role/iamprune-member" {
		t.Fatalf("assumed %+v", got)
	}
	if got, want := d.calls(), apis(CrossAccountCalls); !slices.Equal(got, want) {
		t.Errorf("reaching a member account called %v, CrossAccountCalls name %v", got, want)
	}
}
