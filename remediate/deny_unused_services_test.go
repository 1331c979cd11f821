package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
)

func denyAction(principal string, svcs []string) iamprune.Action {
	return iamprune.Action{
		ID: "act-deny-" + principal[strings.LastIndexByte(principal, '/')+1:], Principal: acct + principal,
		FindingType: iamprune.UnusedPermission, Kind: iamprune.KindDenyUnusedServices,
		Target: principal[strings.LastIndexByte(principal, '/')+1:], Services: svcs,
	}
}

// manyServices returns n service namespaces of realistic length.
func manyServices(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("unusedservice-number-%03d", i)
	}
	return out
}

// denied reads back, through the IAM API only, every service the
// principal's iamprune policies deny, and checks each policy's size.
func (e *env) denied(p principal) map[string]bool {
	e.t.Helper()
	ent := entityOf(e.iam, p)
	got := map[string]bool{}
	names, err := ent.listInline(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	total := 0
	for _, n := range names {
		doc, err := ent.getInline(e.ctx, n)
		if err != nil {
			e.t.Fatal(err)
		}
		total += PolicySize(doc)
		if strings.HasPrefix(n, DenyPolicyPrefix) {
			svcs, _ := deniedServices(doc)
			for _, s := range svcs {
				got[s] = true
			}
		}
	}
	if total > inlineQuota(p.Kind) {
		e.t.Errorf("inline policies total %d characters, over the %s quota", total, p.Kind)
	}
	arns, err := ent.listAttached(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, arn := range arns {
		if !isDenyManaged(arn) {
			continue
		}
		pol, err := e.iam.GetPolicy(e.ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
		if err != nil {
			e.t.Fatal(err)
		}
		ver, err := e.iam.GetPolicyVersion(e.ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: pol.Policy.DefaultVersionId})
		if err != nil {
			e.t.Fatal(err)
		}
		doc, err := decodeDoc(aws.ToString(ver.PolicyVersion.Document), arn, "test")
		if err != nil {
			e.t.Fatal(err)
		}
		if s := PolicySize(doc); s > ManagedPolicySize {
			e.t.Errorf("policy %s is %d characters", arn, s)
		}
		svcs, _ := deniedServices(doc)
		for _, s := range svcs {
			got[s] = true
		}
	}
	return got
}

func (e *env) wantAllDenied(p principal, svcs []string) {
	e.t.Helper()
	got := e.denied(p)
	var lost []string
	for _, s := range svcs {
		if !got[s] {
			lost = append(lost, s)
		}
	}
	if len(lost) > 0 {
		e.t.Errorf("%d of %d services are not denied, first %q", len(lost), len(svcs), lost[0])
	}
}

func TestDenyUnusedServicesSplitting(t *testing.T) {
	tests := []struct {
		name      string
		principal string
		services  []string
		inline    int // services expected in the inline policy
		managed   int // managed policies expected
		wantOps   []string
	}{
		// A short list must be written too: the reference Lambda only
		// wrote batches that overflowed.
		{"role, one service", "role/app-role", []string{"s3"}, 1, 0, []string{"PutRolePolicy"}},
		// 4,240 characters are left of the role's 10,240: a deny document
		// is 119 plus 29 per service, less one comma, so 142 fit.
		{"role, 300 services", "role/app-role", manyServices(300), 142, 1,
			[]string{"PutRolePolicy", "CreatePolicy", "AttachRolePolicy"}},
		// A user gets user policies: the reference Lambda called
		// PutRolePolicy with a user's name.
		{"user, one service", "user/dev", []string{"s3"}, 1, 0, []string{"PutUserPolicy"}},
		// 1,548 of the user's 2,048 are left: 49 fit.
		{"user, 300 services", "user/dev", manyServices(300), 49, 2,
			[]string{"PutUserPolicy", "CreatePolicy", "AttachUserPolicy", "CreatePolicy", "AttachUserPolicy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "deny")
			a := denyAction(tt.principal, tt.services)
			p, _ := principalOf(a, "")
			before, _ := e.roundTrip(a, func(raw json.RawMessage) {
				e.wantAllDenied(p, tt.services)
				if w := e.writes(); !slices.Equal(w, tt.wantOps) {
					t.Errorf("apply wrote %v, want %v", w, tt.wantOps)
				}
				var post denyPost
				if err := json.Unmarshal(raw, &post); err != nil {
					t.Fatal(err)
				}
				if len(post.Inline) != 1 || post.Inline[0].Name != "iamprune-deny-unused-1" || len(post.Inline[0].Services) != tt.inline {
					t.Errorf("post-image inline %+v, want %d services in iamprune-deny-unused-1", post.Inline, tt.inline)
				}
				if len(post.Managed) != tt.managed {
					t.Errorf("post-image has %d managed policies, want %d", len(post.Managed), tt.managed)
				}
				for i, m := range post.Managed {
					want := fmt.Sprintf("arn:aws:iam::111122223333:policy/iamprune/iamprune-deny-unused-%s-%d", p.Name, i+1)
					if m.ARN != want {
						t.Errorf("managed policy %d = %s, want %s", i, m.ARN, want)
					}
				}
			})
			e.sameDump("after rollback", before, e.dump())
		})
	}
}

// Packing is deterministic: the same services in any order give the same
// policies.
func TestDenyUnusedServicesDeterministic(t *testing.T) {
	var dumps []string
	for _, svcs := range [][]string{manyServices(300), reversed(manyServices(300))} {
		e := newEnv(t, "deny")
		a := denyAction("user/dev", svcs)
		if _, err := e.ex[a.Kind].Apply(e.ctx, a, e.inspect(a)); err != nil {
			t.Fatal(err)
		}
		dumps = append(dumps, e.dump())
	}
	if dumps[0] != dumps[1] {
		t.Error("the order of the services changed the policies written")
	}
}

func reversed(s []string) []string {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

// When the services need a managed policy but the principal already has
// the 10 allowed, nothing is written at all.
func TestDenyUnusedServicesQuotaExceeded(t *testing.T) {
	e := newEnv(t, "deny")
	before := e.dump()
	a := denyAction("role/crowded-role", manyServices(10))
	in := e.inspect(a)
	_, err := e.ex[a.Kind].Apply(e.ctx, a, in)
	if err == nil || !strings.Contains(err.Error(), "10 of the 10") || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("Apply = %v, want a quota error", err)
	}
	if iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("error code %q", iamprune.ErrorCode(err))
	}
	if w := e.writes(); len(w) != 0 {
		t.Errorf("failed apply wrote %v", w)
	}
	e.sameDump("after failed apply", before, e.dump())
}

// An earlier iamprune deny policy counts: what it denies is not written
// again, new numbers follow it, and rollback leaves it as it was.
func TestDenyUnusedServicesExistingPolicy(t *testing.T) {
	e := newEnv(t, "deny")
	if in := e.inspect(denyAction("role/old-role", []string{"sqs"})); !in.AlreadyDone {
		t.Errorf("services already denied: Inspect %+v, want already done", in)
	}
	a := denyAction("role/old-role", []string{"sqs", "sns"})
	before, _ := e.roundTrip(a, func(raw json.RawMessage) {
		var post denyPost
		json.Unmarshal(raw, &post)
		if len(post.Inline) != 1 || post.Inline[0].Name != "iamprune-deny-unused-2" || !slices.Equal(post.Inline[0].Services, []string{"sns"}) {
			t.Errorf("post-image %+v, want sns alone in iamprune-deny-unused-2", post)
		}
		e.wantAllDenied(principal{Kind: "role", Name: "old-role"}, a.Services)
	})
	e.sameDump("after rollback", before, e.dump())
	var img denyImage
	json.Unmarshal(e.inspect(a).PreImage, &img)
	if len(img.Inline) != 1 || img.Inline[0].Name != "iamprune-deny-unused-1" || !strings.Contains(img.Inline[0].Document, "sqs:*") {
		t.Errorf("pre-image inline %+v", img.Inline)
	}
}

// An apply interrupted before its post-image was journaled is rolled back
// from the pre-image and the live state.
func TestDenyUnusedServicesRollbackWithoutPostImage(t *testing.T) {
	e := newEnv(t, "deny")
	before := e.dump()
	a := denyAction("user/dev", manyServices(300))
	in := e.inspect(a)
	if _, err := e.ex[a.Kind].Apply(e.ctx, a, in); err != nil {
		t.Fatal(err)
	}
	out, err := e.ex[a.Kind].Rollback(e.ctx, record(a, in, nil))
	if err != nil || out.AlreadyDone {
		t.Fatalf("Rollback = %+v, %v", out, err)
	}
	e.sameDump("after rollback", before, e.dump())
}

// An attach that fails midway leaves a post-image of everything written,
// the created policy included, and rollback removes exactly that.
func TestDenyUnusedServicesPartialApply(t *testing.T) {
	e := newEnv(t, "deny")
	before := e.dump()
	a := denyAction("user/dev", manyServices(300))
	in := e.inspect(a)
	e.srv.FailNext("AttachUserPolicy", "AccessDenied", 1)
	post, err := e.ex[a.Kind].Apply(e.ctx, a, in)
	if err == nil {
		t.Fatal("Apply succeeded despite a failed attach")
	}
	var p denyPost
	json.Unmarshal(post, &p)
	if len(p.Inline) != 1 || len(p.Managed) != 1 {
		t.Errorf("partial post-image %+v, want the inline policy and the created managed policy", p)
	}
	out, err := e.ex[a.Kind].Rollback(e.ctx, record(a, in, post))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Detail, "deleted arn:aws:iam::111122223333:policy/iamprune/iamprune-deny-unused-dev-1") || strings.Contains(out.Detail, "detached") {
		t.Errorf("rollback detail %q", out.Detail)
	}
	e.sameDump("after rollback", before, e.dump())
}

