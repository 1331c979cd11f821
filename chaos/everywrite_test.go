package chaos

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/iamprune/iamprune/emulator"
)

// Every write of every kind failing once: each write call a clean apply
// makes is failed in turn with AccessDenied (which no client retries).
// The apply reports the failure; then either an apply completes the job,
// to the state of a clean apply, and rolling back both runs restores the
// account, or rolling back the failed run at once restores it. The
// trials run in parallel, each with its own emulator and state.
func TestEveryWriteFailingOnce(t *testing.T) {
	t.Parallel()
	const scenario = "each write failing once"
	t.Cleanup(func() { checkBar(t, scenario) })
	ref := clean(t)
	for i, w := range ref.writes {
		match := identify(ref.writes, i)
		for _, reapply := range []bool{true, false} {
			then := "rollback"
			if reapply {
				then = "reapply"
			}
			t.Run(fmt.Sprintf("%d-%s/%s", i+1, w.Operation, then), func(t *testing.T) {
				t.Parallel()
				failTrial(t, scenario, ref, w, match, reapply)
			})
		}
	}
}

// identifyKeys name the entity a write acts on, most specific first.
var identifyKeys = []string{"PolicyArn", "PolicyName", "AccessKeyId", "RoleName", "UserName", "GroupName"}

// identify returns a part of the parameters of writes[i] that no other
// write of the same operation has, and that holds no volatile value (a
// run id, a time), so that FailMatching hits the same write in another
// run. It falls back to all the parameters.
func identify(writes []emulator.Call, i int) string {
	w := writes[i]
	q, err := url.ParseQuery(w.Params)
	if err != nil {
		return w.Params
	}
	for _, k := range identifyKeys {
		vs, ok := q[k]
		if !ok || len(vs) != 1 {
			continue
		}
		part := url.Values{k: vs}.Encode()
		unique := true
		for j, o := range writes {
			if j != i && o.Operation == w.Operation && hasPart(o.Params, part) {
				unique = false
			}
		}
		if unique {
			return part
		}
	}
	return w.Params
}

func hasPart(params, part string) bool {
	return strings.Contains("&"+params+"&", "&"+part+"&")
}

func failTrial(t *testing.T, scenario string, ref reference, w emulator.Call, match string, reapply bool) {
	a := newAccount(t, emulator.Options{})
	a.srv.FailMatching(w.Operation, match, "AccessDenied", 1)
	var problems []string
	first := a.run("apply", "--yes", "-o", "json")
	if first.code != 1 {
		problems = append(problems, "the apply with a failed write did not exit 1: "+first.String())
	}
	if n := len(a.srv.Injected()); n != 1 {
		t.Fatalf("the injected failure of %s (%s) hit %d calls, want 1: the write was not made as in the clean apply", w.Operation, match, n)
	}
	lostActions := 0
	if reapply {
		if r := a.run("apply", "--yes", "-o", "json"); r.code != 0 {
			problems = append(problems, "re-apply: "+r.String())
		}
		after := a.dump()
		if d := sameState(ref.after, after); len(d) > 0 {
			problems = append(problems, fmt.Sprintf("after re-apply the account differs from a clean apply in %v", d))
		}
		lostActions = lost(ref, after)
	}
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
		t.Errorf("seed %d, %s failing once (matching %s):\n%s", seed, w.Operation, match, joinLines(problems))
	}
}
