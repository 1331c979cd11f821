package iamprune

import (
	"context"
	"fmt"
	"strings"
)

// Made is what the journal says iamprune changed in an account and has not
// rolled back: what a new plan must show as done (decide.Input.Done and
// Deactivated) and what apply may delete.
type Made struct {
	// Actions maps action ids to the run that made the change.
	Actions map[string]DoneRef
	// Deactivated maps the access keys iamprune deactivated to when: only
	// those may ever be deleted.
	Deactivated map[string]DoneRef
}

// Changes reads Made for account from the journal. A rollback that did
// not complete leaves the change counted as made.
func Changes(ctx context.Context, st Store, account string) (Made, error) {
	m := Made{Actions: map[string]DoneRef{}, Deactivated: map[string]DoneRef{}}
	recs, err := st.FindActions(ctx, ActionFilter{Account: account})
	if err != nil {
		return m, fmt.Errorf("iamprune: cannot read the journal of account %s: %w", account, err)
	}
	// Oldest first: a later change or rollback overrides an earlier one.
	for _, rec := range recs {
		switch {
		case rec.RollbackOf == "" && rec.Status == ResultDone:
			ref := DoneRef{RunID: rec.RunID, At: rec.StartedAt}
			if rec.FinishedAt != nil {
				ref.At = *rec.FinishedAt
			}
			m.Actions[rec.ActionID] = ref
			if rec.Kind == KindDeactivateAccessKey {
				m.Deactivated[rec.Target] = ref
			}
		case rec.RollbackOf != "" && (rec.Status == ResultDone || rec.Status == ResultAlreadyDone):
			run, _, _ := strings.Cut(rec.RollbackOf, "/")
			if m.Actions[rec.ActionID].RunID == run {
				delete(m.Actions, rec.ActionID)
			}
			if rec.Kind == KindDeactivateAccessKey && m.Deactivated[rec.Target].RunID == run {
				delete(m.Deactivated, rec.Target)
			}
		}
	}
	return m, nil
}
