package app

import (
	"testing"

	"github.com/iamprune/iamprune"
)

func TestUndoableAndHeld(t *testing.T) {
	run := func(rs ...iamprune.ActionResult) *iamprune.RunResult { return &iamprune.RunResult{Results: rs} }
	done := iamprune.ActionResult{Kind: iamprune.KindQuarantineRole, Status: iamprune.ResultDone}
	already := iamprune.ActionResult{Kind: iamprune.KindQuarantineRole, Status: iamprune.ResultAlreadyDone}
	failedRewrite := iamprune.ActionResult{Kind: iamprune.KindRewritePolicy, Status: iamprune.ResultFailed}
	failedKey := iamprune.ActionResult{Kind: iamprune.KindDeactivateAccessKey, Status: iamprune.ResultFailed}
	for _, c := range []struct {
		run  *iamprune.RunResult
		want bool
	}{{run(), false}, {run(already, failedKey), false}, {run(already, done), true}, {run(failedRewrite), true}} {
		if got := (&ApplyResult{Run: c.run}).Undoable(); got != c.want {
			t.Errorf("Undoable(%+v) = %v", c.run.Results, got)
		}
	}
	if (&RollbackResult{Run: run(done), HoldDays: 0}).Held() || (&RollbackResult{Run: run(already), HoldDays: 30}).Held() ||
		!(&RollbackResult{Run: run(already, done), HoldDays: 30}).Held() {
		t.Error("Held: wrong")
	}
}
