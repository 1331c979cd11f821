package notify

import (
	"fmt"

	"github.com/iamprune/iamprune"
)

// SweepDigest returns the organisation digest of a fanned-out sweep, sent
// once by the consumer whose message completed it: every change the
// sweep's runs made, across all accounts, each with the command that
// undoes it, and a line per message that needed more than one attempt, to
// the default route. recs are the journals of the parts' runs. nil when
// the config has no default route, or there is nothing to tell.
func SweepDigest(sw iamprune.Sweep, parts []iamprune.SweepPart, recs []iamprune.ActionRecord, home string, n iamprune.Notifications) *Delivery {
	if len(n.Default) == 0 {
		return nil
	}
	b := newBuilder(nil, n, -1)
	b.d.Digest.Account = home
	if sw.FinishedAt != nil {
		b.d.Digest.GeneratedAt = sw.FinishedAt.UTC()
	}
	for _, r := range recs {
		if r.Status != iamprune.ResultDone || r.RollbackOf != "" {
			continue
		}
		a := iamprune.Action{ID: r.ActionID, Account: r.Account, Principal: r.Principal, FindingType: r.FindingType,
			Kind: r.Kind, Target: r.Target, Services: r.Services, Reason: "swept by " + sw.ID}
		b.add(Pending{Action: a, Keys: iamprune.ItemKeys(a), Notice: NoticeDone, Fingerprint: Fingerprint(a), DoneRunID: r.RunID}, "")
	}
	for _, p := range parts {
		if p.Attempts > 1 || p.Failures > 0 {
			b.d.Digest.Errors = append(b.d.Digest.Errors, fmt.Sprintf("sweep %s: account %s page %d: %d attempt(s), %d failed action(s) (run %s)", sw.ID, p.Account, p.Page, p.Attempts, p.Failures, p.RunID))
		}
	}
	d := b.delivery()
	d.Digest.Owner = ""
	if len(d.Digest.Principals) == 0 && len(d.Digest.Errors) == 0 {
		return nil // nothing changed, nothing went wrong: nothing to say
	}
	return &d
}
