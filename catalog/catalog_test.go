package catalog

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestServicesSortedUnique(t *testing.T) {
	s := Services()
	if !slices.IsSorted(s) {
		t.Error("services are not sorted")
	}
	if len(slices.Compact(slices.Clone(s))) != len(s) {
		t.Error("services are not unique")
	}
	for _, want := range []string{"s3", "iam", "ec2", "sts", "access-analyzer"} {
		if _, ok := slices.BinarySearch(s, want); !ok {
			t.Errorf("service %q missing", want)
		}
	}
	s[0] = "mutated"
	if Services()[0] == "mutated" {
		t.Error("Services returns shared state")
	}
}

func TestIsService(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"s3", true},
		{"S3", true},
		{"IAM", true},
		{"Access-Analyzer", true},
		{"", false},
		{"nosuchservice", false},
		{"s3:", false},
		{"s3*", false},
	}
	for _, tt := range tests {
		if got := IsService(tt.in); got != tt.want {
			t.Errorf("IsService(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		in   string
		want Action
		ok   bool
	}{
		{"s3:GetObject", Action{"s3", "GetObject", Read}, true},
		{"S3:getobject", Action{"s3", "GetObject", Read}, true},
		{"s3:ListBucket", Action{"s3", "ListBucket", List}, true},
		{"s3:PutObject", Action{"s3", "PutObject", Write}, true},
		{"s3:PutBucketPolicy", Action{"s3", "PutBucketPolicy", PermissionsManagement}, true},
		{"s3:PutObjectTagging", Action{"s3", "PutObjectTagging", Tagging}, true},
		{"iam:PassRole", Action{"iam", "PassRole", Write}, true},
		{"iam:PutRolePolicy", Action{"iam", "PutRolePolicy", PermissionsManagement}, true},
		{"iam:TagRole", Action{"iam", "TagRole", Tagging}, true},
		{"ec2:DescribeInstances", Action{"ec2", "DescribeInstances", List}, true},
		{"sts:AssumeRole", Action{"sts", "AssumeRole", Write}, true},
		{"s3:NoSuchAction", Action{}, false},
		{"nosuch:GetObject", Action{}, false},
		{"s3:Get*", Action{}, false},
		{"s3:GetObjec?", Action{}, false},
		{"GetObject", Action{}, false},
		{"s3:", Action{}, false},
		{"", Action{}, false},
	}
	for _, tt := range tests {
		got, ok := Lookup(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestActions(t *testing.T) {
	s3 := Actions("S3")
	if len(s3) < 50 {
		t.Fatalf("only %d s3 actions", len(s3))
	}
	if !slices.IsSortedFunc(s3, compareActions) {
		t.Error("s3 actions are not sorted")
	}
	for _, a := range s3 {
		if a.Service != "s3" || !a.AccessLevel.Valid() {
			t.Errorf("bad s3 action %+v", a)
		}
	}
	if !slices.Contains(s3, Action{"s3", "GetObject", Read}) {
		t.Error("s3:GetObject missing")
	}
	if got := Actions("nosuch"); got != nil {
		t.Errorf("Actions(nosuch) = %v", got)
	}
	s3[0].Name = "mutated"
	if Actions("s3")[0].Name == "mutated" {
		t.Error("Actions returns shared state")
	}
}

// oracle is an independent reference for IAM wildcard matching.
func oracle(pattern string) *regexp.Regexp {
	q := regexp.QuoteMeta(strings.ToLower(pattern))
	q = strings.ReplaceAll(q, `\*`, ".*")
	q = strings.ReplaceAll(q, `\?`, ".")
	return regexp.MustCompile("(?s)^" + q + "$")
}

func names(as []Action) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

func TestMatch(t *testing.T) {
	all := Match("*")
	tests := []struct {
		pattern string
		exact   []string // the whole result, when small
		has     []string // some members, when large
		not     []string // non-members
		count   int      // the result size, when known (0: not checked)
		none    bool     // the result must be nil
	}{
		{pattern: "s3:GetObject", exact: []string{"s3:GetObject"}},
		{pattern: "S3:GETOBJECT", exact: []string{"s3:GetObject"}},
		{pattern: "s3:GetObjec?", exact: []string{"s3:GetObject"}},
		{pattern: "s?:GetObject", exact: []string{"s3:GetObject"}},
		{pattern: "iam:passrole", exact: []string{"iam:PassRole"}},
		{pattern: "s3:Get*", has: []string{"s3:GetObject", "s3:GetObjectAcl", "s3:GetBucketPolicy"}, not: []string{"s3:PutObject", "s3:ListBucket"}},
		{pattern: "s3:get*acl", has: []string{"s3:GetObjectAcl", "s3:GetBucketAcl"}, not: []string{"s3:GetObject"}},
		{pattern: "iam:*", count: len(Actions("iam")), has: []string{"iam:PassRole"}, not: []string{"s3:GetObject"}},
		{pattern: "*:GetObject", has: []string{"s3:GetObject"}, not: []string{"s3:GetObjectAcl"}},
		{pattern: "s3*:*", has: []string{"s3:GetObject", "s3express:CreateSession"}, not: []string{"iam:PassRole"}},
		{pattern: "*", count: len(all), has: []string{"s3:GetObject", "iam:PassRole"}},
		{pattern: "*:*", count: len(all)},
		{pattern: "s3:NoSuch*", none: true},
		{pattern: "nosuch:*", none: true},
		{pattern: "s3", none: true},
		{pattern: "s3:", none: true},
		{pattern: "", none: true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			got := Match(tt.pattern)
			gotNames := names(got)
			if tt.exact != nil && !slices.Equal(gotNames, tt.exact) {
				t.Errorf("got %v, want %v", gotNames, tt.exact)
			}
			for _, h := range tt.has {
				if !slices.Contains(gotNames, h) {
					t.Errorf("missing %s", h)
				}
			}
			for _, n := range tt.not {
				if slices.Contains(gotNames, n) {
					t.Errorf("unexpected %s", n)
				}
			}
			if tt.none && got != nil {
				t.Errorf("got %d actions, want nil", len(got))
			}
			if tt.count > 0 && len(got) != tt.count {
				t.Errorf("got %d actions, want %d", len(got), tt.count)
			}
			// Sound and complete against the oracle over the whole catalogue.
			re := oracle(tt.pattern)
			var want []string
			for _, a := range all {
				if re.MatchString(strings.ToLower(a.String())) {
					want = append(want, a.String())
				}
			}
			if !slices.Equal(gotNames, want) {
				t.Errorf("Match disagrees with the oracle: %d vs %d actions", len(gotNames), len(want))
			}
		})
	}
	if n := len(names(all)); n < 10000 {
		t.Errorf("Match(*) gave only %d actions", n)
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"s3:GetObject", "s3:GetObject", true},
		{"s3:getobject", "S3:GETOBJECT", true},
		{"s3:Get*", "s3:GetObject", true},
		{"s3:Get*", "s3:Get", true},
		{"s3:Get*", "s3:PutObject", false},
		{"s3:Get?bject", "s3:GetObject", true},
		{"s3:Get?", "s3:GetObject", false},
		{"?", "", false},
		{"*", "", true},
		{"*", "anything:AtAll", true},
		{"s3:*Object*", "s3:GetObjectAcl", true},
		{"*a*b", "aaab", true},
		{"*a*b", "aaba", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"s3:**", "s3:", true},
		{"s3:GetObject", "s3:GetObjectAcl", false},
		{"s3:GetObjectAcl", "s3:GetObject", false},
		{"", "s3:GetObject", false},
		{"ÄB:*", "äb:x", true},
		{"*??:*", "*0:", true}, // a "*" in the action is not a wildcard
		{"s3:*", "s3:*", true},
		{"s3:?", "s3:*", true},
		{"s3:Get", "s3:*", false},
	}
	for _, tt := range tests {
		if got := Matches(tt.pattern, tt.action); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

func FuzzMatches(f *testing.F) {
	f.Add("s3:Get*", "s3:GetObject")
	f.Add("*a*?b", "xaayb")
	f.Add("??:*", "s3:")
	f.Fuzz(func(t *testing.T, pattern, action string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(action) {
			t.Skip()
		}
		want := oracle(pattern).MatchString(strings.ToLower(action))
		if got := Matches(pattern, action); got != want {
			t.Errorf("Matches(%q, %q) = %v, oracle %v", pattern, action, got, want)
		}
	})
}

// The lazy load must be safe to trigger from many goroutines at once; run
// with -race. Earlier tests already loaded the data, so start afresh.
func TestConcurrentFirstUse(t *testing.T) {
	loadOnce, loaded = sync.Once{}, nil
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, ok := Lookup("s3:GetObject"); !ok {
				t.Error("s3:GetObject not found")
			}
		})
	}
	wg.Wait()
}
