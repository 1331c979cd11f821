package remediate

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/snapshot"
)

// ARNs of the rewrite snapshot's managed policies.
const (
	versionedARN = acct + "policy/versioned-policy"
	sharedARN    = acct + "policy/shared-policy"
	unusedARN    = acct + "policy/unused-policy"
	ec2ReadARN   = "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess"
	copyPath     = acct + "policy/iamprune/"
)

// snapDoc returns a document of testdata/rewrite as the plan would carry
// it (compact JSON): "role/NAME/POLICY" for an inline policy, or a managed
// policy's ARN and version.
func snapDoc(t *testing.T, key, version string) json.RawMessage {
	t.Helper()
	snap, err := snapshot.LoadDir(filepath.Join("testdata", "rewrite"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range snap.Auth.RoleDetailList {
		for _, p := range r.RolePolicyList {
			if key == "role/"+r.RoleName+"/"+p.PolicyName {
				return json.RawMessage(p.PolicyDocument.JSON)
			}
		}
	}
	for _, p := range snap.Auth.Policies {
		for _, v := range p.PolicyVersionList {
			if p.Arn == key && v.VersionId == version {
				return json.RawMessage(v.Document.JSON)
			}
		}
	}
	t.Fatalf("no document %s %s in the snapshot", key, version)
	return nil
}

// allow is a one-statement document allowing actions on resource.
func allow(resource string, actions ...string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"Version":   "2012-10-17",
		"Statement": []any{map[string]any{"Effect": "Allow", "Action": actions, "Resource": resource}},
	})
	return b
}

func rewriteAction(principal string, pcs ...iamprune.PolicyChange) iamprune.Action {
	name := principal[strings.LastIndexByte(principal, '/')+1:]
	return iamprune.Action{
		ID: "act-rewrite-" + name, Principal: acct + principal, FindingType: iamprune.UnusedPermission,
		Kind: iamprune.KindRewritePolicy, Target: name, Services: []string{}, Policies: pcs,
	}
}

func inlineChange(t *testing.T, role, policy string, after ...json.RawMessage) iamprune.PolicyChange {
	m := iamprune.MethodPutInline
	if len(after) == 0 {
		m = iamprune.MethodDeleteInline
	}
	return iamprune.PolicyChange{Policy: policy, Name: policy, Type: iamprune.PolicyInline, Method: m,
		Before: snapDoc(t, "role/"+role+"/"+policy, ""), After: after}
}

func managedChange(t *testing.T, arn, version string, typ iamprune.PolicyType, m iamprune.RewriteMethod, count int, after ...json.RawMessage) iamprune.PolicyChange {
	return iamprune.PolicyChange{Policy: arn, Name: arn[strings.LastIndexByte(arn, '/')+1:], Type: typ, Method: m,
		Version: version, AttachmentCount: count, Before: snapDoc(t, arn, version), After: after}
}

// defaultDoc reads a managed policy's default document through IAM.
func (e *env) defaultDoc(arn string) (version, doc string) {
	e.t.Helper()
	pol, err := e.iam.GetPolicy(e.ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		e.t.Fatalf("GetPolicy %s: %v", arn, err)
	}
	ver, err := e.iam.GetPolicyVersion(e.ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: pol.Policy.DefaultVersionId})
	if err != nil {
		e.t.Fatal(err)
	}
	doc, err = decodeDoc(aws.ToString(ver.PolicyVersion.Document), arn, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(pol.Policy.DefaultVersionId), doc
}

