package archive

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

const acct = "arn:aws:iam::111122223333:"

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func types(ts ...iamprune.FindingType) []iamprune.FindingType { return ts }

func eq(vs ...string) Criterion { return Criterion{Eq: vs} }

func TestDesired(t *testing.T) {
	principals := []string{
		acct + "role/app/legacy-b", acct + "role/app/legacy-a", acct + "role/app/new",
		acct + "user/alice", acct + "user/bob",
	}
	tests := []struct {
		name  string
		excs  []iamprune.Exception
		want  []Rule
		notes []string
	}{
		{
			name: "exact ARN is an eq on resource",
			excs: []iamprune.Exception{{Principal: acct + "user/alice", File: "x.txt", Line: 1}},
			want: []Rule{{Name: "iamprune-all-1", Filter: map[string]Criterion{"resource": eq(acct + "user/alice")}}},
		},
		{
			// An exact ARN is kept even when it is not (yet) a known principal.
			name: "exact ARN not known",
			excs: []iamprune.Exception{{Principal: acct + "user/ghost"}},
			want: []Rule{{Name: "iamprune-all-1", Filter: map[string]Criterion{"resource": eq(acct + "user/ghost")}}},
		},
		{
			name: "types add an eq on findingType",
			excs: []iamprune.Exception{{Principal: acct + "role/app/new", FindingTypes: types(iamprune.UnusedPermission, iamprune.UnusedIAMRole)}},
			want: []Rule{{Name: "iamprune-UnusedIAMRole.UnusedPermission-1", Filter: map[string]Criterion{
				"resource":    eq(acct + "role/app/new"),
				"findingType": eq("UnusedIAMRole", "UnusedPermission"),
			}}},
		},
		{
			name: "glob resolved to known principals, sorted",
			excs: []iamprune.Exception{{Principal: "arn:aws:iam::*:role/app/legacy-*", FindingTypes: types(iamprune.UnusedIAMRole)}},
			want: []Rule{{Name: "iamprune-UnusedIAMRole-1", Filter: map[string]Criterion{
				"resource":    eq(acct+"role/app/legacy-a", acct+"role/app/legacy-b"),
				"findingType": eq("UnusedIAMRole"),
			}}},
		},
		{
			name:  "glob matching nobody",
			excs:  []iamprune.Exception{{Principal: acct + "role/none-*", File: "e.yaml", Line: 4}},
			notes: []string{"e.yaml:4: " + acct + "role/none-*: matches no user or role at sync time; no archive rule"},
		},
		{
			name: "service-limited UnusedPermission is left to decision time",
			excs: []iamprune.Exception{{Principal: acct + "user/bob", FindingTypes: types(iamprune.UnusedPermission), Services: []string{"s3", "athena"}, File: "e.yaml", Line: 7}},
			notes: []string{"e.yaml:7: " + acct + "user/bob: UnusedPermission limited to services s3, athena cannot be an archive rule " +
				"(it would archive the whole finding); honoured at decision time only"},
		},
		{
			name: "service-limited entry keeps its other types",
			excs: []iamprune.Exception{{Principal: acct + "role/app/new", FindingTypes: types(iamprune.UnusedIAMRole, iamprune.UnusedPermission), Services: []string{"s3"}, File: "e.yaml", Line: 2}},
			want: []Rule{{Name: "iamprune-UnusedIAMRole-1", Filter: map[string]Criterion{
				"resource": eq(acct + "role/app/new"), "findingType": eq("UnusedIAMRole"),
			}}},
			notes: []string{"e.yaml:2: " + acct + "role/app/new: UnusedPermission limited to services s3 cannot be an archive rule " +
				"(it would archive the whole finding); honoured at decision time only"},
		},
		{
			name: "services * is not a limit",
			excs: []iamprune.Exception{{Principal: acct + "user/bob", FindingTypes: types(iamprune.UnusedPermission), Services: []string{"*"}}},
			want: []Rule{{Name: "iamprune-UnusedPermission-1", Filter: map[string]Criterion{
				"resource": eq(acct + "user/bob"), "findingType": eq("UnusedPermission"),
			}}},
		},
		{
			// Expired the day before now is dropped; expiring today still applies.
			name: "expired entry dropped",
			excs: []iamprune.Exception{
				{Principal: acct + "user/alice", Expires: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), File: "e.yaml", Line: 1},
				{Principal: acct + "user/bob", Expires: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), File: "e.yaml", Line: 5},
			},
			want:  []Rule{{Name: "iamprune-all-1", Filter: map[string]Criterion{"resource": eq(acct + "user/bob")}}},
			notes: []string{"e.yaml:1: " + acct + "user/alice: expired on 2026-11-27; no archive rule (its findings are no longer archived)"},
		},
		{
			// Two exceptions on one principal: the union of their types; all
			// four types is the same as no limit.
			name: "types of one principal are merged",
			excs: []iamprune.Exception{
				{Principal: acct + "user/alice", FindingTypes: types(iamprune.UnusedIAMUserAccessKey, iamprune.UnusedIAMUserPassword)},
				{Principal: acct + "user/*", FindingTypes: types(iamprune.UnusedIAMRole, iamprune.UnusedPermission)},
				{Principal: acct + "user/bob", FindingTypes: types(iamprune.UnusedIAMUserPassword)},
			},
			want: []Rule{
				{Name: "iamprune-UnusedIAMUserPassword.UnusedIAMRole.UnusedPermission-1", Filter: map[string]Criterion{
					"resource": eq(acct + "user/bob"), "findingType": eq("UnusedIAMUserPassword", "UnusedIAMRole", "UnusedPermission"),
				}},
				{Name: "iamprune-all-1", Filter: map[string]Criterion{"resource": eq(acct + "user/alice")}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes, err := Desired(tt.excs, principals, now, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rules =\n%+v\nwant\n%+v", got, tt.want)
			}
			if !reflect.DeepEqual(notes, tt.notes) {
				t.Errorf("notes =\n%q\nwant\n%q", notes, tt.notes)
			}
		})
	}
}

