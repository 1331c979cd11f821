package emulator

import (
	"testing"

	"github.com/iamprune/iamprune"
)

func TestTrustAllows(t *testing.T) {
	const (
		caller  = "arn:aws:sts::111122223333:assumed-role/iamprune-runner/run"
		roleARN = "arn:aws:iam::111122223333:role/ops/iamprune-runner"
	)
	c, _ := iamprune.ParseARN(caller)
	req := func(externalID string) trustRequest {
		a := assumeParams{session: "run", externalID: externalID}
		return trustRequest{principals: principalsOf(caller, roleARN, c), context: assumeContext(a, c, roleARN)}
	}
	allow := func(principal, extra string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal + `,"Action":"sts:AssumeRole"` + extra + `}]}`
	}
	ext := `,"Condition":{"StringEquals":{"sts:ExternalId":"iamprune-ext"}}`
	tests := []struct {
		name       string
		doc        string
		externalID string
		want       bool
	}{
		{"account root", allow(`{"AWS":"arn:aws:iam::111122223333:root"}`, ""), "", true},
		{"account id", allow(`{"AWS":"111122223333"}`, ""), "", true},
		{"account id as a number", allow(`{"AWS":111122223333}`, ""), "", true},
		{"role ARN with path", allow(`{"AWS":["arn:aws:iam::999988887777:root","arn:aws:iam::111122223333:role/ops/iamprune-runner"]}`, ""), "", true},
		{"session ARN", allow(`{"AWS":"`+caller+`"}`, ""), "", true},
		{"star", allow(`"*"`, ""), "", true},
		{"AWS star", allow(`{"AWS":"*"}`, ""), "", true},
		{"other account", allow(`{"AWS":"arn:aws:iam::999988887777:root"}`, ""), "", false},
		{"other role", allow(`{"AWS":"arn:aws:iam::111122223333:role/other"}`, ""), "", false},
		{"service", allow(`{"Service":"ec2.amazonaws.com"}`, ""), "", false},
		{"external id matches", allow(`{"AWS":"111122223333"}`, ext), "iamprune-ext", true},
		{"external id differs", allow(`{"AWS":"111122223333"}`, ext), "other", false},
		{"external id missing", allow(`{"AWS":"111122223333"}`, ext), "", false},
		{"external id in a list", allow(`{"AWS":"111122223333"}`, `,"Condition":{"StringEquals":{"sts:externalid":["a1","iamprune-ext"]}}`), "iamprune-ext", true},
		{"external id like", allow(`{"AWS":"111122223333"}`, `,"Condition":{"StringLike":{"sts:ExternalId":"iamprune-*"}}`), "iamprune-ext", true},
		{"external id not like", allow(`{"AWS":"111122223333"}`, `,"Condition":{"StringLike":{"sts:ExternalId":"x?z"}}`), "iamprune-ext", false},
		{"principal arn condition", allow(`{"AWS":"111122223333"}`, `,"Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/ops/*"}}`), "", true},
		{"null condition", allow(`{"AWS":"111122223333"}`, `,"Condition":{"Null":{"sts:ExternalId":"false"}}`), "", false},
		{"unknown condition key", allow(`{"AWS":"111122223333"}`, `,"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}`), "", false},
		{"unknown operator", allow(`{"AWS":"111122223333"}`, `,"Condition":{"DateGreaterThan":{"sts:ExternalId":"x"}}`), "x1", false},
		{"action wildcard", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:*"}}`, "", true},
		{"other action", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:TagSession"}}`, "", false},
		{"NotPrincipal is not evaluated", `{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"*"}}`, "", false},
		{"deny wins", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"},{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}`, "", false},
		{"deny of another account", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"},{"Effect":"Deny","Principal":{"AWS":"999988887777"},"Action":"sts:AssumeRole"}]}`, "", true},
		{"deny with an unevaluated condition", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"},{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}`, "", false},
		{"no trust policy", ``, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := trustAllows(tt.doc, req(tt.externalID)); got != tt.want {
				t.Errorf("trustAllows = %v, want %v\n%s", got, tt.want, tt.doc)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"arn:aws:iam::*:role/*", "arn:aws:iam::1:role/a/b", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"[ab]", "a", false},
		{"[ab]", "[ab]", true},
		{"*x*y", "axbxcy", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
