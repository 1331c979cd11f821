package iamprune_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func mustDate(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestMatchExceptions(t *testing.T) {
	const alice = "arn:aws:iam::111122223333:user/alice"
	excs := []iamprune.Exception{
		{Principal: "arn:aws:iam::111122223333:user/*", Line: 1},
		{Principal: alice, FindingTypes: []iamprune.FindingType{iamprune.UnusedIAMUserPassword}, Line: 2},
		{Principal: alice, Expires: mustDate("2026-11-27T00:00:00Z"), Line: 3},
		{Principal: alice, Expires: mustDate("2026-11-28T00:00:00Z"), Line: 4},
		{Principal: "arn:aws:iam::111122223333:role/*", Line: 5},
		{Principal: alice, Services: []string{"s3"}, Line: 6},
	}
	lines := func(es []iamprune.Exception) []int {
		var out []int
		for _, e := range es {
			out = append(out, e.Line)
		}
		return out
	}
	tests := []struct {
		name      string
		principal string
		typ       iamprune.FindingType
		now       string
		want      []int
	}{
		// Line 3 expired the day before; line 4 expires today and still applies.
		{"expiry day applies", alice, iamprune.UnusedIAMUserAccessKey, "2026-11-28T23:59:59Z", []int{1, 4, 6}},
		{"finding type limit", alice, iamprune.UnusedIAMUserPassword, "2026-11-28T12:00:00Z", []int{1, 2, 4, 6}},
		{"day after expiry", alice, iamprune.UnusedIAMUserAccessKey, "2026-11-29T00:00:00Z", []int{1, 6}},
		{"glob", "arn:aws:iam::111122223333:role/app", iamprune.UnusedIAMRole, "2026-11-28T00:00:00Z", []int{5}},
		{"nothing", "arn:aws:iam::444455556666:user/alice", iamprune.UnusedIAMRole, "2026-11-28T00:00:00Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lines(iamprune.MatchExceptions(excs, tt.principal, tt.typ, mustDate(tt.now)))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MatchExceptions lines = %v, want %v", got, tt.want)
			}
		})
	}
}
