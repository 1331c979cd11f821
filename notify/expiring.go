package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/iamprune/iamprune"
)

// NoticeExpiring is the notice reason of an exception about to expire.
const NoticeExpiring = "exception expiring"

// Expiring returns the notices telling owners that an exception covering
// their principal expires within `within`: after that day the principal is
// handled like any other, so the owner must ask for a renewal in time. Each
// (exception, principal, expiry date) is noticed once: a renewed exception
// has a new date and is noticed again when it nears. log is the account's
// notice log.
func Expiring(excs []iamprune.Exception, facts *iamprune.Facts, log []iamprune.NoticeRecord, now time.Time, within time.Duration) []Pending {
	sent := map[string]bool{}
	for _, r := range log {
		if r.Status == iamprune.NoticeSent {
			sent[r.ItemKey+"#"+r.Fingerprint] = true
		}
	}
	var arns []string
	if facts != nil {
		for arn := range facts.Principals {
			arns = append(arns, arn)
		}
	}
	slices.Sort(arns)
	var out []Pending
	for _, e := range excs {
		if e.Expires.IsZero() || e.Expired(now) || e.Expires.After(now.Add(within)) {
			continue
		}
		expires := e.Expires.UTC().Format(time.DateOnly)
		for _, arn := range arns {
			if !iamprune.MatchGlob(e.Principal, arn) {
				continue
			}
			key := "exception|" + e.Principal + "|" + arn
			fp := "expires|" + expires
			if sent[key+"#"+fp] {
				continue
			}
			p := facts.Principal(arn)
			ft := iamprune.FindingType("")
			if len(e.FindingTypes) > 0 {
				ft = e.FindingTypes[0]
			}
			sum := sha256.Sum256([]byte(key + "|" + expires))
			loc := e.File
			if e.Line > 0 {
				loc = fmt.Sprintf("%s:%d", e.File, e.Line)
			}
			a := iamprune.Action{
				ID: hex.EncodeToString(sum[:])[:16], Principal: arn, FindingType: ft, Kind: iamprune.KindExempt,
				Target: p.Name, Services: slices.Clone(e.Services), RemediateOn: expires, Exception: e.Principal,
				ExceptionExpires: expires,
				Reason: fmt.Sprintf("the exception %s (%s; reason %q) expires on %s; after that day iamprune handles this principal's unused access like any other. Ask for a renewal with a pull request in time.",
					e.Principal, loc, e.Reason, expires),
			}
			if a.Services == nil {
				a.Services = []string{}
			}
			out = append(out, Pending{Action: a, Keys: []string{key}, Notice: NoticeExpiring, Fingerprint: fp, At: now})
		}
	}
	return out
}
