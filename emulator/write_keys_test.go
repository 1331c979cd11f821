package emulator

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func keyStatus(t *testing.T, env *testEnv, user, id string) types.StatusType {
	t.Helper()
	p := iam.NewListAccessKeysPaginator(env.iam, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range out.AccessKeyMetadata {
			if aws.ToString(k.AccessKeyId) == id {
				return k.Status
			}
		}
	}
	return ""
}

func TestUpdateAccessKey(t *testing.T) {
	env := newWriteEnv(t)
	const id = "AKIAALICE00000000001"
	for _, status := range []types.StatusType{types.StatusTypeInactive, types.StatusTypeInactive, types.StatusTypeActive} {
		if _, err := env.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(id), Status: status}); err != nil {
			t.Fatalf("UpdateAccessKey %s: %v", status, err)
		}
		if got := keyStatus(t, env, "alice", id); got != status {
			t.Errorf("after UpdateAccessKey %s, ListAccessKeys says %s", status, got)
		}
	}
	if w := env.srv.Writes(); len(w) != 3 || w[0].Operation != "UpdateAccessKey" {
		t.Errorf("Writes() = %v, want the 3 UpdateAccessKey calls", w)
	}
}

func TestUpdateAccessKeyErrors(t *testing.T) {
	tests := []struct {
		name, user, key, status, code string
	}{
		{"unknown key", "alice", "AKIANOPE000000000000", "Inactive", "NoSuchEntity"},
		{"key of another user", "bob", "AKIAALICE00000000001", "Inactive", "NoSuchEntity"},
		{"unknown user", "zed", "AKIAALICE00000000001", "Inactive", "NoSuchEntity"},
		{"bad status", "alice", "AKIAALICE00000000001", "Expired", "ValidationError"},
		{"no user for a role caller", "", "AKIAALICE00000000001", "Inactive", "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newWriteEnv(t)
			in := &iam.UpdateAccessKeyInput{AccessKeyId: aws.String(tt.key), Status: types.StatusType(tt.status)}
			if tt.user != "" {
				in.UserName = aws.String(tt.user)
			}
			_, err := env.iam.UpdateAccessKey(ctx, in)
			wantErr(t, err, tt.code)
			if got := keyStatus(t, env, "alice", "AKIAALICE00000000001"); got != types.StatusTypeActive {
				t.Errorf("a failed update changed the key to %s", got)
			}
		})
	}
}

func TestDeleteAccessKey(t *testing.T) {
	env := newWriteEnv(t)
	const id = "AKIAALICE00000000002"
	in := &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(id)}
	_, err := env.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String(id)})
	wantErr(t, err, "NoSuchEntity")
	if _, err := env.iam.DeleteAccessKey(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got := keyStatus(t, env, "alice", id); got != "" {
		t.Errorf("deleted key still listed with status %s", got)
	}
	_, err = env.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(id)})
	wantErr(t, err, "NoSuchEntity")
	_, err = env.iam.DeleteAccessKey(ctx, in)
	wantErr(t, err, "NoSuchEntity")
	// The other keys are untouched.
	if got := keyStatus(t, env, "alice", "AKIAALICE00000000003"); got != types.StatusTypeInactive {
		t.Errorf("other key status = %q", got)
	}
}

func TestLoginProfileLifecycle(t *testing.T) {
	env := newWriteEnv(t)
	user := aws.String("alice")
	if u, err := env.iam.GetUser(ctx, &iam.GetUserInput{UserName: user}); err != nil || u.User.PasswordLastUsed == nil {
		t.Fatalf("alice should start with a used password: %v %v", u, err)
	}
	_, err := env.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: user, Password: aws.String("Longenough1!")})
	wantErr(t, err, "EntityAlreadyExists")

	if _, err := env.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: user}); err != nil {
		t.Fatal(err)
	}
	_, err = env.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: user})
	wantErr(t, err, "NoSuchEntity")
	_, err = env.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: user})
	wantErr(t, err, "NoSuchEntity")
	if u, err := env.iam.GetUser(ctx, &iam.GetUserInput{UserName: user}); err != nil || u.User.PasswordLastUsed != nil {
		t.Errorf("without a login profile GetUser has PasswordLastUsed %v (%v)", u.User.PasswordLastUsed, err)
	}

	_, err = env.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: user, Password: aws.String("short12")})
	wantErr(t, err, "PasswordPolicyViolation")
	out, err := env.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: user, Password: aws.String("exactly8"), PasswordResetRequired: true})
	if err != nil {
		t.Fatalf("an 8-character password must pass: %v", err)
	}
	if lp := out.LoginProfile; aws.ToString(lp.UserName) != "alice" || !lp.PasswordResetRequired || !lp.CreateDate.Equal(fixedNow) {
		t.Errorf("CreateLoginProfile returned %+v", lp)
	}
	got, err := env.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: user})
	if err != nil || !got.LoginProfile.PasswordResetRequired || !got.LoginProfile.CreateDate.Equal(fixedNow) {
		t.Errorf("GetLoginProfile after create = %+v, %v", got, err)
	}
	if u, err := env.iam.GetUser(ctx, &iam.GetUserInput{UserName: user}); err != nil || u.User.PasswordLastUsed != nil {
		t.Errorf("a recreated profile has no last use, GetUser says %v (%v)", u.User.PasswordLastUsed, err)
	}
	_, err = env.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("zed"), Password: aws.String("Longenough1!")})
	wantErr(t, err, "NoSuchEntity")
}
