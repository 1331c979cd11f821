package policy

import (
	"math/rand"
	"testing"

	"github.com/iamprune/iamprune/catalog"
)

func TestMatchesAction(t *testing.T) {
	tests := []struct {
		stmt   Statement
		action string
		want   bool
	}{
		{Statement{Action: One("s3:GetObject")}, "s3:GetObject", true},
		{Statement{Action: One("S3:getobject")}, "s3:GetObject", true}, // IAM ignores case
		{Statement{Action: One("s3:Get*")}, "s3:GetObjectAcl", true},
		{Statement{Action: One("s3:Get*")}, "s3:PutObject", false},
		{Statement{Action: One("s3:Get?bject")}, "s3:GetObject", true},
		{Statement{Action: One("s3:Get?bject")}, "s3:GetObjects", false},
		{Statement{Action: One("*")}, "iam:CreateUser", true},
		{Statement{Action: One("*:List*")}, "iam:ListUsers", true},
		{Statement{Action: List("sqs:*", "sns:Publish")}, "sns:Publish", true},
		{Statement{NotAction: One("iam:*")}, "iam:CreateUser", false},
		{Statement{NotAction: One("iam:*")}, "s3:GetObject", true},
		{Statement{NotAction: List()}, "s3:GetObject", true},
		{Statement{Action: List()}, "s3:GetObject", false},
		{Statement{Action: One("s3:Gét*")}, "s3:GÉtObject", true}, // non-ASCII goes to catalog.Matches
	}
	for _, tt := range tests {
		if got := tt.stmt.MatchesAction(tt.action); got != tt.want {
			t.Errorf("%+v.MatchesAction(%s) = %v, want %v", tt.stmt, tt.action, got, tt.want)
		}
	}
}

func TestGlobLanguages(t *testing.T) {
	tests := []struct {
		pattern, prefix string
		covers, meets   bool
	}{
		{"*", "sqs:Get", true, true},
		{"sqs:*", "sqs:Get", true, true},
		{"sqs:Get*", "sqs:Get", true, true},
		{"SQS:get*", "sqs:GetQueue", true, true},
		{"sqs:GetQueue*", "sqs:Get", false, true},
		{"sqs:Get", "sqs:Get", false, true}, // only the exact string
		{"sqs:G?t*", "sqs:Get", true, true},
		{"sqs:Get?*", "sqs:Get", false, true}, // misses "sqs:Get" itself
		{"sqs:*Queue", "sqs:Get", false, true},
		{"*:Get*", "sqs:Get", true, true},
		{"sqs:*e*", "sqs:Get", true, true}, // the "e" of Get satisfies it
		{"sqs:*x*", "sqs:Get", false, true},
		{"sns:*", "sqs:Get", false, false},
		{"sqs:Put*", "sqs:Get", false, false},
		{"*?", "", false, true},
		{"**", "", true, true},
	}
	for _, tt := range tests {
		if got := coversPrefix(tt.pattern, tt.prefix); got != tt.covers {
			t.Errorf("coversPrefix(%q, %q) = %v, want %v", tt.pattern, tt.prefix, got, tt.covers)
		}
		if got := meetsPrefix(tt.pattern, tt.prefix); got != tt.meets {
			t.Errorf("meetsPrefix(%q, %q) = %v, want %v", tt.pattern, tt.prefix, got, tt.meets)
		}
	}
}

// The language checks must agree with brute force over short suffixes.
func TestGlobLanguagesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	alphabet := []rune("ab*?")
	letters := []string{"a", "b", "c"}
	word := func(al []rune, n int) string {
		r := make([]rune, rng.Intn(n))
		for i := range r {
			r[i] = al[rng.Intn(len(al))]
		}
		return string(r)
	}
	var suffixes []string
	var grow func(s string, n int)
	grow = func(s string, n int) {
		suffixes = append(suffixes, s)
		if n == 0 {
			return
		}
		for _, l := range letters {
			grow(s+l, n-1)
		}
	}
	grow("", 5)
	for range 3000 {
		p, prefix := word(alphabet, 6), word([]rune("ab"), 4)
		all, some := true, false
		for _, s := range suffixes {
			m := catalog.Matches(p, prefix+s)
			all = all && m
			some = some || m
		}
		// Patterns of at most 5 non-star characters are decided by
		// suffixes of at most 5 letters.
		if got := coversPrefix(p, prefix); got != all {
			t.Fatalf("coversPrefix(%q, %q) = %v, brute force %v", p, prefix, got, all)
		}
		if got := meetsPrefix(p, prefix); got != some {
			t.Fatalf("meetsPrefix(%q, %q) = %v, brute force %v", p, prefix, got, some)
		}
	}
}
