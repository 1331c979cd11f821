package exceptions

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// notAService is the KnownService of these tests: everything but one name.
func notAService(ns string) bool { return ns != "notaservice" }

// TestCheckFiles runs the whole gate on testdata/check/<case>/ and asserts
// every problem with its exact line. $D stands for the case's folder.
func TestCheckFiles(t *testing.T) {
	now := date("2026-11-28T10:00:00Z")
	tests := []struct {
		dir     string
		files   []string
		entries int
		want    []string
	}{
		{"good", []string{"exceptions.yaml", "allowlist.txt"}, 8, nil},
		{"missing-fields", []string{"exceptions.yaml"}, 4, []string{
			"$D/exceptions.yaml:2: exceptions[0].reason: required: say why the access must stay",
			"$D/exceptions.yaml:5: exceptions[1].owner: required: the team or person who answers for this exception",
			"$D/exceptions.yaml:8: exceptions[2].expires: required: the last day (YYYY-MM-DD) the exception applies, at most 365 days ahead",
			// Given but blank or null: the problem points at the key's line.
			"$D/exceptions.yaml:12: exceptions[3].reason: required: say why the access must stay",
			"$D/exceptions.yaml:13: exceptions[3].owner: required: the team or person who answers for this exception",
			"$D/exceptions.yaml:14: exceptions[3].expires: required: the last day (YYYY-MM-DD) the exception applies, at most 365 days ahead",
		}},
		// Yesterday is refused, today and exactly 365 days ahead pass, 366
		// is refused; an RFC 3339 expiry counts by its UTC day (today).
		{"expiry", []string{"exceptions.yaml"}, 5, []string{
			"$D/exceptions.yaml:5: exceptions[0].expires: 2026-11-27 is in the past (today is 2026-11-28): extend it or remove the entry",
			"$D/exceptions.yaml:17: exceptions[3].expires: 2027-11-29 is 366 days ahead, more than exceptions.max_days (365)",
		}},
		{"broad", []string{"exceptions.yaml"}, 6, []string{
			`$D/exceptions.yaml:2: exceptions[0].principal: "arn:aws:iam::111122223333:role/*" is too broad: the name after role/ needs at least 3 literal characters (not * or ?), it has 0`,
			`$D/exceptions.yaml:6: exceptions[1].principal: "arn:aws:iam::*:role/*" is too broad: the name after role/ needs at least 3 literal characters (not * or ?), it has 0`,
			`$D/exceptions.yaml:10: exceptions[2].principal: "arn:aws:iam::*:user/ab*" is too broad: the name after user/ needs at least 3 literal characters (not * or ?), it has 2`,
			`$D/exceptions.yaml:14: exceptions[3].principal: account "11112222333?" must be exactly 12 digits, or exactly * for every account`,
			`$D/exceptions.yaml:18: exceptions[4].principal: partition "aw?" must be a partition name such as aws, or exactly *`,
			// These two never parse as user or role ARNs; the parser says why.
			`$D/exceptions.yaml:22: exceptions[5].principal: "*" is too broad: it matches every principal; name a user/ or role/ ARN`,
			`$D/exceptions.yaml:26: exceptions[6].principal: "arn:aws:iam::*:*" is too broad: the resource must start with user/ or role/, literally`,
			// Line 30, role/BreakGlass* in every account, passes, and is not
			// reported as overlapping the over-broad entries.
		}},
		{"overlap", []string{"exceptions.yaml"}, 6, []string{
			"$D/exceptions.yaml:2: exceptions[0].principal: arn:aws:iam::111122223333:role/app is also matched by arn:aws:iam::111122223333:role/app* at $D/exceptions.yaml:12; both cover UnusedPermission (s3, kms)",
			"$D/exceptions.yaml:2: exceptions[0].principal: arn:aws:iam::111122223333:role/app is also matched by arn:aws:iam::*:role/app* at $D/exceptions.yaml:18; both cover UnusedIAMRole, UnusedPermission",
			"$D/exceptions.yaml:7: exceptions[1].principal: duplicates the entry at $D/exceptions.yaml:2: same principal, both cover UnusedIAMRole",
			"$D/exceptions.yaml:7: exceptions[1].principal: arn:aws:iam::111122223333:role/app is also matched by arn:aws:iam::*:role/app* at $D/exceptions.yaml:18; both cover UnusedIAMRole",
			"$D/exceptions.yaml:12: exceptions[2].principal: arn:aws:iam::111122223333:role/app* is also matched by arn:aws:iam::*:role/app* at $D/exceptions.yaml:18; both cover UnusedPermission (s3, kms)",
			// user/alice (passwords) and user/ali* (access keys) do not overlap.
		}},
		// Duplicates are found across files, and reported on the entry that
		// comes later in the order the files were given.
		{"cross-file", []string{"exceptions.yaml", "allowlist.txt"}, 2, []string{
			"$D/allowlist.txt:1: duplicates the entry at $D/exceptions.yaml:2: same principal, both cover UnusedIAMRole",
		}},
		// Parse problems and policy problems of the entries that did parse
		// come together.
		{"parse-errors", []string{"exceptions.yaml"}, 1, []string{
			// The misspelt key leaves the entry without a reason, which is
			// reported too.
			"$D/exceptions.yaml:2: exceptions[0].reason: required: say why the access must stay",
			"$D/exceptions.yaml:3: exceptions[0].reasons: unknown key (did you mean reason?)",
			`$D/exceptions.yaml:6: exceptions[1].principal: "not-an-arn" is not an IAM user or role ARN`,
			"$D/exceptions.yaml:10: exceptions[2].owner: required: the team or person who answers for this exception",
			`$D/exceptions.yaml:16: exceptions[3].expires: "2027-02-30" is not a date (YYYY-MM-DD)`,
		}},
		// Every problem of an entry is reported, not only the first: one
		// round of fixes is enough. A field that failed to parse is not
		// reported twice.
		{"every-problem", []string{"exceptions.yaml"}, 0, []string{
			`$D/exceptions.yaml:2: exceptions[0].principal: "arn:aws:iam::111122223333:role/*" is too broad: the name after role/ needs at least 3 literal characters (not * or ?), it has 0`,
			"$D/exceptions.yaml:2: exceptions[0].reason: required: say why the access must stay",
			"$D/exceptions.yaml:2: exceptions[0].owner: required: the team or person who answers for this exception",
			`$D/exceptions.yaml:3: exceptions[0].services[0]: "S3" is not a service namespace (lower case, like ec2 or s3)`,
			`$D/exceptions.yaml:3: exceptions[0].services[1]: "notaservice" is not a known IAM service namespace`,
			"$D/exceptions.yaml:4: exceptions[0].expires: 9999-12-31 is 2912111 days ahead, more than exceptions.max_days (365)",
			`$D/exceptions.yaml:5: exceptions[1].principal: "not-an-arn" is not an IAM user or role ARN`,
			"$D/exceptions.yaml:5: exceptions[1].reason: required: say why the access must stay",
			"$D/exceptions.yaml:5: exceptions[1].owner: required: the team or person who answers for this exception",
			`$D/exceptions.yaml:6: exceptions[1].expires: "someday" is not a date (YYYY-MM-DD)`,
		}},
		{"syntax", []string{"exceptions.yaml"}, 0, []string{
			"$D/exceptions.yaml:1: invalid YAML: did not find expected '-' indicator",
		}},
		// A .txt file gets no owner, reason or expiry problems.
		{"txt", []string{"allowlist.txt"}, 5, []string{
			`$D/allowlist.txt:3: "not-an-arn" is not an IAM user or role ARN`,
			`$D/allowlist.txt:4: "arn:aws:iam::*:role/*" is too broad: the name after role/ needs at least 3 literal characters (not * or ?), it has 0`,
			"$D/allowlist.txt:5: duplicates the entry at $D/allowlist.txt:2: same principal, both cover every finding type",
			"$D/allowlist.txt:6: arn:aws:iam::111122223333:role/legacy-batch is also matched by arn:aws:iam::*:role/legacy-* at $D/allowlist.txt:7; both cover every finding type",
		}},
		{"unknown-service", []string{"exceptions.yaml"}, 1, []string{
			`$D/exceptions.yaml:5: exceptions[0].services[1]: "notaservice" is not a known IAM service namespace`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", "check", tt.dir)
			var paths []string
			for _, f := range tt.files {
				paths = append(paths, filepath.Join(dir, f))
			}
			excs, probs, err := CheckFiles(paths, CheckOptions{Now: now, KnownService: notAService})
			if err != nil {
				t.Fatalf("CheckFiles: %v", err)
			}
			if len(excs) != tt.entries {
				t.Errorf("%d entries parsed, want %d", len(excs), tt.entries)
			}
			var got []string
			for _, p := range probs {
				got = append(got, p.String())
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "$D", dir))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestCheckFilesUnreadable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	good := filepath.Join("testdata", "check", "good", "exceptions.yaml")
	_, _, err := CheckFiles([]string{good, missing}, CheckOptions{Now: date("2026-11-28T00:00:00Z")})
	if iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), missing) {
		t.Fatalf("err = %v, want EINVALID naming %s", err, missing)
	}
}

