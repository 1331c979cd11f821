package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
)

// ReleaseHold ends a hold early, so that the next plan may remediate the
// item again, and audits it. It returns the hold, and whether it had
// been released already (then nothing is changed). An unknown id is an
// EINVALID error.
func ReleaseHold(ctx context.Context, env Env, store iamprune.Store, id, by string, auditW io.Writer) (*iamprune.Hold, bool, error) {
	h, err := store.Hold(ctx, id)
	if iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
		return nil, false, iamprune.Errorf(iamprune.EINVALID, "no hold %s (see 'iamprune holds')", id)
	}
	if err != nil {
		return nil, false, err
	}
	if h.ReleasedAt != nil {
		return h, true, nil
	}
	if err := store.ReleaseHold(ctx, h.ID, by, env.now().UTC()); err != nil {
		return nil, false, err
	}
	detail := fmt.Sprintf("hold %s released by %s (it held until %s)", h.ID, by, h.Until.UTC().Format(time.DateOnly))
	audit.New(auditW, env.Now).Log(audit.Event{Event: audit.HoldReleased, RunID: h.RollbackRunID, Account: h.Account, Principal: h.Principal,
		FindingType: string(h.FindingType), Kind: string(h.Kind), Target: h.Target, Services: h.Services, Detail: detail})
	return h, false, nil
}

// HoldReleasedMessage says what 'holds release' did.
func HoldReleasedMessage(h *iamprune.Hold, already bool) string {
	if already {
		return fmt.Sprintf("Hold %s was already released by %s on %s.", h.ID, h.ReleasedBy, h.ReleasedAt.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("Released hold %s on %s %s: the next plan may remediate it again.", h.ID, h.Principal, h.Target)
}

// ListHolds lists the holds of account ("" for all) and closes the store;
// a nil store (none yet) has none.
func ListHolds(ctx context.Context, store iamprune.Store, account string) ([]iamprune.Hold, error) {
	if store == nil {
		return nil, nil
	}
	defer store.Close()
	return store.Holds(ctx, account)
}
