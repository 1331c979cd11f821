package app

import "github.com/iamprune/iamprune"

// Undoable reports whether an apply run changed anything to roll back: a
// change done, or a policy rewrite that failed part-way.
func (r *ApplyResult) Undoable() bool {
	for _, a := range r.Run.Results {
		if a.Status == iamprune.ResultDone || (a.Status == iamprune.ResultFailed && a.Kind == iamprune.KindRewritePolicy) {
			return true
		}
	}
	return false
}

// Held reports whether the rollback undid anything and held it.
func (r *RollbackResult) Held() bool {
	if r.HoldDays <= 0 {
		return false
	}
	for _, a := range r.Run.Results {
		if a.Status == iamprune.ResultDone {
			return true
		}
	}
	return false
}