func TestDenyUnusedServicesInvalid(t *testing.T) {
	e := newEnv(t, "deny")
	for _, svcs := range [][]string{{}, {"s3", "s3:GetObject"}} {
		_, err := e.ex[iamprune.KindDenyUnusedServices].Inspect(e.ctx, denyAction("role/app-role", svcs))
		if iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("services %q: err %v, want invalid", svcs, err)
		}
	}
	if in := e.inspect(denyAction("role/ghost", []string{"s3"})); in.Skip != "role ghost no longer exists" {
		t.Errorf("gone role: skip %q", in.Skip)
	}
}

// The inline policy fills the role's quota to the last character, which
// IAM (the emulator) accepts; the next service goes to a managed policy.
func TestDenyUnusedServicesExactQuota(t *testing.T) {
	e := newEnv(t, "deny")
	// app-role has 6,000 characters inline, leaving 4,240 = 118 + 29*142 + 4:
	// 142 services of 24 characters, four of them one longer, fill it exactly.
	var svcs []string
	for i := 0; i < 142; i++ {
		name := fmt.Sprintf("exact-fit-service-%06d", i)
		if i < 4 {
			name += "x"
		}
		svcs = append(svcs, name)
	}
	if got := denySize(svcs); got != RoleInlineQuota-6000 {
		t.Fatalf("test services give %d characters, want %d", got, RoleInlineQuota-6000)
	}
	a := denyAction("role/app-role", append(svcs, "zz"))
	raw, err := e.ex[a.Kind].Apply(e.ctx, a, e.inspect(a))
	if err != nil {
		t.Fatal(err)
	}
	var post denyPost
	json.Unmarshal(raw, &post)
	if len(post.Inline) != 1 || len(post.Inline[0].Services) != 142 || len(post.Managed) != 1 || !slices.Equal(post.Managed[0].Services, []string{"zz"}) {
		t.Errorf("post-image %d inline services, managed %+v", len(post.Inline[0].Services), post.Managed)
	}
	e.wantAllDenied(principal{Kind: "role", Name: "app-role"}, a.Services)
}

