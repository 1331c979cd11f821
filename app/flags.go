package app

import (
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// ParseNow reads a --now value: RFC 3339, or a bare date meaning midnight
// UTC; "" is fallback's time. Anything else is EINVALID.
func ParseNow(s string, fallback func() time.Time) (time.Time, error) {
	if s == "" {
		return fallback().UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, iamprune.Errorf(iamprune.EINVALID, "--now: %q is not an RFC 3339 time (e.g. 2026-11-28T00:00:00Z) or a date (2026-11-28)", s)
}

// ParseWithin reads --within: a whole number of days ("30d") or a Go
// duration ("720h"); anything else is bad usage.
func ParseWithin(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 {
			return time.Duration(d) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	return 0, iamprune.Errorf(iamprune.EINVALID, "--within: %q is not a number of days (30d) or a duration (720h)", s)
}
