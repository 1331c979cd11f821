package cloudformation

import (
	"reflect"
	"regexp"
	"testing"
)

// Every role either template creates takes the permissions boundary its
// parameters name, and none when they are empty (docs/deployment.md).
func TestPermissionsBoundary(t *testing.T) {
	const arn = "arn:aws:iam::111122223333:policy/boundaries/iamprune"
	tests := []struct {
		template string
		params   map[string]string
		want     any // the resolved PermissionsBoundary; nil for none
	}{
		{stackTemplate, nil, nil},
		{stackTemplate, map[string]string{"PermissionsBoundaryArn": arn}, refTo("PermissionsBoundaryArn")},
		{memberTemplate, nil, nil},
		{memberTemplate, map[string]string{"PermissionsBoundaryArn": arn}, refTo("PermissionsBoundaryArn")},
		{memberTemplate, map[string]string{"PermissionsBoundaryPolicyName": "boundaries/iamprune"},
			subOf("arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${PermissionsBoundaryPolicyName}")},
		{memberTemplate, map[string]string{"PermissionsBoundaryArn": arn, "PermissionsBoundaryPolicyName": "boundaries/iamprune"}, refTo("PermissionsBoundaryArn")},
	}
	for _, tt := range tests {
		tmpl := mustLoad(t, tt.template)
		conds, err := evalConditions(tmpl, tt.params)
		if err != nil {
			t.Fatal(err)
		}
		roles := tmpl.resourcesOf("AWS::IAM::Role")
		if len(roles) == 0 {
			t.Fatalf("%s: no role", tt.template)
		}
		for _, role := range roles {
			props, _ := dig(tmpl.section("Resources"), role, "Properties")
			got, _ := dig(resolveIfs(props, conds), "PermissionsBoundary")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s %s with %v: PermissionsBoundary %#v, want %#v", tt.template, role, tt.params, got, tt.want)
			}
		}
	}
}

// The parameters' AllowedPatterns, which CloudFormation anchors at both
// ends, take boundary ARNs and names and refuse other policies' shapes.
func TestPermissionsBoundaryPatterns(t *testing.T) {
	pattern := func(tmpl, param string) *regexp.Regexp {
		p, ok := dig(mustLoad(t, tmpl).section("Parameters"), param, "AllowedPattern")
		if !ok {
			t.Fatalf("%s: %s has no AllowedPattern", tmpl, param)
		}
		return regexp.MustCompile("^(?:" + p.(string) + ")$")
	}
	arnOK := []string{"", "arn:aws:iam::111122223333:policy/iamprune-boundary", "arn:aws-us-gov:iam::111122223333:policy/path/to/b", "arn:aws:iam::aws:policy/PowerUserAccess"}
	arnBad := []string{"iamprune-boundary", "arn:aws:iam::1111:policy/x", "arn:aws:s3:::bucket", "arn:aws:iam::111122223333:role/x", " arn:aws:iam::111122223333:policy/x"}
	for _, tmpl := range []string{stackTemplate, memberTemplate} {
		re := pattern(tmpl, "PermissionsBoundaryArn")
		for _, s := range arnOK {
			if !re.MatchString(s) {
				t.Errorf("%s: PermissionsBoundaryArn refuses %q", tmpl, s)
			}
		}
		for _, s := range arnBad {
			if re.MatchString(s) {
				t.Errorf("%s: PermissionsBoundaryArn takes %q", tmpl, s)
			}
		}
	}
	re := pattern(memberTemplate, "PermissionsBoundaryPolicyName")
	for _, s := range []string{"", "iamprune-boundary", "boundaries/iamprune"} {
		if !re.MatchString(s) {
			t.Errorf("PermissionsBoundaryPolicyName refuses %q", s)
		}
	}
	for _, s := range []string{"/boundaries/x", "arn:aws:iam::111122223333:policy/x", "a b"} {
		if re.MatchString(s) {
			t.Errorf("PermissionsBoundaryPolicyName takes %q", s)
		}
	}
}