func (e *env) attachedTo(p principal) []string {
	e.t.Helper()
	arns, err := entityOf(e.iam, p).listAttached(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Sort(arns)
	return arns
}

func sameDoc(t *testing.T, what, got string, want json.RawMessage) {
	t.Helper()
	if canonical(got) != canonical(string(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func wantWrites(t *testing.T, e *env, want ...string) {
	t.Helper()
	if got := e.writes(); !slices.Equal(got, want) {
		t.Errorf("wrote %v, want %v", got, want)
	}
}

// An inline policy is rewritten in place, an unused one deleted, and the
// rollback restores both exactly.
func TestRewriteInline(t *testing.T) {
	e := newEnv(t, "rewrite")
	after := allow("arn:aws:s3:::app-bucket/*", "s3:GetObject")
	a := rewriteAction("role/inline-role",
		inlineChange(t, "inline-role", "app-inline", after),
		inlineChange(t, "inline-role", "unused-inline"))
	ent := roleEntity(e.iam, "inline-role")
	before, out := e.roundTrip(a, func(json.RawMessage) {
		wantWrites(t, e, "PutRolePolicy", "DeleteRolePolicy")
		doc, err := ent.getInline(e.ctx, "app-inline")
		if err != nil {
			t.Fatal(err)
		}
		sameDoc(t, "app-inline", doc, after)
		if names, _ := ent.listInline(e.ctx); !slices.Equal(names, []string{"app-inline"}) {
			t.Errorf("inline policies %v", names)
		}
	})
	e.sameDump("after rollback", before, e.dump())
	if !strings.Contains(out.Detail, "restored inline policy app-inline") || !strings.Contains(out.Detail, "re-created inline policy unused-inline") {
		t.Errorf("rollback detail %q", out.Detail)
	}
}

// A policy of this role alone with five versions: the oldest non-default
// one makes room, the refined document becomes the default, and the
// rollback re-creates the deleted version under a new id.
func TestRewriteNewVersionAtFive(t *testing.T) {
	e := newEnv(t, "rewrite")
	after := allow("*", "ec2:DescribeInstances", "cloudwatch:GetMetricData")
	a := rewriteAction("role/versioned-role", managedChange(t, versionedARN, "v4", iamprune.PolicyManaged, iamprune.MethodNewVersion, 1, after))

	in := e.inspect(a)
	var img rewriteImage
	if err := json.Unmarshal(in.PreImage, &img); err != nil {
		t.Fatal(err)
	}
	st := img.Policies[0]
	if st.DefaultVersion != "v4" || len(st.Versions) != 5 {
		t.Fatalf("pre-image default %s, %d versions", st.DefaultVersion, len(st.Versions))
	}
	v1 := st.Versions[slices.IndexFunc(st.Versions, func(v versionImage) bool { return v.ID == "v1" })]
	if v1.CreateDate.Format("2006-01-02") != "2024-01-01" || canonical(v1.Document) != canonical(string(snapDoc(t, versionedARN, "v1"))) {
		t.Errorf("pre-image of v1 %+v", v1)
	}

	before, out := e.roundTrip(a, func(raw json.RawMessage) {
		wantWrites(t, e, "DeletePolicyVersion", "CreatePolicyVersion")
		var post rewritePost
		json.Unmarshal(raw, &post)
		if d := post.Policies[0]; d.CreatedVersion != "v6" || d.DeletedVersion == nil || d.DeletedVersion.ID != "v1" {
			t.Errorf("post-image %+v", d)
		}
		v, doc := e.defaultDoc(versionedARN)
		if v != "v6" {
			t.Errorf("default version %s, want v6", v)
		}
		sameDoc(t, "default document", doc, after)
		if got := e.versionIDs(versionedARN); !slices.Equal(got, []string{"v2", "v3", "v4", "v5", "v6"}) {
			t.Errorf("versions %v", got)
		}
	})
	if !strings.Contains(out.Detail, "made v4 the default version") || !strings.Contains(out.Detail, "deleted version v6") ||
		!strings.Contains(out.Detail, "re-created version v1 of "+versionedARN+" (created 2024-01-01T00:00:00Z) as v7") {
		t.Errorf("rollback detail %q", out.Detail)
	}
	if got := e.versionIDs(versionedARN); !slices.Equal(got, []string{"v2", "v3", "v4", "v5", "v7"}) {
		t.Errorf("versions after rollback %v", got)
	}
	if v, doc := e.defaultDoc(versionedARN); v != "v4" || canonical(doc) != canonical(string(snapDoc(t, versionedARN, "v4"))) {
		t.Errorf("default after rollback %s %s", v, doc)
	}
	// Apart from v1's new id and date (and the policy's UpdateDate, which
	// IAM derives from them), everything is as it was.
	e.sameDump("after rollback", recreated(t, before, versionedARN), recreated(t, e.dump(), versionedARN))
}

// versionIDs lists a policy's versions, sorted by number.
func (e *env) versionIDs(arn string) []string {
	e.t.Helper()
	out, err := e.iam.ListPolicyVersions(e.ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, v := range out.Versions {
		ids = append(ids, aws.ToString(v.VersionId))
	}
	slices.SortFunc(ids, func(a, b string) int { return versionNum(a) - versionNum(b) })
	return ids
}

// recreated blanks in a dump what re-creating a policy version cannot
// restore: the ids and dates of arn's non-default versions (listed by
// document instead) and its UpdateDate.
func recreated(t *testing.T, dump, arn string) string {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(dump), &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range d["Policies"].([]any) {
		pol := p.(map[string]any)
		if pol["Arn"] != arn {
			continue
		}
		delete(pol, "UpdateDate")
		vs := pol["Versions"].([]any)
		for _, v := range vs {
			if ver := v.(map[string]any); ver["IsDefaultVersion"] != true {
				delete(ver, "VersionId")
				delete(ver, "CreateDate")
			}
		}
		slices.SortFunc(vs, func(a, b any) int {
			x, _ := json.Marshal(a.(map[string]any)["Document"])
			y, _ := json.Marshal(b.(map[string]any)["Document"])
			return strings.Compare(string(x), string(y))
		})
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A policy two roles share is replaced, for one role only, by a refined
// copy; the other role and the policy itself are untouched.
func TestRewriteReplaceShared(t *testing.T) {
	e := newEnv(t, "rewrite")
	after := allow("*", "logs:CreateLogStream", "logs:PutLogEvents")
	a := rewriteAction("role/shared-role-a", managedChange(t, sharedARN, "v1", iamprune.PolicyManaged, iamprune.MethodReplaceCopy, 2, after))
	copyARN := copyPath + "iamprune-shared-policy-shared-role-a"
	before, _ := e.roundTrip(a, func(raw json.RawMessage) {
		wantWrites(t, e, "CreatePolicy", "AttachRolePolicy", "DetachRolePolicy")
		if got := e.attachedTo(principal{Kind: "role", Name: "shared-role-a"}); !slices.Equal(got, []string{copyARN}) {
			t.Errorf("shared-role-a has %v attached", got)
		}
		if got := e.attachedTo(principal{Kind: "role", Name: "shared-role-b"}); !slices.Equal(got, []string{sharedARN}) {
			t.Errorf("shared-role-b has %v attached", got)
		}
		_, doc := e.defaultDoc(copyARN)
		sameDoc(t, "copy", doc, after)
		_, doc = e.defaultDoc(sharedARN)
		sameDoc(t, "shared policy", doc, snapDoc(t, sharedARN, "v1"))
		pol, err := e.iam.GetPolicy(e.ctx, &iam.GetPolicyInput{PolicyArn: aws.String(copyARN)})
		if err != nil {
			t.Fatal(err)
		}
		tags := map[string]string{}
		for _, tg := range pol.Policy.Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if tags[TagReplaces] != sharedARN || tags[TagRunID] != "run-1" || aws.ToString(pol.Policy.Path) != RewritePolicyPath ||
			!strings.Contains(aws.ToString(pol.Policy.Description), "refined copy of "+sharedARN+", for role shared-role-a only") {
			t.Errorf("copy tags %v, path %s, description %q", tags, aws.ToString(pol.Policy.Path), aws.ToString(pol.Policy.Description))
		}
		var post rewritePost
		json.Unmarshal(raw, &post)
		if d := post.Policies[0]; !slices.Equal(d.CreatedCopies, []string{copyARN}) || d.Detached != sharedARN {
			t.Errorf("post-image %+v", d)
		}
	})
	e.sameDump("after rollback", before, e.dump())
}

// An AWS managed policy of a user is replaced by a refined copy split in
// two, and an unused policy is detached (first: it frees a slot).
func TestRewriteAWSManagedSplit(t *testing.T) {
	for _, parts := range []int{1, 2} {
		t.Run(fmt.Sprint(parts, " parts"), func(t *testing.T) {
			e := newEnv(t, "rewrite")
			after := []json.RawMessage{allow("*", "ec2:DescribeInstances"), allow("*", "cloudwatch:GetMetricStatistics")}[:parts]
			a := rewriteAction("user/analyst",
				managedChange(t, ec2ReadARN, "v1", iamprune.PolicyAWSManaged, iamprune.MethodReplaceCopy, 1, after...),
				managedChange(t, unusedARN, "v1", iamprune.PolicyManaged, iamprune.MethodDetach, 1))
			copies := []string{copyPath + "iamprune-AmazonEC2ReadOnlyAccess-analyst", copyPath + "iamprune-AmazonEC2ReadOnlyAccess-analyst-2"}[:parts]
			before, _ := e.roundTrip(a, func(json.RawMessage) {
				want := []string{"DetachUserPolicy"}
				for range parts {
					want = append(want, "CreatePolicy", "AttachUserPolicy")
				}
				wantWrites(t, e, append(want, "DetachUserPolicy")...)
				if got := e.attachedTo(principal{Kind: "user", Name: "analyst"}); !slices.Equal(got, copies) {
					t.Errorf("analyst has %v attached, want %v", got, copies)
				}
				for i, arn := range copies {
					_, doc := e.defaultDoc(arn)
					sameDoc(t, arn, doc, after[i])
				}
			})
			e.sameDump("after rollback", before, e.dump())
		})
	}
}

// The attached-policies quota counts the copies attached before the
// originals go.
func TestRewriteQuota(t *testing.T) {
	e := newEnv(t, "rewrite")
	ex := Executors(e.iam, Options{MaxAttachedPolicies: 2})[iamprune.KindRewritePolicy]
	a := rewriteAction("user/analyst",
		managedChange(t, ec2ReadARN, "v1", iamprune.PolicyAWSManaged, iamprune.MethodReplaceCopy, 1, allow("*", "ec2:DescribeInstances"), allow("*", "ec2:DescribeVolumes")),
		managedChange(t, unusedARN, "v1", iamprune.PolicyManaged, iamprune.MethodDetach, 1))
	in, err := ex.Inspect(e.ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.Skip, "need 3 managed policies attached to it at once (it has 2), over the quota of 2") {
		t.Errorf("skip %q", in.Skip)
	}
	a.Policies[0].After = a.Policies[0].After[:1]
	if in, _ := ex.Inspect(e.ctx, a); in.Skip != "" {
		t.Errorf("one part fits (the detach frees a slot), got skip %q", in.Skip)
	}
}

// A live document that is not the plan's Before stops the whole action.
func TestRewriteStale(t *testing.T) {
	e := newEnv(t, "rewrite")
	stale := inlineChange(t, "inline-role", "app-inline", allow("*", "s3:GetObject"))
	stale.Before = allow("*", "s3:*")
	nv := managedChange(t, versionedARN, "v3", iamprune.PolicyManaged, iamprune.MethodNewVersion, 1, allow("*", "ec2:DescribeInstances"))
	tests := []struct {
		name string
		a    iamprune.Action
		skip string
	}{
		{"inline", rewriteAction("role/inline-role", stale), "inline policy app-inline of role inline-role changed since the plan; re-plan"},
		{"new version", rewriteAction("role/versioned-role", nv), "policy " + versionedARN + " changed since the plan (default version v4, plan saw v3); re-plan"},
		{"not attached", rewriteAction("role/spare-role", managedChange(t, sharedARN, "v1", iamprune.PolicyManaged, iamprune.MethodReplaceCopy, 2, allow("*", "logs:PutLogEvents"))),
			"policy " + sharedARN + " is no longer attached to role spare-role; re-plan"},
		{"gone inline", rewriteAction("role/versioned-role", iamprune.PolicyChange{Policy: "x", Type: iamprune.PolicyInline, Method: iamprune.MethodPutInline, Before: allow("*", "s3:*"), After: []json.RawMessage{allow("*", "s3:GetObject")}}),
			"inline policy x of role versioned-role no longer exists; re-plan"},
		{"gone role", rewriteAction("role/ghost", stale), "role ghost no longer exists"},
	}
	for _, tt := range tests {
		if in := e.inspect(tt.a); in.Skip != tt.skip || in.AlreadyDone {
			t.Errorf("%s: skip %q, want %q", tt.name, in.Skip, tt.skip)
		}
	}
	wantWrites(t, e)
}

// A policy that became shared since the plan must not get a new version:
// it would change the other principal too.
func TestRewriteNewVersionBecameShared(t *testing.T) {
	e := newEnv(t, "rewrite")
	if _, err := e.iam.AttachRolePolicy(e.ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("spare-role"), PolicyArn: aws.String(versionedARN)}); err != nil {
		t.Fatal(err)
	}
	a := rewriteAction("role/versioned-role", managedChange(t, versionedARN, "v4", iamprune.PolicyManaged, iamprune.MethodNewVersion, 1, allow("*", "ec2:DescribeInstances")))
	want := "policy " + versionedARN + " is now attached to 2 principals (the plan saw 1): a new version would change it for all of them; re-plan"
	if in := e.inspect(a); in.Skip != want {
		t.Errorf("skip %q, want %q", in.Skip, want)
	}
}

// An apply that fails midway is undone from the pre-image and the live
// state, with or without the partial post-image.
func TestRewritePartialApply(t *testing.T) {
	tests := []struct {
		name   string
		a      func(t *testing.T) iamprune.Action
		failOp string
		post   bool
	}{
		{"replace: detach fails", func(t *testing.T) iamprune.Action {
			return rewriteAction("role/shared-role-a", managedChange(t, sharedARN, "v1", iamprune.PolicyManaged, iamprune.MethodReplaceCopy, 2, allow("*", "logs:PutLogEvents")))
		}, "DetachRolePolicy", true},
		{"replace: attach fails, no post-image", func(t *testing.T) iamprune.Action {
			return rewriteAction("role/shared-role-a", managedChange(t, sharedARN, "v1", iamprune.PolicyManaged, iamprune.MethodReplaceCopy, 2, allow("*", "logs:PutLogEvents")))
		}, "AttachRolePolicy", false},
		{"new version: create fails after the delete", func(t *testing.T) iamprune.Action {
			return rewriteAction("role/versioned-role", managedChange(t, versionedARN, "v4", iamprune.PolicyManaged, iamprune.MethodNewVersion, 1, allow("*", "ec2:DescribeInstances")))
		}, "CreatePolicyVersion", true},
		{"new version: set back without post-image", func(t *testing.T) iamprune.Action {
			return rewriteAction("role/versioned-role", managedChange(t, versionedARN, "v4", iamprune.PolicyManaged, iamprune.MethodNewVersion, 1, allow("*", "ec2:DescribeInstances")))
		}, "", false},
		{"inline split: put fails", func(t *testing.T) iamprune.Action {
			return rewriteAction("role/inline-role", inlineChange(t, "inline-role", "app-inline", allow("*", "s3:GetObject"), allow("*", "sqs:SendMessage")))
		}, "PutRolePolicy", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "rewrite")
			before := e.dump()
			a := tt.a(t)
			in := e.inspect(a)
			if tt.failOp != "" {
				e.srv.FailNext(tt.failOp, "AccessDenied", 1)
			}
			post, err := e.ex[a.Kind].Apply(e.ctx, a, in)
			if (err == nil) != (tt.failOp == "") {
				t.Fatalf("Apply: %v", err)
			}
			if !tt.post {
				post = nil
			}
			rec := record(a, in, post)
			out, err := e.ex[a.Kind].Rollback(e.ctx, rec)
			if err != nil || out.AlreadyDone {
				t.Fatalf("Rollback = %+v, %v", out, err)
			}
			if a.Principal == acct+"role/versioned-role" {
				e.sameDump("after rollback", recreated(t, before, versionedARN), recreated(t, e.dump(), versionedARN))
			} else {
				e.sameDump("after rollback", before, e.dump())
			}
			n := len(e.srv.Writes())
			if again, err := e.ex[a.Kind].Rollback(e.ctx, rec); err != nil || !again.AlreadyDone {
				t.Errorf("second Rollback = %+v, %v", again, err)
			}
			if w := e.writes(); len(w) != n {
				t.Errorf("second Rollback wrote %v", w[n:])
			}
		})
	}
}

// An interrupted run left the refined copy created and attached; the next
// run finishes the job without creating it again, and its rollback leaves
// the copy as it found it.
func TestRewriteResume(t *testing.T) {
	e := newEnv(t, "rewrite")
	a := rewriteAction("role/shared-role-a", managedChange(t, sharedARN, "v1", iamprune.PolicyManaged, iamprune.MethodReplaceCopy, 2, allow("*", "logs:PutLogEvents")))
	e.srv.FailNext("DetachRolePolicy", "AccessDenied", 1)
	if _, err := e.ex[a.Kind].Apply(e.ctx, a, e.inspect(a)); err == nil {
		t.Fatal("Apply succeeded despite the failed detach")
	}
	mid := e.dump()
	n := len(e.srv.Writes())
	in := e.inspect(a)
	if in.Skip != "" || in.AlreadyDone {
		t.Fatalf("Inspect %+v", in)
	}
	post, err := e.ex[a.Kind].Apply(e.ctx, a, in)
	if err != nil {
		t.Fatal(err)
	}
	if w := e.writes()[n:]; !slices.Equal(w, []string{"DetachRolePolicy"}) {
		t.Errorf("resumed apply wrote %v", w)
	}
	if _, err := e.ex[a.Kind].Rollback(e.ctx, record(a, in, post)); err != nil {
		t.Fatal(err)
	}
	e.sameDump("after rolling back the resumed run", mid, e.dump())
}

func TestRewriteInvalid(t *testing.T) {
	e := newEnv(t, "rewrite")
	good := managedChange(t, sharedARN, "v1", iamprune.PolicyManaged, iamprune.MethodReplaceCopy, 2, allow("*", "logs:PutLogEvents"))
	tests := []struct {
		name string
		edit func(*iamprune.PolicyChange)
		want string
	}{
		{"method", func(c *iamprune.PolicyChange) { c.Method = "rewrite" }, `method "rewrite" is not one of`},
		{"new version of an AWS policy", func(c *iamprune.PolicyChange) {
			c.Policy, c.Type, c.Method = ec2ReadARN, iamprune.PolicyAWSManaged, iamprune.MethodNewVersion
		}, "new-version needs a customer-managed policy"},
		{"detach with after", func(c *iamprune.PolicyChange) { c.Method = iamprune.MethodDetach }, "detach removes the policy, but after holds 1"},
		{"no after", func(c *iamprune.PolicyChange) { c.After = nil }, "replace-copy needs the refined document"},
		{"bad after", func(c *iamprune.PolicyChange) { c.After = []json.RawMessage{json.RawMessage(`{`)} }, "after[0] is not a policy document"},
		{"other partition", func(c *iamprune.PolicyChange) {
			c.Policy, c.Type = "arn:aws-cn:iam::aws:policy/ReadOnlyAccess", iamprune.PolicyAWSManaged
		}, "is in partition aws-cn, the principal in aws"},
		{"other account", func(c *iamprune.PolicyChange) { c.Policy = "arn:aws:iam::444455556666:policy/x" }, "is in account 444455556666"},
	}
	for _, tt := range tests {
		c := good
		tt.edit(&c)
		_, err := e.ex[iamprune.KindRewritePolicy].Inspect(e.ctx, rewriteAction("role/shared-role-a", c))
		if iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), "policies[0]: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v", tt.name, err)
		}
	}
	if _, err := e.ex[iamprune.KindRewritePolicy].Inspect(e.ctx, rewriteAction("role/shared-role-a", good, good)); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("duplicate: err %v", err)
	}
	if _, err := e.ex[iamprune.KindRewritePolicy].Inspect(e.ctx, rewriteAction("role/shared-role-a")); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("no policies: err %v", err)
	}
}

