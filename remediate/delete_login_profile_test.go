package remediate

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
)

func loginAction(user string, last *time.Time) iamprune.Action {
	return iamprune.Action{
		ID: "act-login-" + user, Principal: acct + "user/" + user, FindingType: iamprune.UnusedIAMUserPassword,
		Kind: iamprune.KindDeleteLoginProfile, Target: user, Services: []string{}, LastAccessed: last,
	}
}

// The one documented exception to "rollback restores the dump": the old
// password cannot come back, so a new profile exists that must be reset,
// and its one-time password is returned once.
func TestDeleteLoginProfileRoundTrip(t *testing.T) {
	e := newEnv(t, "login")
	a := loginAction("carol", ptr("2025-01-10T08:00:00Z"))
	before, out := e.roundTrip(a, func(post json.RawMessage) {
		_, err := e.iam.GetLoginProfile(e.ctx, &iam.GetLoginProfileInput{UserName: aws.String("carol")})
		if !isNoSuchEntity(err) {
			t.Errorf("after apply: GetLoginProfile err = %v, want NoSuchEntity", err)
		}
		if w := e.writes(); !slices.Equal(w, []string{"DeleteLoginProfile"}) {
			t.Errorf("apply wrote %v", w)
		}
	})
	if len(out.Secret) != passwordLength {
		t.Errorf("rollback secret has %d characters, want %d", len(out.Secret), passwordLength)
	}
	if strings.Contains(out.Detail, out.Secret) {
		t.Errorf("rollback detail contains the password: %q", out.Detail)
	}
	lp, err := e.iam.GetLoginProfile(e.ctx, &iam.GetLoginProfileInput{UserName: aws.String("carol")})
	if err != nil {
		t.Fatalf("after rollback: %v", err)
	}
	if !lp.LoginProfile.PasswordResetRequired {
		t.Error("recreated login profile does not require a password reset")
	}

	// Everything but carol's login profile is as it was.
	var b, a2 map[string]any
	json.Unmarshal([]byte(before), &b)
	json.Unmarshal([]byte(e.dump()), &a2)
	bp, ap := b["LoginProfiles"].([]any), a2["LoginProfiles"].([]any)
	delete(b, "LoginProfiles")
	delete(a2, "LoginProfiles")
	if !reflect.DeepEqual(b, a2) {
		t.Error("rollback changed more than carol's login profile")
	}
	if len(bp) != 1 || len(ap) != 1 || ap[0].(map[string]any)["UserName"] != "carol" || ap[0].(map[string]any)["PasswordResetRequired"] != true {
		t.Errorf("login profiles before %v, after %v", bp, ap)
	}
}

func TestDeleteLoginProfileInspect(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		markUsed bool
		skip     string
		done     bool
	}{
		{name: "unused", user: "carol"},
		{name: "used since", user: "carol", markUsed: true, skip: "password of user carol used on 2026-11-28T11:00:00Z, after the finding"},
		{name: "no profile", user: "dave", done: true},
		{name: "user gone", user: "ghost", skip: "user ghost no longer exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "login")
			if tt.markUsed {
				if err := e.srv.MarkPasswordUsed(tt.user, testNow.Add(-time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			in := e.inspect(loginAction(tt.user, ptr("2025-01-10T08:00:00Z")))
			if in.Skip != tt.skip || in.AlreadyDone != tt.done {
				t.Errorf("Inspect = skip %q done %v, want skip %q done %v", in.Skip, in.AlreadyDone, tt.skip, tt.done)
			}
			if tt.name == "unused" {
				var img loginImage
				if err := json.Unmarshal(in.PreImage, &img); err != nil {
					t.Fatal(err)
				}
				want := loginImage{User: "carol", CreateDate: ptr("2024-03-01T12:00:00Z"), PasswordLastUsed: ptr("2025-01-10T08:00:00Z")}
				if img.User != want.User || !img.CreateDate.Equal(*want.CreateDate) || !img.PasswordLastUsed.Equal(*want.PasswordLastUsed) || img.PasswordResetRequired {
					t.Errorf("pre-image %+v", img)
				}
			}
		})
	}
}

// A password policy longer than 24 characters rejects the first password;
// the rollback retries with IAM's maximum length.
func TestDeleteLoginProfileRollbackPasswordPolicy(t *testing.T) {
	e := newEnv(t, "login")
	a := loginAction("carol", ptr("2025-01-10T08:00:00Z"))
	in := e.inspect(a)
	post, err := e.ex[a.Kind].Apply(e.ctx, a, in)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.FailNext("CreateLoginProfile", "PasswordPolicyViolation", 1)
	out, err := e.ex[a.Kind].Rollback(e.ctx, record(a, in, post))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Secret) != maxPasswordLength {
		t.Errorf("secret length %d, want %d", len(out.Secret), maxPasswordLength)
	}
}
