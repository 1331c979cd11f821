package apply_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/snapshot"
)

// kindCase is one remediation of a kind, on remediate's test data.
type kindCase struct {
	name, snap string
	action     iamprune.Action
	// allowed are the entities a rollback cannot restore exactly (a login
	// profile comes back with a new password).
	allowed []string
}

func kindCases(t *testing.T) []kindCase {
	last := ptrTime(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	act := func(id, principal string, ft iamprune.FindingType, k iamprune.ActionKind, target string, services ...string) iamprune.Action {
		if services == nil {
			services = []string{}
		}
		return iamprune.Action{ID: id, FindingID: "f-" + id, Principal: arnPrefix + principal, FindingType: ft, Kind: k,
			Target: target, Services: services, LastAccessed: last}
	}
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("unusedservice-number-%03d", i)
		}
		return out
	}
	stmt := func(sid string, resource string, actions ...string) map[string]any {
		return map[string]any{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}
	}
	doc := func(stmts ...map[string]any) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
		return b
	}
	replace := act("rw-shared", "role/shared-role-a", iamprune.UnusedPermission, iamprune.KindRewritePolicy, "shared-role-a", "kms")
	replace.Policies = []iamprune.PolicyChange{{Policy: arnPrefix + "policy/shared-policy", Name: "shared-policy", Type: iamprune.PolicyManaged,
		Method: iamprune.MethodReplaceCopy, Version: "v1", AttachmentCount: 2,
		Before: managedBefore(t, "rewrite", arnPrefix+"policy/shared-policy", "v1"),
		After:  []json.RawMessage{doc(stmt("Logs", "*", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups"))}}}
	split := act("rw-inline", "role/inline-role", iamprune.UnusedPermission, iamprune.KindRewritePolicy, "inline-role", "sqs")
	split.Policies = []iamprune.PolicyChange{{Policy: "app-inline", Name: "app-inline", Type: iamprune.PolicyInline, Method: iamprune.MethodPutInline,
		Before: inlineBefore(t, "rewrite", "inline-role", "app-inline"),
		After: []json.RawMessage{doc(stmt("Objects", "arn:aws:s3:::app-bucket/*", "s3:GetObject", "s3:PutObject", "s3:DeleteObject")),
			doc(stmt("Queue", "arn:aws:sqs:us-east-1:111122223333:jobs", "sqs:SendMessage"))}}}
	return []kindCase{
		{name: "deactivate-access-key", snap: "keys", action: act("k", "user/alice", iamprune.UnusedIAMUserAccessKey, iamprune.KindDeactivateAccessKey, "AKIAALICE00000000001")},
		{name: "delete-login-profile", snap: "login", action: withLast(act("l", "user/carol", iamprune.UnusedIAMUserPassword, iamprune.KindDeleteLoginProfile, "carol"), time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC)),
			allowed: []string{"LoginProfiles/carol"}},
		{name: "quarantine-role", snap: "quarantine", action: act("q", "role/ci-role", iamprune.UnusedIAMRole, iamprune.KindQuarantineRole, "ci-role")},
		{name: "quarantine-role AWSDenyAll", snap: "quarantine", action: act("q", "role/full-role", iamprune.UnusedIAMRole, iamprune.KindQuarantineRole, "full-role")},
		{name: "deny-unused-services role", snap: "deny", action: act("d", "role/app-role", iamprune.UnusedPermission, iamprune.KindDenyUnusedServices, "app-role", "ec2", "s3", "sqs")},
		{name: "deny-unused-services user split", snap: "deny", action: act("d", "user/dev", iamprune.UnusedPermission, iamprune.KindDenyUnusedServices, "dev", many(300)...)},
		{name: "rewrite-policy replace-copy", snap: "rewrite", action: replace},
		{name: "rewrite-policy inline split", snap: "rewrite", action: split},
	}
}

// Every write of every kind fails once, in turn: the failed apply is
// completed by the next one, to exactly the state of a clean apply, and
// rolling back both runs (newest first) restores the state before.
// delete-access-key is left out: its one write cannot be undone by design.
func TestEveryWriteFailingOnce(t *testing.T) {
	t.Parallel()
	for _, kc := range kindCases(t) {
		t.Run(kc.name, func(t *testing.T) {
			clean := newIAMEnv(t, kc.snap)
			before := clean.dump()
			cleanRun := clean.apply(kc.action)
			if statuses(cleanRun) != kc.action.ID+"=done" {
				t.Fatalf("clean apply: %+v", cleanRun.Results)
			}
			want := clean.dump()
			writes := clean.writes()
			if len(writes) == 0 {
				t.Fatal("the clean apply wrote nothing")
			}
			// Each write call of a multi-write kind is journaled as a step
			// (one IAM refused stays pending: AWSDenyAll after a full quota).
			if len(writes) > 1 {
				recs, _ := clean.store.Actions(context.Background(), cleanRun.RunID)
				var ops []string
				for _, st := range recs[0].Steps {
					ops = append(ops, st.Op)
				}
				if !slices.Equal(ops, writes) {
					t.Errorf("steps journaled %v, writes made %v", ops, writes)
				}
			}
			nth := map[string]int{}
			for _, op := range writes {
				nth[op]++
				n := nth[op]
				t.Run(fmt.Sprintf("%s#%d", op, n), func(t *testing.T) {
					e := newIAMEnv(t, kc.snap)
					e.failNth(op, n)
					first := e.apply(kc.action)
					if statuses(first) != kc.action.ID+"=failed" {
						t.Fatalf("apply with %s #%d failing: %+v", op, n, first.Results)
					}
					e.failNth("", 0)
					second := e.apply(kc.action)
					if statuses(second) != kc.action.ID+"=done" {
						t.Fatalf("re-apply: %+v", second.Results)
					}
					sameState(t, "after re-apply", want, e.dump())
					for _, run := range []string{second.RunID, first.RunID} {
						if res := e.rollback(run); res.Failed() {
							t.Fatalf("rollback of %s: %+v", run, res.Results)
						}
					}
					sameState(t, "after rolling back both runs", before, e.dump(), kc.allowed...)
				})
			}
		})
	}
}

func withLast(a iamprune.Action, t time.Time) iamprune.Action {
	a.LastAccessed = &t
	return a
}

// snapshotDoc returns a document of remediate's test data dir as a plan
// carries it: an inline policy of a role, or a managed policy's version.
func snapshotDoc(t *testing.T, dir, role, inline, arn, version string) json.RawMessage {
	t.Helper()
	snap, err := snapshot.LoadDir(filepath.Join("..", "remediate", "testdata", dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range snap.Auth.RoleDetailList {
		for _, p := range r.RolePolicyList {
			if r.RoleName == role && p.PolicyName == inline {
				return json.RawMessage(p.PolicyDocument.JSON)
			}
		}
	}
	for _, p := range snap.Auth.Policies {
		for _, v := range p.PolicyVersionList {
			if p.Arn == arn && v.VersionId == version {
				return json.RawMessage(v.Document.JSON)
			}
		}
	}
	t.Fatalf("no document %s %s %s %s in %s", role, inline, arn, version, dir)
	return nil
}

func inlineBefore(t *testing.T, dir, role, policy string) json.RawMessage {
	return snapshotDoc(t, dir, role, policy, "", "")
}

func managedBefore(t *testing.T, dir, arn, version string) json.RawMessage {
	return snapshotDoc(t, dir, "", "", arn, version)
}