func TestCopyName(t *testing.T) {
	if got := CopyName("shared-policy", "app", 1); got != "iamprune-shared-policy-app" {
		t.Errorf("short name %q", got)
	}
	if got := CopyName("shared-policy", "app", 3); got != "iamprune-shared-policy-app-3" {
		t.Errorf("part 3 %q", got)
	}
	long := strings.Repeat("p", 100)
	a, b := CopyName(long, strings.Repeat("r", 60), 1), CopyName(long, strings.Repeat("r", 61), 1)
	if len(a) != 128 || len(b) != 128 || a == b || a[:110] != b[:110] || !namePattern.MatchString(a) {
		t.Errorf("long names %q %q", a, b)
	}
	if a2 := CopyName(long, strings.Repeat("r", 60), 2); len(a2) != 128 || !strings.HasSuffix(a2, a[119:]+"-2") {
		t.Errorf("long part 2 %q (part 1 %q)", a2, a)
	}
	if x1, x2 := CopyName(long, "x", 1), CopyName(long, "x", 1); x1 != x2 {
		t.Error("not deterministic")
	}
}

// A refined copy someone gave a second version is still deleted by the
// rollback, its non-default versions first.
func TestRewriteRollbackCopyWithVersions(t *testing.T) {
	e := newEnv(t, "rewrite")
	before := e.dump()
	a := rewriteAction("role/shared-role-a", managedChange(t, sharedARN, "v1", iamprune.PolicyManaged, iamprune.MethodReplaceCopy, 2, allow("*", "logs:PutLogEvents")))
	in := e.inspect(a)
	post, err := e.ex[a.Kind].Apply(e.ctx, a, in)
	if err != nil {
		t.Fatal(err)
	}
	copyARN := copyPath + "iamprune-shared-policy-shared-role-a"
	if _, err := e.iam.CreatePolicyVersion(e.ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(copyARN), PolicyDocument: aws.String(string(allow("*", "logs:*")))}); err != nil {
		t.Fatal(err)
	}
	n := len(e.srv.Writes())
	out, err := e.ex[a.Kind].Rollback(e.ctx, record(a, in, post))
	if err != nil {
		t.Fatal(err)
	}
	if w := e.writes()[n:]; !slices.Equal(w, []string{"AttachRolePolicy", "DetachRolePolicy", "DeletePolicyVersion", "DeletePolicy"}) {
		t.Errorf("rollback wrote %v", w)
	}
	if !strings.Contains(out.Detail, "re-attached "+sharedARN) || !strings.Contains(out.Detail, "deleted "+copyARN) {
		t.Errorf("detail %q", out.Detail)
	}
	e.sameDump("after rollback", before, e.dump())
}

