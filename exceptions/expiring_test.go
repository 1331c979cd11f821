package exceptions

import (
	"reflect"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func TestExpiring(t *testing.T) {
	excs := []iamprune.Exception{
		{Principal: "never", File: "a.txt", Line: 1},
		{Principal: "dec-28", Expires: date("2026-12-28T00:00:00Z"), File: "b.yaml", Line: 2},
		{Principal: "today", Expires: date("2026-11-28T00:00:00Z"), File: "b.yaml", Line: 6},
		{Principal: "dec-29", Expires: date("2026-12-29T00:00:00Z"), File: "b.yaml", Line: 10},
		{Principal: "expired", Expires: date("2026-11-01T00:00:00Z"), File: "b.yaml", Line: 14},
		{Principal: "dec-01-b", Expires: date("2026-12-01T00:00:00Z"), File: "b.yaml", Line: 18},
		{Principal: "dec-01-a", Expires: date("2026-12-01T15:00:00Z"), File: "a.yaml", Line: 3},
	}
	const day = 24 * time.Hour
	tests := []struct {
		name   string
		now    string
		within time.Duration
		want   []string
		left   []int
	}{
		// 30 days from today includes an expiry 30 days out, not 31.
		{"30 days", "2026-11-28T09:00:00Z", 30 * day,
			[]string{"expired", "today", "dec-01-a", "dec-01-b", "dec-28"}, []int{-27, 0, 3, 3, 30}},
		{"zero window", "2026-11-28T23:00:00Z", 0, []string{"expired", "today"}, []int{-27, 0}},
		{"day after", "2026-11-29T00:00:00Z", 0, []string{"expired", "today"}, []int{-28, -1}},
		{"a year", "2026-11-28T00:00:00Z", 365 * day,
			[]string{"expired", "today", "dec-01-a", "dec-01-b", "dec-28", "dec-29"}, []int{-27, 0, 3, 3, 30, 31}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := date(tt.now)
			var got []string
			var left []int
			for _, e := range Expiring(excs, now, tt.within) {
				got = append(got, e.Principal)
				left = append(left, DaysLeft(e, now))
			}
			if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(left, tt.left) {
				t.Errorf("got %v %v, want %v %v", got, left, tt.want, tt.left)
			}
		})
	}
}
