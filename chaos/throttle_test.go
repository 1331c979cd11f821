package chaos

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/iamprune/iamprune/emulator"
)

// Throttle storms: with 10%, 33% and 50% of requests throttled, plan and
// apply give what they give without throttling. The trials mostly wait
// out backoffs, so they run in parallel with each other and with the
// other scenarios.
func TestThrottleStorm(t *testing.T) {
	t.Parallel()
	ref := clean(t)
	r := rng("throttle")
	percents := []int{10, 33, 50}
	t.Run("storms", func(t *testing.T) {
		for _, percent := range percents {
			scenario := fmt.Sprintf("throttle %d%%", percent)
			for i := range trials(1) {
				s := r.Int64()
				t.Run(fmt.Sprintf("%d%%/trial%d", percent, i), func(t *testing.T) {
					t.Parallel()
					throttleTrial(t, scenario, ref, percent, s)
				})
			}
		}
	})
	for _, percent := range percents {
		checkBar(t, fmt.Sprintf("throttle %d%%", percent))
	}
}

func throttleTrial(t *testing.T, scenario string, ref reference, percent int, s int64) {
	a := newAccount(t, emulator.Options{})
	a.cfg = filepath.Join(root, "chaos", "testdata", "no-rate-limit.yaml")
	if err := a.srv.SetThrottlePercent(float64(percent), s); err != nil {
		t.Fatal(err)
	}
	var problems []string
	p := a.run("plan", "-o", "json")
	if p.code != 0 {
		problems = append(problems, "plan: "+p.String())
	} else if got, err := normalPlan([]byte(p.stdout)); err != nil || !bytes.Equal(got, ref.plan) {
		problems = append(problems, fmt.Sprintf("the plan differs from the plan made without throttling (%v):\n%s", err, tail(string(got), 30)))
	}
	a.srv.ResetCalls()
	if r := a.run("apply", "--yes", "-o", "json"); r.code != 0 {
		problems = append(problems, "apply: "+r.String())
	}
	after := a.dump()
	if d := sameState(ref.after, after); len(d) > 0 {
		problems = append(problems, fmt.Sprintf("after apply the account differs from the unthrottled apply in %v", d))
	}
	dups := writeDuplicates(a.srv)
	if len(dups) > 0 {
		problems = append(problems, fmt.Sprintf("writes made twice: %v", dups))
	}
	record(scenario, len(problems) == 0, len(a.srv.Writes()), len(dups), lost(ref, after))
	if len(problems) > 0 {
		t.Errorf("seed %d, throttle seed %d, %d throttled answers:\n%s", seed, s, len(a.srv.Throttled()), joinLines(problems))
	}
}
