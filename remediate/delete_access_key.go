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

// deleteAccessKey deletes a key that is already inactive: iamprune only
// deletes keys it deactivated earlier (the orchestrator checks its journal
// for that; this executor refuses any active key). A deleted key cannot be
// restored, so Rollback fails and says how to issue a new one.
type deleteAccessKey struct {
	iam  IAMAPI
	opts Options
}

var _ iamprune.Executor = (*deleteAccessKey)(nil)

func (*deleteAccessKey) Kind() iamprune.ActionKind { return iamprune.KindDeleteAccessKey }

func (e *deleteAccessKey) Inspect(ctx context.Context, a iamprune.Action) (iamprune.Inspection, error) {
	img, err := inspectKey(ctx, e.iam, a)
	if err != nil {
		return iamprune.Inspection{}, err
	}
	if img == nil {
		return iamprune.Inspection{AlreadyDone: true}, nil
	}
	in := iamprune.Inspection{PreImage: image(img), LastUsed: img.LastUsed}
	if img.Status != string(types.StatusTypeInactive) {
		in.Skip = fmt.Sprintf("access key %s is %s; iamprune deletes only keys it deactivated", a.Target, img.Status)
		return in, nil
	}
	in.Skip = keyUsedSince(a, img)
	return in, nil
}

func (e *deleteAccessKey) Apply(ctx context.Context, a iamprune.Action, pre iamprune.Inspection) (json.RawMessage, error) {
	p, err := principalOf(a, "user")
	if err != nil {
		return nil, err
	}
	e.opts.logger().Debug("DeleteAccessKey", "user", p.Name, "key", a.Target)
	_, err = e.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(p.Name), AccessKeyId: aws.String(a.Target)})
	if err != nil && !isNoSuchEntity(err) {
		return nil, fmt.Errorf("cannot delete access key %s of user %s: %w", a.Target, p.Name, err)
	}
	return image(keyImage{User: p.Name, AccessKeyID: a.Target, Status: "Deleted"}), nil
}

// Rollback cannot recreate a key: AWS issues a new id and secret. It only
// reports success when the key still exists (the delete never happened).
func (e *deleteAccessKey) Rollback(ctx context.Context, rec iamprune.ActionRecord) (iamprune.RollbackOutcome, error) {
	p, err := principalOf(actionOf(rec), "user")
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	k, err := findKey(ctx, e.iam, p.Name, rec.Target)
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	if k != nil {
		return iamprune.RollbackOutcome{AlreadyDone: true, Detail: fmt.Sprintf("access key %s still exists; nothing to restore", rec.Target)}, nil
	}
	return iamprune.RollbackOutcome{}, iamprune.Errorf(iamprune.ECONFLICT,
		"access key %s of user %s was deleted and cannot be restored (AWS never issues the same key twice): %s", rec.Target, p.Name, newKeyHint(p.Name))
}