func (e *env) createPolicy(name, doc string) {
	e.t.Helper()
	_, err := e.iam.CreatePolicy(e.ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), Path: aws.String(DenyPolicyPath), PolicyDocument: aws.String(doc)})
	if err != nil {
		e.t.Fatal(err)
	}
}

// A managed policy name already taken (a role and a user may share a name)
// is skipped; an unattached one saying exactly the same (left by an
// interrupted run) is adopted.
func TestDenyUnusedServicesManagedNameTaken(t *testing.T) {
	svcs := manyServices(300)
	lay, err := pack(svcs, UserInlineQuota-500, ManagedPolicySize)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		existing string // document of the existing iamprune-deny-unused-dev-1
		want     []string
	}{
		{"taken", DenyDocument([]string{"other"}), []string{"iamprune-deny-unused-dev-2", "iamprune-deny-unused-dev-3"}},
		{"adopted", DenyDocument(lay.Managed[0]), []string{"iamprune-deny-unused-dev-1", "iamprune-deny-unused-dev-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "deny")
			e.createPolicy("iamprune-deny-unused-dev-1", tt.existing)
			before := e.dump()
			a := denyAction("user/dev", svcs)
			in := e.inspect(a)
			raw, err := e.ex[a.Kind].Apply(e.ctx, a, in)
			if err != nil {
				t.Fatal(err)
			}
			var post denyPost
			json.Unmarshal(raw, &post)
			var got []string
			for _, m := range post.Managed {
				got = append(got, m.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("managed policies %v, want %v", got, tt.want)
			}
			e.wantAllDenied(principal{Kind: "user", Name: "dev"}, svcs)
			if _, err := e.ex[a.Kind].Rollback(e.ctx, record(a, in, raw)); err != nil {
				t.Fatal(err)
			}
			if tt.name == "taken" {
				e.sameDump("after rollback", before, e.dump())
			} else if _, err := e.iam.GetPolicy(e.ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::111122223333:policy/iamprune/iamprune-deny-unused-dev-1")}); !isNoSuchEntity(err) {
				t.Errorf("adopted policy survived the rollback: %v", err)
			}
		})
	}
}