// Documents compare by meaning: key order, whitespace and IAM's URL
// encoding do not matter; values do.
func TestRewriteDocumentsCompare(t *testing.T) {
	plain := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	reordered := `{ "Statement": [ {"Resource":"*", "Action":"s3:GetObject", "Effect":"Allow"} ], "Version": "2012-10-17" }`
	encoded, _ := json.Marshal(url.QueryEscape(plain))
	for _, raw := range []string{plain, reordered, string(encoded)} {
		doc, err := docText(json.RawMessage(raw))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if canonical(doc) != canonical(plain) {
			t.Errorf("%s reads as %s", raw, canonical(doc))
		}
	}
	if canonical(strings.Replace(plain, "GetObject", "PutObject", 1)) == canonical(plain) {
		t.Error("different actions compare equal")
	}
}

// An inline Before the plan carried URL-encoded, as IAM returns it, is
// recognised.
func TestRewriteEncodedBefore(t *testing.T) {
	e := newEnv(t, "rewrite")
	c := inlineChange(t, "inline-role", "app-inline", allow("*", "s3:GetObject"))
	enc, _ := json.Marshal(url.PathEscape(string(c.Before)))
	c.Before = enc
	if in := e.inspect(rewriteAction("role/inline-role", c)); in.Skip != "" || in.AlreadyDone {
		t.Errorf("Inspect %+v", in)
	}
}

// Two policies of one name, an AWS-managed and a customer-managed one,
// would get copies of one name: refused before any write.
func TestRewriteCopyNameCollision(t *testing.T) {
	e := &rewritePolicy{}
	doc := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	a := iamprune.Action{ID: "x", Principal: "arn:aws:iam::111122223333:user/analyst", Target: "analyst", Kind: iamprune.KindRewritePolicy,
		Policies: []iamprune.PolicyChange{
			{Policy: "arn:aws:iam::aws:policy/ReadOnly", Type: iamprune.PolicyAWSManaged, Method: iamprune.MethodReplaceCopy, Before: doc, After: []json.RawMessage{doc}},
			{Policy: "arn:aws:iam::111122223333:policy/ReadOnly", Type: iamprune.PolicyManaged, Method: iamprune.MethodReplaceCopy, Before: doc, After: []json.RawMessage{doc}},
		}}
	p, err := principalOf(a, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.changes(a, p); err == nil || !strings.Contains(err.Error(), "like the copy of") {
		t.Errorf("changes: %v", err)
	}
}
