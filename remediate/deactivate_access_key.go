package remediate

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune"
)

// deactivateAccessKey sets an unused access key Inactive; rollback sets it
// back to the status it had.
type deactivateAccessKey struct {
	iam  IAMAPI
	opts Options
}

var _ iamprune.Executor = (*deactivateAccessKey)(nil)

func (*deactivateAccessKey) Kind() iamprune.ActionKind { return iamprune.KindDeactivateAccessKey }

func (e *deactivateAccessKey) Inspect(ctx context.Context, a iamprune.Action) (iamprune.Inspection, error) {
	img, err := inspectKey(ctx, e.iam, a)
	if err != nil {
		return iamprune.Inspection{}, err
	}
	if img == nil {
		return iamprune.Inspection{Skip: fmt.Sprintf("access key %s no longer exists", a.Target)}, nil
	}
	in := iamprune.Inspection{PreImage: image(img), LastUsed: img.LastUsed}
	switch {
	case img.Status == string(types.StatusTypeInactive):
		in.AlreadyDone = true
	default:
		in.Skip = keyUsedSince(a, img)
	}
	return in, nil
}

func (e *deactivateAccessKey) Apply(ctx context.Context, a iamprune.Action, pre iamprune.Inspection) (json.RawMessage, error) {
	p, err := principalOf(a, "user")
	if err != nil {
		return nil, err
	}
	e.opts.logger().Debug("UpdateAccessKey", "user", p.Name, "key", a.Target, "status", "Inactive")
	_, err = e.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{
		UserName: aws.String(p.Name), AccessKeyId: aws.String(a.Target), Status: types.StatusTypeInactive,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot deactivate access key %s of user %s: %w", a.Target, p.Name, err)
	}
	return image(keyImage{User: p.Name, AccessKeyID: a.Target, Status: string(types.StatusTypeInactive)}), nil
}

func (e *deactivateAccessKey) Rollback(ctx context.Context, rec iamprune.ActionRecord) (iamprune.RollbackOutcome, error) {
	var pre keyImage
	if err := readImage(rec, "pre-image", rec.PreImage, &pre); err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	if pre.User == "" || pre.AccessKeyID == "" || (pre.Status != string(types.StatusTypeActive) && pre.Status != string(types.StatusTypeInactive)) {
		return iamprune.RollbackOutcome{}, iamprune.Errorf(iamprune.EINVALID, "action %s/%s: pre-image lacks user, access_key_id or a valid status", rec.RunID, rec.ActionID)
	}
	k, err := findKey(ctx, e.iam, pre.User, pre.AccessKeyID)
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	if k == nil {
		return iamprune.RollbackOutcome{}, iamprune.Errorf(iamprune.ENOTFOUND,
			"access key %s of user %s was deleted since; it cannot be restored: %s", pre.AccessKeyID, pre.User, newKeyHint(pre.User))
	}
	if string(k.Status) == pre.Status {
		return iamprune.RollbackOutcome{AlreadyDone: true, Detail: fmt.Sprintf("access key %s is already %s", pre.AccessKeyID, pre.Status)}, nil
	}
	e.opts.logger().Debug("UpdateAccessKey", "user", pre.User, "key", pre.AccessKeyID, "status", pre.Status)
	_, err = e.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{
		UserName: aws.String(pre.User), AccessKeyId: aws.String(pre.AccessKeyID), Status: types.StatusType(pre.Status),
	})
	if err != nil {
		return iamprune.RollbackOutcome{}, fmt.Errorf("cannot set access key %s of user %s back to %s: %w", pre.AccessKeyID, pre.User, pre.Status, err)
	}
	return iamprune.RollbackOutcome{Detail: fmt.Sprintf("access key %s of user %s set back to %s", pre.AccessKeyID, pre.User, pre.Status)}, nil
}
