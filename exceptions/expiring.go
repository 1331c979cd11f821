package exceptions

import (
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// DaysLeft is the number of whole days from now's UTC day to e's expiry
// day: 0 on the last day the exception applies, negative once it expired.
// It is meaningless for an entry that never expires.
func DaysLeft(e iamprune.Exception, now time.Time) int {
	// Unix days, not a Duration, which overflows past 292 years
	// (9999-12-31 would count as 106751 days).
	return int(unixDay(e.Expires) - unixDay(now))
}

// unixDay is the number of the UTC day of t since 1970-01-01.
func unixDay(t time.Time) int64 {
	return day(t).Unix() / 86400
}

// Expiring returns the entries that expire soon or already did: every entry
// with an expiry whose last day starts no later than now+within (so
// within=30 days at any time today lists what has 30 days left or fewer),
// expired entries included (e.Expired(now) tells them apart). They come
// sorted by expiry, then file and line. Entries that never expire are left
// out.
func Expiring(excs []iamprune.Exception, now time.Time, within time.Duration) []iamprune.Exception {
	until := now.Add(within)
	var out []iamprune.Exception
	for _, e := range excs {
		if !e.Expires.IsZero() && !day(e.Expires).After(until) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b iamprune.Exception) int {
		if c := day(a.Expires).Compare(day(b.Expires)); c != 0 {
			return c
		}
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return out
}
