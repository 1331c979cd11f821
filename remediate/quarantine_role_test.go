package remediate

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
)

func roleAction(role string, last *time.Time) iamprune.Action {
	return iamprune.Action{
		ID: "act-quarantine-" + role, Principal: acct + "role/" + role, FindingType: iamprune.UnusedIAMRole,
		Kind: iamprune.KindQuarantineRole, Target: role, Services: []string{}, LastAccessed: last,
		Reason: "role unused for 545 days (limit 120)",
	}
}

func (e *env) roleTags(role string) map[string]string {
	e.t.Helper()
	out, err := e.iam.GetRole(e.ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]string{}
	for _, t := range out.Role.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func (e *env) attachedToRole(role string) []string {
	e.t.Helper()
	out, err := e.iam.ListAttachedRolePolicies(e.ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		e.t.Fatal(err)
	}
	return appendARNs(nil, out.AttachedPolicies)
}

func wantQuarantineTags(t *testing.T, got map[string]string) {
	t.Helper()
	want := map[string]string{
		TagQuarantinedAt:    "2026-11-28T12:00:00Z",
		TagQuarantineReason: "role unused for 545 days limit 120",
		TagRunID:            "run-1",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("tag %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestQuarantineRoleInline(t *testing.T) {
	e := newEnv(t, "quarantine")
	a := roleAction("ci-role", ptr("2025-06-01T00:00:00Z"))
	before, _ := e.roundTrip(a, func(post json.RawMessage) {
		out, err := e.iam.GetRolePolicy(e.ctx, &iam.GetRolePolicyInput{RoleName: aws.String("ci-role"), PolicyName: aws.String(QuarantinePolicyName)})
		if err != nil {
			t.Fatal(err)
		}
		if doc, _ := url.QueryUnescape(aws.ToString(out.PolicyDocument)); doc != QuarantinePolicy {
			t.Errorf("quarantine policy = %s", doc)
		}
		tags := e.roleTags("ci-role")
		wantQuarantineTags(t, tags)
		if tags["env"] != "prod" {
			t.Errorf("other tags changed: %v", tags)
		}
		var p quarantinePost
		json.Unmarshal(post, &p)
		if p.Mechanism != mechInline {
			t.Errorf("post-image mechanism %q, want inline", p.Mechanism)
		}
		if w := e.writes(); !slices.Equal(w, []string{"PutRolePolicy", "TagRole"}) {
			t.Errorf("apply wrote %v", w)
		}
	})
	// The run-id tag the role had before is restored, not removed.
	e.sameDump("after rollback", before, e.dump())
}

// With the inline quota nearly full, the quarantine attaches AWSDenyAll.
func TestQuarantineRoleInlineQuotaFull(t *testing.T) {
	e := newEnv(t, "quarantine")
	a := roleAction("full-role", nil)
	before, _ := e.roundTrip(a, func(post json.RawMessage) {
		if got := e.attachedToRole("full-role"); !slices.Contains(got, "arn:aws:iam::aws:policy/AWSDenyAll") {
			t.Errorf("attached %v, want AWSDenyAll", got)
		}
		wantQuarantineTags(t, e.roleTags("full-role"))
		var p quarantinePost
		json.Unmarshal(post, &p)
		if p.Mechanism != mechDenyAll || p.PolicyARN != "arn:aws:iam::aws:policy/AWSDenyAll" {
			t.Errorf("post-image %+v", p)
		}
	})
	e.sameDump("after rollback", before, e.dump())
}

// AWSDenyAll that someone else attached stays attached after a rollback.
func TestQuarantineRoleKeepsForeignDenyAll(t *testing.T) {
	e := newEnv(t, "quarantine")
	a := roleAction("denied-role", nil)
	before, _ := e.roundTrip(a, func(json.RawMessage) {})
	e.sameDump("after rollback", before, e.dump())
	if got := e.attachedToRole("denied-role"); !slices.Contains(got, "arn:aws:iam::aws:policy/AWSDenyAll") {
		t.Errorf("rollback detached a pre-existing AWSDenyAll: %v", got)
	}
}

func TestQuarantineRoleInspect(t *testing.T) {
	tests := []struct {
		name string
		role string
		used bool
		skip string
	}{
		{name: "used since", role: "ci-role", used: true, skip: "role ci-role used on 2026-11-28T11:00:00Z, after the finding"},
		{name: "gone", role: "ghost-role", skip: "role ghost-role no longer exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "quarantine")
			if tt.used {
				if err := e.srv.MarkRoleUsed(tt.role, testNow.Add(-time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			if in := e.inspect(roleAction(tt.role, ptr("2025-06-01T00:00:00Z"))); in.Skip != tt.skip {
				t.Errorf("skip %q, want %q", in.Skip, tt.skip)
			}
		})
	}
}

// A role used after it was quarantined (assuming it still works) is
// reported as already done, not skipped.
func TestQuarantineRoleAlreadyDoneWins(t *testing.T) {
	e := newEnv(t, "quarantine")
	a := roleAction("ci-role", ptr("2025-06-01T00:00:00Z"))
	in := e.inspect(a)
	if _, err := e.ex[a.Kind].Apply(e.ctx, a, in); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.MarkRoleUsed("ci-role", testNow.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if in := e.inspect(a); !in.AlreadyDone {
		t.Errorf("Inspect = %+v, want already done", in)
	}
}
