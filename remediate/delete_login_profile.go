package remediate

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
)

// deleteLoginProfile removes an unused console password. A password cannot
// be restored, so Rollback creates a new login profile with a random
// one-time password that must be changed at the next sign-in.
type deleteLoginProfile struct {
	iam  IAMAPI
	opts Options
}

var _ iamprune.Executor = (*deleteLoginProfile)(nil)

type loginImage struct {
	User                  string     `json:"user"`
	CreateDate            *time.Time `json:"create_date,omitempty"`
	PasswordResetRequired bool       `json:"password_reset_required"`
	PasswordLastUsed      *time.Time `json:"password_last_used,omitempty"`
}

func (*deleteLoginProfile) Kind() iamprune.ActionKind { return iamprune.KindDeleteLoginProfile }

func (e *deleteLoginProfile) Inspect(ctx context.Context, a iamprune.Action) (iamprune.Inspection, error) {
	p, err := principalOf(a, "user")
	if err != nil {
		return iamprune.Inspection{}, err
	}
	u, err := e.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(p.Name)})
	if isNoSuchEntity(err) {
		return iamprune.Inspection{Skip: fmt.Sprintf("user %s no longer exists", p.Name)}, nil
	}
	if err != nil {
		return iamprune.Inspection{}, fmt.Errorf("cannot read user %s: %w", p.Name, err)
	}
	var lastUsed *time.Time
	if u.User != nil {
		lastUsed = u.User.PasswordLastUsed
	}
	lp, err := e.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(p.Name)})
	if isNoSuchEntity(err) {
		return iamprune.Inspection{AlreadyDone: true, LastUsed: lastUsed}, nil
	}
	if err != nil {
		return iamprune.Inspection{}, fmt.Errorf("cannot read login profile of user %s: %w", p.Name, err)
	}
	img := loginImage{User: p.Name, PasswordLastUsed: lastUsed}
	if lp.LoginProfile != nil {
		img.CreateDate = lp.LoginProfile.CreateDate
		img.PasswordResetRequired = lp.LoginProfile.PasswordResetRequired
	}
	in := iamprune.Inspection{PreImage: image(img), LastUsed: lastUsed}
	if usedSince(lastUsed, knownLastUse(a)) {
		in.Skip = fmt.Sprintf("password of user %s used on %s, after the finding", p.Name, stamp(*lastUsed))
	}
	return in, nil
}

func (e *deleteLoginProfile) Apply(ctx context.Context, a iamprune.Action, pre iamprune.Inspection) (json.RawMessage, error) {
	p, err := principalOf(a, "user")
	if err != nil {
		return nil, err
	}
	e.opts.logger().Debug("DeleteLoginProfile", "user", p.Name)
	_, err = e.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String(p.Name)})
	if err != nil && !isNoSuchEntity(err) {
		return nil, fmt.Errorf("cannot delete login profile of user %s: %w", p.Name, err)
	}
	return image(map[string]string{"user": p.Name, "login_profile": "deleted"}), nil
}

// Rollback recreates the login profile with a one-time password, returned
// as the outcome's Secret and nowhere else.
func (e *deleteLoginProfile) Rollback(ctx context.Context, rec iamprune.ActionRecord) (iamprune.RollbackOutcome, error) {
	p, err := principalOf(actionOf(rec), "user")
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	_, err = e.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(p.Name)})
	if err == nil {
		return iamprune.RollbackOutcome{AlreadyDone: true, Detail: fmt.Sprintf("user %s has a login profile", p.Name)}, nil
	}
	if !isNoSuchEntity(err) {
		return iamprune.RollbackOutcome{}, fmt.Errorf("cannot read login profile of user %s: %w", p.Name, err)
	}
	// A password policy may demand more than passwordLength characters;
	// IAM's maximum satisfies every policy's minimum.
	var secret string
	for _, n := range []int{passwordLength, maxPasswordLength} {
		if secret, err = newPassword(n); err != nil {
			return iamprune.RollbackOutcome{}, err
		}
		e.opts.logger().Debug("CreateLoginProfile", "user", p.Name)
		_, err = e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{
			UserName: aws.String(p.Name), Password: aws.String(secret), PasswordResetRequired: true,
		})
		if apiCode(err) != "PasswordPolicyViolation" {
			break
		}
	}
	if err != nil {
		return iamprune.RollbackOutcome{}, fmt.Errorf("cannot recreate login profile of user %s: %w", p.Name, err)
	}
	return iamprune.RollbackOutcome{
		Detail: fmt.Sprintf("login profile of user %s recreated with a one-time password that must be changed at the next sign-in (the old password cannot be restored)", p.Name),
		Secret: secret,
	}, nil
}

const (
	passwordLength    = 24
	maxPasswordLength = 128 // IAM's limit
)

// Character classes of an IAM password policy; symbols are the ones IAM
// accepts for RequireSymbols.
var passwordClasses = []string{
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"abcdefghijklmnopqrstuvwxyz",
	"0123456789",
	"!@#$%^&*()_+-=[]{}|'",
}

// newPassword returns n random characters with at least one of each class,
// so that it satisfies any password policy whose minimum length is <= n.
func newPassword(n int) (string, error) {
	all := ""
	for _, c := range passwordClasses {
		all += c
	}
	out := make([]byte, n)
	for i := range out {
		set := all
		if i < len(passwordClasses) {
			set = passwordClasses[i]
		}
		b, err := randIndex(len(set))
		if err != nil {
			return "", err
		}
		out[i] = set[b]
	}
	// Shuffle so the guaranteed classes do not sit at fixed positions.
	for i := len(out) - 1; i > 0; i-- {
		j, err := randIndex(i + 1)
		if err != nil {
			return "", err
		}
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}

func randIndex(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("cannot generate a password: %w", err)
	}
	return int(v.Int64()), nil
}
