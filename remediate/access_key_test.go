package remediate

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
)

func keyAction(kind iamprune.ActionKind, key string, last *time.Time) iamprune.Action {
	return iamprune.Action{
		ID: "act-" + key, Principal: acct + "user/alice", FindingType: iamprune.UnusedIAMUserAccessKey,
		Kind: kind, Target: key, Services: []string{}, LastAccessed: last,
	}
}

// keyStatus reads a key's status through the IAM API; "" when it is gone.
func (e *env) keyStatus(user, id string) string {
	e.t.Helper()
	out, err := e.iam.ListAccessKeys(e.ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, k := range out.AccessKeyMetadata {
		if aws.ToString(k.AccessKeyId) == id {
			return string(k.Status)
		}
	}
	return ""
}

func TestDeactivateAccessKeyRoundTrip(t *testing.T) {
	e := newEnv(t, "keys")
	a := keyAction(iamprune.KindDeactivateAccessKey, "AKIAALICE00000000001", nil)
	before, out := e.roundTrip(a, func(post json.RawMessage) {
		if s := e.keyStatus("alice", a.Target); s != "Inactive" {
			t.Errorf("after apply: key status %q, want Inactive", s)
		}
		if w := e.writes(); !slices.Equal(w, []string{"UpdateAccessKey"}) {
			t.Errorf("apply wrote %v, want one UpdateAccessKey", w)
		}
	})
	e.sameDump("after rollback", before, e.dump())
	if !strings.Contains(out.Detail, "Active") || out.Secret != "" {
		t.Errorf("rollback outcome %+v", out)
	}
}

func TestDeactivateAccessKeyInspect(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		last     *time.Time
		markUsed *time.Time
		want     iamprune.Inspection
	}{
		{name: "never used", key: "AKIAALICE00000000001"},
		{name: "used after the plan's never", key: "AKIAALICE00000000001", markUsed: ptr("2026-11-28T11:00:00Z"),
			want: iamprune.Inspection{Skip: "access key AKIAALICE00000000001 used on 2026-11-28T11:00:00Z, after the finding"}},
		{name: "used after the plan's last use", key: "AKIAALICE00000000003", last: ptr("2025-04-01T00:00:00Z"),
			want: iamprune.Inspection{Skip: "access key AKIAALICE00000000003 used on 2025-05-01T00:00:00Z, after the finding"}},
		{name: "last use the plan knew", key: "AKIAALICE00000000003", last: ptr("2025-05-01T00:00:00Z")},
		{name: "already inactive", key: "AKIAALICE00000000002", last: ptr("2025-04-01T00:00:00Z"), want: iamprune.Inspection{AlreadyDone: true}},
		{name: "gone", key: "AKIAALICE00000000009", want: iamprune.Inspection{Skip: "access key AKIAALICE00000000009 no longer exists"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "keys")
			if tt.markUsed != nil {
				if err := e.srv.MarkAccessKeyUsed(tt.key, *tt.markUsed); err != nil {
					t.Fatal(err)
				}
			}
			in := e.inspect(keyAction(iamprune.KindDeactivateAccessKey, tt.key, tt.last))
			if in.Skip != tt.want.Skip || in.AlreadyDone != tt.want.AlreadyDone {
				t.Errorf("Inspect = skip %q done %v, want skip %q done %v", in.Skip, in.AlreadyDone, tt.want.Skip, tt.want.AlreadyDone)
			}
			if w := e.writes(); len(w) != 0 {
				t.Errorf("Inspect wrote %v", w)
			}
			if tt.markUsed != nil && (in.LastUsed == nil || !in.LastUsed.Equal(*tt.markUsed)) {
				t.Errorf("LastUsed = %v, want %v", in.LastUsed, tt.markUsed)
			}
		})
	}
}

func TestDeactivateAccessKeyPreImage(t *testing.T) {
	e := newEnv(t, "keys")
	in := e.inspect(keyAction(iamprune.KindDeactivateAccessKey, "AKIAALICE00000000003", ptr("2025-05-01T00:00:00Z")))
	var got map[string]any
	if err := json.Unmarshal(in.PreImage, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"user": "alice", "access_key_id": "AKIAALICE00000000003", "status": "Active",
		"create_date": "2025-03-01T00:00:00Z", "last_used": "2025-05-01T00:00:00Z",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("pre-image %s = %v, want %v", k, got[k], v)
		}
	}
}

func TestDeactivateAccessKeyRollbackOfDeletedKey(t *testing.T) {
	e := newEnv(t, "keys")
	a := keyAction(iamprune.KindDeactivateAccessKey, "AKIAALICE00000000001", nil)
	in := e.inspect(a)
	post, err := e.ex[a.Kind].Apply(e.ctx, a, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.iam.DeleteAccessKey(e.ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(a.Target)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ex[a.Kind].Rollback(e.ctx, record(a, in, post))
	if err == nil || !strings.Contains(err.Error(), "cannot be restored") || !strings.Contains(err.Error(), "create-access-key") {
		t.Errorf("Rollback of a deleted key: %v, want an error saying it cannot be restored and how to issue a new key", err)
	}
}

func TestDeleteAccessKey(t *testing.T) {
	e := newEnv(t, "keys")
	ex := e.ex[iamprune.KindDeleteAccessKey]

	active := keyAction(iamprune.KindDeleteAccessKey, "AKIAALICE00000000001", nil)
	if in := e.inspect(active); in.Skip != "access key AKIAALICE00000000001 is Active; iamprune deletes only keys it deactivated" {
		t.Errorf("active key: skip %q", in.Skip)
	}

	a := keyAction(iamprune.KindDeleteAccessKey, "AKIAALICE00000000002", ptr("2025-04-01T00:00:00Z"))
	// A rollback before the delete finds the key and has nothing to do.
	if out, err := ex.Rollback(e.ctx, record(a, iamprune.Inspection{}, nil)); err != nil || !out.AlreadyDone {
		t.Errorf("rollback of an undeleted key: %+v, %v", out, err)
	}
	in := e.inspect(a)
	if in.Skip != "" || in.AlreadyDone {
		t.Fatalf("inactive key: %+v", in)
	}
	post, err := ex.Apply(e.ctx, a, in)
	if err != nil {
		t.Fatal(err)
	}
	if s := e.keyStatus("alice", a.Target); s != "" {
		t.Errorf("after delete: key status %q, want gone", s)
	}
	if w := e.writes(); !slices.Equal(w, []string{"DeleteAccessKey"}) {
		t.Errorf("apply wrote %v", w)
	}
	if in := e.inspect(a); !in.AlreadyDone {
		t.Errorf("after delete: Inspect %+v, want already done", in)
	}
	_, err = ex.Rollback(e.ctx, record(a, in, post))
	if err == nil || !strings.Contains(err.Error(), "cannot be restored") || !strings.Contains(err.Error(), "aws iam create-access-key --user-name alice") {
		t.Errorf("Rollback = %v, want an error saying the key cannot be restored and how to issue a new one", err)
	}
}

func TestDeleteAccessKeyUsedSince(t *testing.T) {
	e := newEnv(t, "keys")
	if err := e.srv.MarkAccessKeyUsed("AKIAALICE00000000002", testNow.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	in := e.inspect(keyAction(iamprune.KindDeleteAccessKey, "AKIAALICE00000000002", ptr("2025-04-01T00:00:00Z")))
	if !strings.HasPrefix(in.Skip, "access key AKIAALICE00000000002 used on 2026-11-28T11:00:00Z") {
		t.Errorf("skip %q", in.Skip)
	}
}