// earlierDeny gives dev the deny policies an earlier run wrote: inline
// iamprune-deny-unused-1 and managed iamprune-deny-unused-dev-1, attached.
func (e *env) earlierDeny() {
	e.t.Helper()
	if _, err := e.iam.PutUserPolicy(e.ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"),
		PolicyName: aws.String("iamprune-deny-unused-1"), PolicyDocument: aws.String(DenyDocument([]string{"athena"}))}); err != nil {
		e.t.Fatal(err)
	}
	e.createPolicy("iamprune-deny-unused-dev-1", DenyDocument([]string{"glue"}))
	if _, err := e.iam.AttachUserPolicy(e.ctx, &iam.AttachUserPolicyInput{UserName: aws.String("dev"),
		PolicyArn: aws.String(copyPath + "iamprune-deny-unused-dev-1")}); err != nil {
		e.t.Fatal(err)
	}
}

// Rolling back an apply that journaled neither steps nor a post-image
// removes only what it wrote: the deny policies of an earlier run, inline
// and managed, stay as they were.
func TestDenyUnusedServicesRollbackKeepsEarlierRuns(t *testing.T) {
	for _, journal := range []string{"nothing", "post-image", "steps"} {
		t.Run(journal, func(t *testing.T) {
			e := newEnv(t, "deny")
			e.earlierDeny()
			before := e.dump()
			a := denyAction("user/dev", manyServices(300))
			in := e.inspect(a)
			var steps []iamprune.Step
			ctx := iamprune.WithStepJournal(e.ctx, func(_ context.Context, s iamprune.Step) error {
				if i := slices.IndexFunc(steps, func(x iamprune.Step) bool { return x.Seq == s.Seq }); i >= 0 {
					steps[i] = s
				} else {
					steps = append(steps, s)
				}
				return nil
			})
			post, err := e.ex[a.Kind].Apply(ctx, a, in)
			if err != nil {
				t.Fatal(err)
			}
			rec := record(a, in, nil)
			switch journal {
			case "post-image":
				rec.PostImage = post
			case "steps":
				rec.Steps = steps
			}
			if len(steps) != 5 {
				t.Errorf("steps %+v, want the inline put and two creates and attaches", steps)
			}
			out, err := e.ex[a.Kind].Rollback(e.ctx, rec)
			if err != nil || out.AlreadyDone {
				t.Fatalf("Rollback = %+v, %v", out, err)
			}
			e.sameDump("after rollback", before, e.dump())
		})
	}
}

