package remediate

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune"
)

// keyImage is the pre-image of both access key actions.
type keyImage struct {
	User        string     `json:"user"`
	AccessKeyID string     `json:"access_key_id"`
	Status      string     `json:"status"`
	CreateDate  *time.Time `json:"create_date,omitempty"`
	LastUsed    *time.Time `json:"last_used,omitempty"`
}

// findKey returns the user's key id, or nil when the key or the user no
// longer exists.
func findKey(ctx context.Context, c IAMAPI, user, id string) (*types.AccessKeyMetadata, error) {
	pages := iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if isNoSuchEntity(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot list access keys of user %s: %w", user, err)
		}
		for i := range out.AccessKeyMetadata {
			if k := &out.AccessKeyMetadata[i]; aws.ToString(k.AccessKeyId) == id {
				return k, nil
			}
		}
	}
	return nil, nil
}

// inspectKey reads the key of a key action. It returns a nil image when the
// key is gone.
func inspectKey(ctx context.Context, c IAMAPI, a iamprune.Action) (*keyImage, error) {
	p, err := principalOf(a, "user")
	if err != nil {
		return nil, err
	}
	if a.Target == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "action %s: no access key id in target", a.ID)
	}
	k, err := findKey(ctx, c, p.Name, a.Target)
	if err != nil || k == nil {
		return nil, err
	}
	img := &keyImage{User: p.Name, AccessKeyID: a.Target, Status: string(k.Status), CreateDate: k.CreateDate}
	out, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(a.Target)})
	if isNoSuchEntity(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read last use of access key %s: %w", a.Target, err)
	}
	if out.AccessKeyLastUsed != nil {
		img.LastUsed = out.AccessKeyLastUsed.LastUsedDate
	}
	return img, nil
}

// keyUsedSince is the skip reason when the key was used after the finding.
func keyUsedSince(a iamprune.Action, img *keyImage) string {
	if usedSince(img.LastUsed, knownLastUse(a)) {
		return fmt.Sprintf("access key %s used on %s, after the finding", img.AccessKeyID, stamp(*img.LastUsed))
	}
	return ""
}

// newKeyHint tells the user how to replace a key that cannot come back.
func newKeyHint(user string) string {
	return fmt.Sprintf("issue a new key with `aws iam create-access-key --user-name %s` and give it to the key's owner", user)
}

// actionOf rebuilds the action a journal record was made for.
func actionOf(rec iamprune.ActionRecord) iamprune.Action {
	return iamprune.Action{
		ID: rec.ActionID, FindingID: rec.FindingID, Account: rec.Account, Principal: rec.Principal,
		FindingType: rec.FindingType, Kind: rec.Kind, Target: rec.Target, Services: rec.Services,
	}
}