// A file given twice is read once, not reported as duplicating itself.
func TestCheckFilesSameFileTwice(t *testing.T) {
	good := filepath.Join("testdata", "check", "good", "exceptions.yaml")
	excs, probs, err := CheckFiles([]string{good, "./" + good}, CheckOptions{Now: date("2026-11-28T00:00:00Z")})
	if err != nil || len(probs) != 0 || len(excs) != 5 {
		t.Fatalf("got %d entries, problems %v, err %v; want 5 entries and no problems", len(excs), probs, err)
	}
}

// One entry judged on successive days: valid, on its last day, expired the
// day after; and too far ahead while more than max_days remain.
func TestCheckExpiryOverTime(t *testing.T) {
	e := iamprune.Exception{Principal: "arn:aws:iam::111122223333:role/drill", Reason: "r", Owner: "o",
		Expires: date("2026-12-31T00:00:00Z"), File: "e.yaml", Line: 2, Path: "exceptions[0]",
		FieldLines: map[string]int{"principal": 2, "expires": 5}}
	tests := []struct {
		now  string
		want string // "" for no problem
	}{
		{"2026-11-30T12:00:00Z", "e.yaml:5: exceptions[0].expires: 2026-12-31 is 31 days ahead, more than exceptions.max_days (30)"},
		{"2026-12-01T00:00:00Z", ""},
		{"2026-12-15T08:00:00Z", ""},
		{"2026-12-31T23:59:59Z", ""},
		{"2027-01-01T00:00:00Z", "e.yaml:5: exceptions[0].expires: 2026-12-31 is in the past (today is 2027-01-01): extend it or remove the entry"},
	}
	for _, tt := range tests {
		t.Run(tt.now, func(t *testing.T) {
			now := date(tt.now)
			probs := Check([]iamprune.Exception{e}, CheckOptions{Now: now, MaxDays: 30})
			var got string
			if len(probs) > 1 {
				t.Fatalf("problems %v, want at most one", probs)
			}
			if len(probs) == 1 {
				got = probs[0].String()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			// The gate agrees with what plan applies: past means expired.
			if past := strings.Contains(tt.want, "in the past"); past != e.Expired(now) {
				t.Errorf("Expired(%s) = %v, but the check says past = %v", tt.now, e.Expired(now), past)
			}
		})
	}
}

func TestPrincipalProblem(t *testing.T) {
	tests := []struct {
		pattern string
		want    string // a substring of the problem; "" for none
	}{
		{"arn:aws:iam::111122223333:user/alice", ""},
		{"arn:aws:iam::*:role/BreakGlass*", ""},
		{"arn:aws:iam::*:role/app/*", ""}, // the path counts: "app/"
		{"arn:*:iam::*:role/Admin?", ""},
		{"arn:aws-us-gov:iam::111122223333:role/abc*", ""},
		{"*", "matches every principal"},
		{"**", "matches every principal"},
		{"arn:aws:iam::*:*", "must start with user/ or role/"},
		{"arn:aws:iam::111122223333:*", "must start with user/ or role/"},
		{"arn:aws:iam::111122223333:ro*/x", "must start with user/ or role/"},
		{"arn:aws:iam::111122223333:role/*", "needs at least 3 literal characters (not * or ?), it has 0"},
		{"arn:aws:iam::*:role/*", "it has 0"},
		{"arn:aws:iam::*:role/a*b", "it has 2"},
		{"arn:aws:iam::*:role/a?b*", "it has 2"},
		{"arn:aws:iam::111122223333:user/???", "it has 0"},
		{"arn:aws:iam::1111222233334:role/app", `account "1111222233334" must be exactly 12 digits`},
		{"arn:aws:iam::1111*:role/app", `account "1111*" must be exactly 12 digits`},
		{"arn:aws*:iam::111122223333:role/app", `partition "aws*"`},
		{"arn:aws:iam::111122223333:group/admins", "is not an IAM user or role ARN"},
		{"arn:aws:s3:::bucket", "is not an IAM user or role ARN"},
		{"", "is not an IAM user or role ARN"},
	}
	for _, tt := range tests {
		got := PrincipalProblem(tt.pattern)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("PrincipalProblem(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

func TestSharedScope(t *testing.T) {
	const p = "arn:aws:iam::111122223333:role/app"
	types := func(ts ...iamprune.FindingType) []iamprune.FindingType { return ts }
	tests := []struct {
		name string
		a, b iamprune.Exception
		want string // "" for disjoint
	}{
		{"all and all", iamprune.Exception{}, iamprune.Exception{}, "every finding type"},
		{"disjoint types", iamprune.Exception{FindingTypes: types(iamprune.UnusedIAMRole)},
			iamprune.Exception{FindingTypes: types(iamprune.UnusedPermission)}, ""},
		{"disjoint services", iamprune.Exception{FindingTypes: types(iamprune.UnusedPermission), Services: []string{"s3"}},
			iamprune.Exception{FindingTypes: types(iamprune.UnusedPermission), Services: []string{"kms"}}, ""},
		{"shared service", iamprune.Exception{FindingTypes: types(iamprune.UnusedPermission), Services: []string{"s3", "kms"}},
			iamprune.Exception{FindingTypes: types(iamprune.UnusedPermission), Services: []string{"kms", "ec2"}}, "UnusedPermission (kms)"},
		{"star service", iamprune.Exception{FindingTypes: types(iamprune.UnusedPermission), Services: []string{"*"}},
			iamprune.Exception{FindingTypes: types(iamprune.UnusedPermission), Services: []string{"ec2"}}, "UnusedPermission (ec2)"},
		// Services only narrow UnusedPermission; the role type still overlaps.
		{"services leave other types", iamprune.Exception{FindingTypes: types(iamprune.UnusedIAMRole, iamprune.UnusedPermission), Services: []string{"s3"}},
			iamprune.Exception{FindingTypes: types(iamprune.UnusedIAMRole, iamprune.UnusedPermission), Services: []string{"kms"}}, "UnusedIAMRole"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.a.Principal, tt.b.Principal = p, p
			got, ok := sharedScope(tt.a, tt.b)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("sharedScope = %q, %v; want %q", got, ok, tt.want)
			}
			// Symmetric, and overlaps agrees.
			if got2, _ := sharedScope(tt.b, tt.a); got2 != got {
				t.Errorf("sharedScope(b, a) = %q, want %q", got2, got)
			}
			if n := len(overlaps([]iamprune.Exception{tt.a, tt.b})); n != map[bool]int{true: 1, false: 0}[ok] {
				t.Errorf("overlaps reported %d problems, want %v", n, ok)
			}
		})
	}
}

// Exceptions built in code (no file extension) are held to the YAML policy,
// and problems without a field line fall back to the entry's line.
func TestCheckWithoutFieldLines(t *testing.T) {
	e := iamprune.Exception{Principal: "arn:aws:iam::111122223333:role/app", File: "inline", Line: 7}
	got := Check([]iamprune.Exception{e}, CheckOptions{Now: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)})
	want := []Problem{
		{File: "inline", Line: 7, Message: "required: say why the access must stay"},
		{File: "inline", Line: 7, Message: "required: the team or person who answers for this exception"},
		{File: "inline", Line: 7, Message: "required: the last day (YYYY-MM-DD) the exception applies, at most 365 days ahead"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// Gate refuses what the check refuses on its own, except an expiry in the
// past, which Match already ignores.
func TestGate(t *testing.T) {
	now := date("2026-11-28T10:00:00Z")
	ok := iamprune.Exception{Principal: "arn:aws:iam::111122223333:role/app", Reason: "r", Owner: "o", Expires: date("2027-01-01T00:00:00Z"), File: "e.yaml", Line: 2, Path: "exceptions[0]"}
	expired := ok
	expired.Expires, expired.Line, expired.Path = date("2026-01-01T00:00:00Z"), 6, "exceptions[1]"
	noExpiry := ok
	noExpiry.Expires, noExpiry.Line, noExpiry.Path = time.Time{}, 10, "exceptions[2]"
	broad := iamprune.Exception{Principal: "arn:aws:iam::111122223333:role/*", File: "a.txt", Line: 1}
	txt := iamprune.Exception{Principal: "arn:aws:iam::111122223333:role/app", File: "a.txt", Line: 2}
	kept, refused := Gate([]iamprune.Exception{ok, expired, noExpiry, broad, txt}, CheckOptions{Now: now})
	var lines []string
	for _, e := range kept {
		lines = append(lines, fmt.Sprintf("%s:%d", e.File, e.Line))
	}
	if got := strings.Join(lines, " "); got != "e.yaml:2 e.yaml:6 a.txt:2" {
		t.Errorf("kept %s", got)
	}
	var got []string
	for _, p := range refused {
		got = append(got, p.String())
	}
	want := []string{
		"e.yaml:10: exceptions[2].expires: required: the last day (YYYY-MM-DD) the exception applies, at most 365 days ahead",
		`a.txt:1: "arn:aws:iam::111122223333:role/*" is too broad: the name after role/ needs at least 3 literal characters (not * or ?), it has 0`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("refused:\n%s", strings.Join(got, "\n"))
	}
}