// roles returns n role ARNs, role/r00 ... in order.
func roles(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%srole/r%02d", acct, i))
	}
	return out
}

func exact(arns []string, ts ...iamprune.FindingType) []iamprune.Exception {
	var out []iamprune.Exception
	for _, a := range arns {
		out = append(out, iamprune.Exception{Principal: a, FindingTypes: ts})
	}
	return out
}

func TestDesiredPacking(t *testing.T) {
	arns := roles(45)
	want := []Rule{
		{Name: "iamprune-UnusedIAMRole-1", Filter: map[string]Criterion{"resource": eq(arns[:20]...), "findingType": eq("UnusedIAMRole")}},
		{Name: "iamprune-UnusedIAMRole-2", Filter: map[string]Criterion{"resource": eq(arns[20:40]...), "findingType": eq("UnusedIAMRole")}},
		{Name: "iamprune-UnusedIAMRole-3", Filter: map[string]Criterion{"resource": eq(arns[40:]...), "findingType": eq("UnusedIAMRole")}},
	}
	// Whatever the order of the file, the rules are the same.
	for seed := range uint64(5) {
		excs := exact(arns, iamprune.UnusedIAMRole)
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(excs), func(i, j int) { excs[i], excs[j] = excs[j], excs[i] })
		got, _, err := Desired(excs, nil, now, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: rules =\n%+v\nwant\n%+v", seed, got, want)
		}
	}
}

func TestDesiredQuota(t *testing.T) {
	excs := append(exact(roles(45), iamprune.UnusedIAMRole), iamprune.Exception{Principal: acct + "user/alice"})
	_, _, err := Desired(excs, nil, now, 3)
	if err == nil || iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	want := "archive: the exceptions need 4 archive rules (46 principals in 2 finding-type groups, at most 20 per rule), more than the analyzer's quota of 3"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q, want prefix %q", err, want)
	}
	// The default quota is 100 rules: 2000 principals fit, 2001 do not.
	if _, _, err := Desired(exact(roles(2000)), nil, now, 0); err != nil {
		t.Errorf("2000 principals: %v", err)
	}
	more := append(exact(roles(2000)), iamprune.Exception{Principal: acct + "user/zed"})
	if _, _, err := Desired(more, nil, now, 0); err == nil || !strings.Contains(err.Error(), "need 101 archive rules") {
		t.Errorf("2001 principals: err = %v, want 101 rules needed", err)
	}
}

// TestStableNames checks that one more principal changes rules in place.
func TestStableNames(t *testing.T) {
	arns := roles(45)
	before, _, err := Desired(exact(arns), nil, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		add     string
		updated []string
	}{
		{"sorts last", acct + "role/zz", []string{"iamprune-all-3"}},
		{"sorts first", acct + "role/a", []string{"iamprune-all-1", "iamprune-all-2", "iamprune-all-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after, _, err := Desired(exact(append(arns[:45:45], tt.add)), nil, now, 0)
			if err != nil {
				t.Fatal(err)
			}
			c := Diff(before, after)
			if len(c.Create) != 0 || len(c.Delete) != 0 {
				t.Errorf("create %v, delete %v; want none", names(c.Create), names(c.Delete))
			}
			if got := names(c.Update); !reflect.DeepEqual(got, tt.updated) {
				t.Errorf("updated %v, want %v", got, tt.updated)
			}
		})
	}
}

func names(rs []Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestRuleNamesAllowed(t *testing.T) {
	// Every type combination gives a name Access Analyzer accepts:
	// [A-Za-z][A-Za-z0-9_.-]*, at most 255 characters.
	for s := typeSet(1); s <= allTypes; s++ {
		name := Prefix + s.name() + "-100"
		if len(name) > 255 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "" {
			t.Errorf("rule name %q is not allowed", name)
		}
	}
}
