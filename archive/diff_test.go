package archive

import (
	"reflect"
	"testing"
)

func rule(name string, resources ...string) Rule {
	return Rule{Name: name, Filter: map[string]Criterion{KeyResource: eq(resources...)}}
}

func TestDiff(t *testing.T) {
	alice, bob, carol := acct+"user/alice", acct+"user/bob", acct+"user/carol"
	foreign := Rule{Name: "security-team-sandbox", Filter: map[string]Criterion{"resource": {Contains: []string{"sandbox"}}}}
	tests := []struct {
		name     string
		existing []Rule
		desired  []Rule
		want     Changes
	}{
		{
			name:    "create into an empty analyzer",
			desired: []Rule{rule("iamprune-all-1", alice)},
			want:    Changes{Create: []Rule{rule("iamprune-all-1", alice)}},
		},
		{
			name:     "same values in another order is no change",
			existing: []Rule{rule("iamprune-all-1", bob, alice)},
			desired:  []Rule{rule("iamprune-all-1", alice, bob)},
		},
		{
			name:     "update, delete, create",
			existing: []Rule{rule("iamprune-all-2", carol), rule("iamprune-all-1", alice), rule("iamprune-UnusedIAMRole-1", bob)},
			desired:  []Rule{rule("iamprune-all-1", alice, bob), rule("iamprune-UnusedPermission-1", carol)},
			want: Changes{
				Create: []Rule{rule("iamprune-UnusedPermission-1", carol)},
				Update: []Rule{rule("iamprune-all-1", alice, bob)},
				Delete: []Rule{rule("iamprune-UnusedIAMRole-1", bob), rule("iamprune-all-2", carol)},
			},
		},
		{
			// A foreign rule is never deleted or updated, even when it covers
			// the same principals.
			name:     "foreign rules are left alone",
			existing: []Rule{foreign, rule("AllowAlice", alice), rule("iamprune-all-1", alice)},
			desired:  []Rule{rule("iamprune-all-1", alice), rule("AllowAlice", bob)},
			want:     Changes{Foreign: []Rule{rule("AllowAlice", alice), foreign}},
		},
		{
			name:     "numeric order of names",
			existing: []Rule{rule("iamprune-all-10", alice), rule("iamprune-all-9", alice), rule("iamprune-all-2", alice)},
			want:     Changes{Delete: []Rule{rule("iamprune-all-2", alice), rule("iamprune-all-9", alice), rule("iamprune-all-10", alice)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.existing, tt.desired)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff =\n%+v\nwant\n%+v", got, tt.want)
			}
			if got.Empty() != (len(tt.want.Create)+len(tt.want.Update)+len(tt.want.Delete) == 0) {
				t.Errorf("Empty() = %v", got.Empty())
			}
		})
	}
}

func TestSameFilter(t *testing.T) {
	yes, no := true, false
	a := map[string]Criterion{"resource": eq("x", "y"), "findingType": eq("UnusedIAMRole")}
	tests := []struct {
		b    map[string]Criterion
		want bool
	}{
		{map[string]Criterion{"findingType": eq("UnusedIAMRole"), "resource": eq("y", "x")}, true},
		{map[string]Criterion{"resource": eq("x", "y")}, false},
		{map[string]Criterion{"resource": eq("x"), "findingType": eq("UnusedIAMRole")}, false},
		{map[string]Criterion{"resource": {Eq: []string{"x", "y"}, Exists: &yes}, "findingType": eq("UnusedIAMRole")}, false},
		{map[string]Criterion{"resource": {Neq: []string{"x", "y"}}, "findingType": eq("UnusedIAMRole")}, false},
	}
	for i, tt := range tests {
		if got := SameFilter(a, tt.b); got != tt.want {
			t.Errorf("%d: SameFilter = %v, want %v", i, got, tt.want)
		}
	}
	if SameFilter(map[string]Criterion{"r": {Exists: &yes}}, map[string]Criterion{"r": {Exists: &no}}) {
		t.Error("exists true and false compare equal")
	}
}