// A pre-existing iamprune inline policy that the action's write changed
// gets its previous document back.
func TestDenyUnusedServicesRollbackRestoresInline(t *testing.T) {
	for _, journal := range []string{"nothing", "post-image", "steps"} {
		t.Run(journal, func(t *testing.T) {
			e := newEnv(t, "deny")
			e.earlierDeny()
			before := e.dump()
			a := denyAction("user/dev", []string{"ec2"})
			in := e.inspect(a)
			// The action's write landed on the earlier policy's name (as
			// when two deny actions of one principal were inspected before
			// either was applied).
			if _, err := e.iam.PutUserPolicy(e.ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"),
				PolicyName: aws.String("iamprune-deny-unused-1"), PolicyDocument: aws.String(DenyDocument([]string{"ec2"}))}); err != nil {
				t.Fatal(err)
			}
			rec := record(a, in, nil)
			switch journal {
			case "post-image":
				rec.PostImage = image(denyPost{Inline: []writtenPolicy{{Name: "iamprune-deny-unused-1", Services: []string{"ec2"}}}, Managed: []writtenPolicy{}})
			case "steps":
				rec.Steps = []iamprune.Step{{Seq: 1, Op: "PutUserPolicy", Target: "iamprune-deny-unused-1", Status: iamprune.StepDone}}
			}
			out, err := e.ex[a.Kind].Rollback(e.ctx, rec)
			if err != nil || out.AlreadyDone || !strings.Contains(out.Detail, "restored inline policy iamprune-deny-unused-1") {
				t.Fatalf("Rollback = %+v, %v", out, err)
			}
			e.sameDump("after rollback", before, e.dump())
		})
	}
}

// A DeletePolicy that fails fails the rollback, and the next rollback
// finishes it.
func TestDenyUnusedServicesRollbackDeleteFails(t *testing.T) {
	e := newEnv(t, "deny")
	before := e.dump()
	a := denyAction("user/dev", manyServices(300))
	in := e.inspect(a)
	post, err := e.ex[a.Kind].Apply(e.ctx, a, in)
	if err != nil {
		t.Fatal(err)
	}
	rec := record(a, in, post)
	e.srv.FailNext("DeletePolicy", "AccessDenied", 1)
	if out, err := e.ex[a.Kind].Rollback(e.ctx, rec); err == nil || !strings.Contains(err.Error(), "cannot delete policy") {
		t.Fatalf("Rollback with DeletePolicy failing = %+v, %v; want an error", out, err)
	}
	if out, err := e.ex[a.Kind].Rollback(e.ctx, rec); err != nil || out.AlreadyDone {
		t.Fatalf("second Rollback = %+v, %v", out, err)
	}
	e.sameDump("after rollback", before, e.dump())
}
