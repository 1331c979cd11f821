package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/iamprune/iamprune/emulator"
)

// Kill -9 apply at random points: the emulator holds the k-th write, the
// apply is killed while it waits, and the write either reaches the account
// (its answer is lost) or not. An apply started at once must finish the
// job, leaving the account as one uninterrupted apply does; rolling back
// every apply run must then restore the account.
//
// Each trial has its own emulator and state, so the trials run in
// parallel; the bar is checked once they are all done.
func TestKillApply(t *testing.T) {
	t.Parallel()
	const scenario = "kill -9 apply"
	t.Cleanup(func() { checkBar(t, scenario) })
	ref := clean(t)
	r := rng(scenario)
	for i := range trials(20) {
		k := 1 + r.IntN(len(ref.writes))
		served := r.IntN(2) == 0
		name := fmt.Sprintf("trial%02d/write%d", i, k)
		if served {
			name += "/received"
		} else {
			name += "/lost"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			killTrial(t, scenario, ref, k, served)
		})
	}
}

func killTrial(t *testing.T, scenario string, ref reference, k int, served bool) {
	a := newAccount(t, emulator.Options{})
	hold := a.srv.HoldWrite(k)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, out, errb := a.command(ctx, "apply", "--yes", "-o", "json")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var problems []string
	select {
	case <-hold.Reached():
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-exited
		hold.Release(served)
		<-hold.Done()
	case err := <-exited:
		hold.Release(true)
		problems = append(problems, fmt.Sprintf("apply ended (%v) before its write %d of %d:\n%s", err, k, len(ref.writes), tail(out.String()+errb.String(), 10)))
	case <-ctx.Done():
		hold.Release(true)
		t.Fatalf("write %d never came", k)
	}

	resume := a.run("apply", "--yes", "-o", "json")
	if resume.code != 0 {
		problems = append(problems, "resumed apply: "+resume.String())
	}
	after := a.dump()
	if d := sameState(ref.after, after); len(d) > 0 {
		problems = append(problems, fmt.Sprintf("after resume the account differs from one uninterrupted apply in %v", d))
	}
	lostActions := lost(ref, after)

	problems = append(problems, a.rollbackAll()...)
	if d, err := restored(ref.before, a.dump()); err != nil || len(d) > 0 {
		problems = append(problems, fmt.Sprintf("after rolling back every apply run these differ from before apply: %v %v", d, err))
	}
	dups := writeDuplicates(a.srv)
	if len(dups) > 0 {
		problems = append(problems, fmt.Sprintf("writes made twice: %v", dups))
	}
	record(scenario, len(problems) == 0, len(a.srv.Writes()), len(dups), lostActions)
	if len(problems) > 0 {
		t.Errorf("seed %d, kill at write %d (received by AWS: %v):\n%s", seed, k, served, joinLines(problems))
	}
}
