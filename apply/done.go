package apply

import (
	"context"
	"fmt"
	"strings"

	"github.com/iamprune/iamprune"
)

// Made is what the journal says iamprune changed in an account and has not
// rolled back: what a new plan must show as done (decide.Input.Done and
// Deactivated).
type Made struct {
	// Actions maps action ids to the run that made the change.
	Actions map[string]iamprune.DoneRef
	// Deactivated maps the access keys iamprune deactivated to when: only
	// those may ever be deleted.
	Deactivated map[string]iamprune.DoneRef
}

// Changes reads Made for account from the journal. A rollback that did
// not complete leaves the change counted as made.
func Changes(ctx context.Context, st iamprune.Store, account string) (Made, error) {
	m := Made{Actions: map[string]iamprune.DoneRef{}, Deactivated: map[string]iamprune.DoneRef{}}
	recs, err := st.FindActions(ctx, iamprune.ActionFilter{Account: account})
	if err != nil {
		return m, fmt.Errorf("apply: cannot read the journal of account %s: %w", account, err)
	}
	// Oldest first: a later change or rollback overrides an earlier one.
	for _, rec := range recs {
		switch {
		case rec.RollbackOf == "" && rec.Status == iamprune.ResultDone:
			ref := iamprune.DoneRef{RunID: rec.RunID, At: rec.StartedAt}
			if rec.FinishedAt != nil {
				ref.At = *rec.FinishedAt
			}
			m.Actions[rec.ActionID] = ref
			if rec.Kind == iamprune.KindDeactivateAccessKey {
				m.Deactivated[rec.Target] = ref
			}
		case rec.RollbackOf != "" && (rec.Status == iamprune.ResultDone || rec.Status == iamprune.ResultAlreadyDone):
			run, _, _ := strings.Cut(rec.RollbackOf, "/")
			if m.Actions[rec.ActionID].RunID == run {
				delete(m.Actions, rec.ActionID)
			}
			if rec.Kind == iamprune.KindDeactivateAccessKey && m.Deactivated[rec.Target].RunID == run {
				delete(m.Deactivated, rec.Target)
			}
		}
	}
	return m, nil
}
