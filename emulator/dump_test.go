package emulator

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func TestDumpDeterministic(t *testing.T) {
	a, b := newWriteEnv(t), newWriteEnv(t)
	first := dump(t, a.srv)
	if first != dump(t, a.srv) || first != dump(t, b.srv) {
		t.Fatal("two dumps of the same state differ")
	}
	var d dumpState
	if err := json.Unmarshal([]byte(first), &d); err != nil {
		t.Fatalf("dump is not JSON: %v", err)
	}
	if len(d.Users) != 3 || len(d.Roles) != 3 || len(d.Groups) != 1 || len(d.AccessKeys) != 4 || len(d.LoginProfiles) != 2 || len(d.Policies) != 3 {
		t.Errorf("dump holds %d users %d roles %d groups %d keys %d profiles %d policies",
			len(d.Users), len(d.Roles), len(d.Groups), len(d.AccessKeys), len(d.LoginProfiles), len(d.Policies))
	}
	if !strings.Contains(first, "\n  \"Users\": [") {
		t.Error("dump is not indented")
	}
}

// TestDumpWritesAndInverses: each write shows in the dump, and its
// inverse restores the dump byte for byte, whatever order it leaves lists
// in.
func TestDumpWritesAndInverses(t *testing.T) {
	role, user := aws.String("app-role"), aws.String("bob")
	tests := []struct {
		name     string
		do, undo func(c *iam.Client) error
		shows    string
	}{
		{
			name:  "deactivate key",
			do:    func(c *iam.Client) error { return updateKey(c, "alice", "AKIAALICE00000000001", "Inactive") },
			undo:  func(c *iam.Client) error { return updateKey(c, "alice", "AKIAALICE00000000001", "Active") },
			shows: `"Status": "Inactive"`,
		},
		{
			name: "inline deny on role",
			do: func(c *iam.Client) error {
				_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String("iamprune-deny"), PolicyDocument: aws.String(denyS3)})
				return err
			},
			undo: func(c *iam.Client) error {
				_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: aws.String("iamprune-deny")})
				return err
			},
			shows: `"PolicyName": "iamprune-deny"`,
		},
		{
			name: "quarantine role",
			do: func(c *iam.Client) error {
				if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: role, PolicyArn: aws.String(denyAllARN)}); err != nil {
					return err
				}
				_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: role, Tags: []types.Tag{tag("iamprune:quarantined", "2026-12-01")}})
				return err
			},
			undo: func(c *iam.Client) error {
				if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: role, PolicyArn: aws.String(denyAllARN)}); err != nil {
					return err
				}
				_, err := c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: role, TagKeys: []string{"iamprune:quarantined"}})
				return err
			},
			shows: `"Key": "iamprune:quarantined"`,
		},
		{
			name: "managed deny on user",
			do: func(c *iam.Client) error {
				out, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("iamprune-bob"), PolicyDocument: aws.String(denyS3)})
				if err != nil {
					return err
				}
				_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: user, PolicyArn: out.Policy.Arn})
				return err
			},
			undo: func(c *iam.Client) error {
				arn := aws.String("arn:aws:iam::111122223333:policy/iamprune-bob")
				if _, err := c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user, PolicyArn: arn}); err != nil {
					return err
				}
				_, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: arn})
				return err
			},
			shows: `"PolicyName": "iamprune-bob"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newWriteEnv(t)
			before := dump(t, env.srv)
			if err := tt.do(env.iam); err != nil {
				t.Fatal(err)
			}
			after := dump(t, env.srv)
			if after == before || !strings.Contains(after, tt.shows) {
				t.Errorf("dump after the write does not show %s", tt.shows)
			}
			if err := tt.undo(env.iam); err != nil {
				t.Fatal(err)
			}
			if got := dump(t, env.srv); got != before {
				t.Errorf("inverse writes did not restore the dump:\nbefore %s\nafter %s", before, got)
			}
		})
	}
}

func updateKey(c *iam.Client, user, id, status string) error {
	_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id), Status: types.StatusType(status)})
	return err
}

// TestDumpRecreatedLoginProfile: a deleted profile comes back new, so the
// dump differs in the login profile only.
func TestDumpRecreatedLoginProfile(t *testing.T) {
	env := newWriteEnv(t)
	var before dumpState
	if err := json.Unmarshal([]byte(dump(t, env.srv)), &before); err != nil {
		t.Fatal(err)
	}
	if _, err := env.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("alice"), Password: aws.String("0neTimePassw0rd!"), PasswordResetRequired: true}); err != nil {
		t.Fatal(err)
	}
	var after dumpState
	if err := json.Unmarshal([]byte(dump(t, env.srv)), &after); err != nil {
		t.Fatal(err)
	}
	want := dumpLogin{UserName: "alice", CreateDate: "2026-12-01T12:00:00Z", PasswordResetRequired: true}
	if after.LoginProfiles[0] != want {
		t.Errorf("recreated profile = %+v, want %+v", after.LoginProfiles[0], want)
	}
	after.LoginProfiles[0] = before.LoginProfiles[0]
	if !reflect.DeepEqual(before, after) {
		t.Error("recreating a login profile changed more than the profile")
	}
}

// TestSnapshotUntouched: writes change the emulator's copy only.
func TestSnapshotUntouched(t *testing.T) {
	env := newWriteEnv(t)
	pristine := loadSnapshot(t, "basic")
	steps := []error{
		updateKey(env.iam, "alice", "AKIAALICE00000000001", "Inactive"),
		func() error {
			_, err := env.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String("AKIABOB0000000000001")})
			return err
		}(),
		func() error {
			_, err := env.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("carol"), PolicyName: aws.String("x"), PolicyDocument: aws.String(denyS3)})
			return err
		}(),
		func() error {
			_, err := env.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("app-role"), Tags: []types.Tag{tag("env", "changed")}})
			return err
		}(),
		func() error {
			_, err := env.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("app-role"), PolicyArn: aws.String("arn:aws:iam::111122223333:policy/app-policy")})
			return err
		}(),
		func() error {
			_, err := env.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("carol")})
			return err
		}(),
		env.srv.MarkRoleUsed("ci-role", fixedNow),
		env.srv.MarkAccessKeyUsed("AKIAALICE00000000002", fixedNow),
		env.srv.MarkPasswordUsed("alice", fixedNow),
		env.srv.SetFindingStatus("f-key-alice", "RESOLVED", fixedNow),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if !reflect.DeepEqual(env.snap, pristine) {
		t.Error("writes and hooks changed the snapshot passed to New")
	}
}