func TestCovered(t *testing.T) {
	yes, no := true, false
	alice := acct + "user/alice"
	tests := []struct {
		name   string
		filter map[string]Criterion
		res    string
		typ    string
		want   bool
	}{
		{"resource eq", map[string]Criterion{"resource": eq(alice)}, alice, "UnusedIAMRole", true},
		{"resource eq other", map[string]Criterion{"resource": eq(alice)}, acct + "user/bob", "UnusedIAMRole", false},
		{"type limit matches", map[string]Criterion{"resource": eq(alice), "findingType": eq("UnusedIAMUserPassword")}, alice, "UnusedIAMUserPassword", true},
		{"type limit excludes", map[string]Criterion{"resource": eq(alice), "findingType": eq("UnusedIAMUserPassword")}, alice, "UnusedPermission", false},
		{"neq", map[string]Criterion{"findingType": {Neq: []string{"UnusedPermission"}}}, alice, "UnusedIAMRole", true},
		{"neq excludes", map[string]Criterion{"findingType": {Neq: []string{"UnusedPermission"}}}, alice, "UnusedPermission", false},
		{"contains", map[string]Criterion{"resource": {Contains: []string{"nope", "user/al"}}}, alice, "UnusedIAMRole", true},
		{"contains none", map[string]Criterion{"resource": {Contains: []string{"role/"}}}, alice, "UnusedIAMRole", false},
		{"exists", map[string]Criterion{"resource": {Exists: &yes}}, alice, "UnusedIAMRole", true},
		{"not exists", map[string]Criterion{"resource": {Exists: &no}}, alice, "UnusedIAMRole", false},
		{"eq and neq both hold", map[string]Criterion{"resource": {Eq: []string{alice}, Neq: []string{alice}}}, alice, "UnusedIAMRole", false},
		// A key Covered cannot read proves nothing.
		{"unknown key", map[string]Criterion{"resource": eq(alice), "resourceOwnerAccount": eq("111122223333")}, alice, "UnusedIAMRole", false},
		{"empty filter", map[string]Criterion{}, alice, "UnusedIAMRole", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Covered(Rule{Name: "r", Filter: tt.filter}, tt.res, tt.typ); got != tt.want {
				t.Errorf("Covered = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReleased(t *testing.T) {
	alice, bob, carol, dave := acct+"user/alice", acct+"user/bob", acct+"user/carol", acct+"user/dave"
	existing := []Rule{
		rule("iamprune-all-1", alice, bob, carol),
		{Name: "iamprune-UnusedIAMRole-1", Filter: map[string]Criterion{"resource": eq(dave), "findingType": eq("UnusedIAMRole")}},
		rule("keep-carol", carol), // foreign: it may be what archived carol's findings
	}
	// alice's exception was narrowed to passwords; bob's and dave's removed.
	desired := []Rule{{Name: "iamprune-UnusedIAMUserPassword-1", Filter: map[string]Criterion{"resource": eq(alice), "findingType": eq("UnusedIAMUserPassword")}}}
	archived := []Finding{
		{ID: "1", Resource: alice, Type: "UnusedIAMUserPassword"},  // still covered
		{ID: "2", Resource: alice, Type: "UnusedIAMUserAccessKey"}, // narrowed away
		{ID: "3", Resource: bob, Type: "UnusedIAMRole"},            // removed
		{ID: "4", Resource: carol, Type: "UnusedIAMRole"},          // foreign rule covers it
		{ID: "5", Resource: dave, Type: "UnusedPermission"},        // never iamprune's
		{ID: "6", Resource: dave, Type: "UnusedIAMRole"},           // removed
	}
	var got []string
	for _, f := range Released(existing, desired, archived) {
		got = append(got, f.ID)
	}
	if want := []string{"2", "3", "6"}; !reflect.DeepEqual(got, want) {
		t.Errorf("released %v, want %v", got, want)
	}
}
