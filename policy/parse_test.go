package policy

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

func TestParseForms(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Document
	}{
		{
			name: "single statement, strings",
			in:   `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`,
			want: Document{Version: Version2012, SingleStatement: true, Statement: []Statement{
				{Effect: Allow, Action: One("s3:GetObject"), Resource: One("*")},
			}},
		},
		{
			name: "list of statements, lists",
			in: `{"Version":"2008-10-17","Id":"x","Statement":[
				{"Sid":"A","Effect":"Deny","NotAction":["iam:*"],"NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},
				{"Effect":"Allow","Action":[],"Resource":[]}]}`,
			want: Document{Version: Version2008, ID: "x", Statement: []Statement{
				{Sid: "A", Effect: Deny, NotAction: List("iam:*"), NotResource: List("arn:aws:s3:::b", "arn:aws:s3:::b/*")},
				{Effect: Allow, Action: List(), Resource: List()},
			}},
		},
		{
			name: "principals keep their order and forms",
			in: `{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com","AWS":["111122223333","arn:aws:iam::444455556666:root"]},"Action":"sts:AssumeRole"},
				{"Effect":"Deny","NotPrincipal":"*","Action":"*"}]}`,
			want: Document{Statement: []Statement{
				{Effect: Allow, Principal: &Principal{Entries: []PrincipalEntry{
					{Type: "Service", Values: One("ec2.amazonaws.com")},
					{Type: "AWS", Values: List("111122223333", "arn:aws:iam::444455556666:root")},
				}}, Action: One("sts:AssumeRole")},
				{Effect: Deny, NotPrincipal: &Principal{Wildcard: true}, Action: One("*")},
			}},
		},
		{
			name: "condition kept compact, in order, values as written",
			in: `{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Condition":
				{ "StringLike" : {"s3:prefix": ["a/", "b/"]}, "NumericLessThan": {"s3:max-keys": 1.50}, "Bool": {"aws:SecureTransport": true} }}]}`,
			want: Document{Statement: []Statement{{Effect: Allow, Action: One("s3:ListBucket"),
				Condition: json.RawMessage(`{"StringLike":{"s3:prefix":["a/","b/"]},"NumericLessThan":{"s3:max-keys":1.50},"Bool":{"aws:SecureTransport":true}}`)}}},
		},
		{
			name: "empty statement list",
			in:   `{"Version":"2012-10-17","Statement":[]}`,
			want: Document{Version: Version2012, Statement: []Statement{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse:\n got %#v\nwant %#v", got, tt.want)
			}
			checkRoundTrip(t, got)
		})
	}
}

// checkRoundTrip: Parse(Marshal(d)) gives d back, and Marshal is stable.
func checkRoundTrip(t *testing.T, d Document) {
	t.Helper()
	out, err := Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(Marshal(d)): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, d) {
		t.Errorf("round trip changed the document:\n got %#v\nwant %#v", back, d)
	}
	if again, _ := Marshal(back); !bytes.Equal(again, out) {
		t.Errorf("Marshal is not stable:\n%s", UnifiedDiff("first", "second", out, again))
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`[]`, "policy: document: must be an object, got a list"},
		{`{"Statement": [`, "policy: invalid JSON at line 1, column 15"},
		{"{\n\"Statement\": [}\n", "policy: invalid JSON at line 2, column 15"},
		{`{"Version":"2012-10-17"}`, "policy: Statement: missing"},
		{`{"Version":"2020-01-01","Statement":[]}`, `policy: Version: "2020-01-01" is not 2012-10-17 or 2008-10-17`},
		{`{"Version":1,"Statement":[]}`, "policy: Version: must be a string, got a number"},
		{`{"Id":[],"Statement":[]}`, "policy: Id: must be a string, got a list"},
		{`{"Statement":[],"Extra":1}`, "policy: Extra: unknown element (want Version, Id or Statement)"},
		{`{"Statement":"x"}`, "policy: Statement: must be an object or a list of objects, got a string"},
		{`{"Statement":[1]}`, "policy: Statement[0]: must be an object, got a number"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b"},{"Effect":"Allow","Action":"a:b"},{"Effect":"Allow","Action":{"a":1}}]}`,
			"policy: Statement[2].Action: must be a string or a list of strings"},
		{`{"Statement":[{"Effect":"Allow","Action":["a:b",2]}]}`, "policy: Statement[0].Action: must be a string or a list of strings"},
		{`{"Statement":[{"Effect":"allow","Action":"a:b"}]}`, `policy: Statement[0].Effect: must be "Allow" or "Deny"`},
		{`{"Statement":[{"Action":"a:b"}]}`, "policy: Statement[0].Effect: missing"},
		{`{"Statement":[{"Effect":"Allow"}]}`, "policy: Statement[0]: needs exactly one of Action and NotAction"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","NotAction":"c:d"}]}`, "policy: Statement[0]: needs exactly one of Action and NotAction"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Resource":"*","NotResource":"*"}]}`, "policy: Statement[0]: has both Resource and NotResource"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Principal":"*","NotPrincipal":"*"}]}`, "policy: Statement[0]: has both Principal and NotPrincipal"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Resource":null}]}`, "policy: Statement[0].Resource: must be a string or a list of strings"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Sid":1}]}`, "policy: Statement[0].Sid: must be a string, got a number"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Principal":"123456789012"}]}`, `policy: Statement[0].Principal: a string principal must be "*"`},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Principal":{"AWS":[1]}}]}`, "policy: Statement[0].Principal.AWS: must be a string or a list of strings"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Principal":[]}]}`, `policy: Statement[0].Principal: must be "*" or an object of principal types`},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Condition":[]}]}`, "policy: Statement[0].Condition: must be an object of condition operators, got a list"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Condition":{"Bool":true}}]}`, "policy: Statement[0].Condition.Bool: must be an object of condition keys, got a boolean"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Condition":{"StringEquals":{"aws:username":{"x":1}}}}]}`,
			`policy: Statement[0].Condition.StringEquals.aws:username: must be a string, number or boolean, or a list of them`},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Condition":{"StringEquals":{"k":[null]}}}]}`,
			"policy: Statement[0].Condition.StringEquals.k: must be a string, number or boolean, or a list of them"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","action":"c:d"}]}`, "policy: Statement[0].action: unknown element"},
		{`{"Statement":[{"Effect":"Allow","Action":"a:b","Action":"c:d"}]}`, `policy: Statement[0].Action: key "Action" appears more than once`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%s): no error, want %q", tt.in, tt.want)
			}
			if iamprune.ErrorCode(err) != iamprune.EINVALID {
				t.Errorf("code = %q, want %q", iamprune.ErrorCode(err), iamprune.EINVALID)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

// TestMarshalGolden pins the output format: IAM's key order, two-space
// indentation, forms kept, condition order kept, no HTML escaping.
func TestMarshalGolden(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "marshal", "*"))
	if len(dirs) == 0 {
		t.Fatal("no marshal cases")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			d, err := Parse(readFile(t, filepath.Join(dir, "policy.json")))
			if err != nil {
				t.Fatal(err)
			}
			out, err := Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join(dir, "want.json"), append(out, '\n'))
			checkRoundTrip(t, d)
		})
	}
}

func TestMarshalRejectsBadCondition(t *testing.T) {
	d := Document{Statement: []Statement{{Effect: Allow, Action: One("a:b"), Condition: json.RawMessage(`{"Bool":`)}}}
	if _, err := Marshal(d); err == nil {
		t.Fatal("Marshal accepted a malformed Condition")
	}
}
