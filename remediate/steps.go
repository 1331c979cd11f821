package remediate

import (
	"context"
	"fmt"
	"slices"

	"github.com/iamprune/iamprune"
)

// stepper journals the writes of one Apply as iamprune.Steps: each write is
// recorded pending (with the pre-image of its target) before the call and
// done (with what it made) after it, so that a failure or a crash between
// two writes leaves a record of exactly which were made.
type stepper struct {
	ctx  context.Context
	opts Options
	seq  int
}

func newStepper(ctx context.Context, opts Options) *stepper {
	return &stepper{ctx: ctx, opts: opts}
}

// do journals and makes one write. pre is the target's state before (nil
// when it does not exist); write returns what it made (nil for nothing to
// record). A journal that cannot be written stops before the write.
func (s *stepper) do(op, target string, pre any, write func() (post any, err error)) error {
	s.seq++
	st := iamprune.Step{Seq: s.seq, Op: op, Target: target, Status: iamprune.StepPending, At: s.opts.now().UTC()}
	if pre != nil {
		st.Pre = image(pre)
	}
	if err := iamprune.JournalStep(s.ctx, st); err != nil {
		return fmt.Errorf("cannot journal step %d (%s %s), nothing more written: %w", st.Seq, op, target, err)
	}
	post, err := write()
	if err != nil {
		return err
	}
	st.Status, st.At = iamprune.StepDone, s.opts.now().UTC()
	if post != nil {
		st.Post = image(post)
	}
	if err := iamprune.JournalStep(s.ctx, st); err != nil {
		return fmt.Errorf("%s %s was made but cannot be journaled: %w", op, target, err)
	}
	return nil
}

// stepsOf returns the steps of rec that may have been made (done, or
// pending: the write was attempted and its outcome is unknown), with op
// among ops (all when none given).
func stepsOf(rec iamprune.ActionRecord, ops ...string) []iamprune.Step {
	var out []iamprune.Step
	for _, s := range rec.Steps {
		if len(ops) > 0 && !slices.Contains(ops, s.Op) {
			continue
		}
		out = append(out, s)
	}
	return out
}
