package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
)

func TestSize(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		// {"Statement":[]} is 16 characters.
		{`{"Statement": [ ]}`, 16},
		// Indentation and spaces inside strings are not counted.
		{"{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"*\", \"Condition\": {\"StringEquals\": {\"aws:username\": \"a b\"}}}\n}",
			len(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:username":"ab"}}}}`)},
	}
	for _, tt := range tests {
		d, err := Parse([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := Size(d); got != tt.want {
			t.Errorf("Size(%s) = %d, want %d", tt.in, got, tt.want)
		}
	}
	// The indented output counts the same as the compact text.
	d, _ := Parse([]byte(tests[1].in))
	out, _ := Marshal(d)
	if got := countNonSpace(string(out)); got != Size(d) {
		t.Errorf("Marshal output counts %d, Size %d", got, Size(d))
	}
}

func TestSplit(t *testing.T) {
	var sqs []string
	for _, a := range catalog.Actions("sqs") {
		sqs = append(sqs, a.String())
	}
	var ec2 []string
	for _, a := range catalog.Match("ec2:Describe*") {
		ec2 = append(ec2, a.String())
	}
	big := Document{Version: Version2012, Statement: []Statement{
		{Sid: "Queues", Effect: Allow, Action: List(sqs...), Resource: One("*")},
		{Sid: "Describe", Effect: Allow, Action: List(ec2...), Resource: One("*")},
		{Sid: "Describe2", Effect: Allow, Action: One("ec2:RunInstances"), Resource: One("*")}, // a taken Sid
		{Sid: "NoDelete", Effect: Deny, Action: List("sqs:DeleteQueue", "ec2:TerminateInstances"), Resource: One("*")},
	}}
	tests := []struct {
		name     string
		doc      Document
		limit    int
		pieces   int
		wantSids [][]string
	}{
		{"fits", big, LimitManaged * 10, 1, nil},
		// The ec2 statement alone is over 1,500 characters: it is cut, and
		// the parts get fresh Sids (Describe2 is taken).
		{"cut", big, 1500, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pieces, err := Split(tt.doc, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if tt.pieces > 0 && len(pieces) != tt.pieces {
				t.Errorf("%d pieces, want %d", len(pieces), tt.pieces)
			}
			seen := map[string]bool{}
			for i, p := range pieces {
				if n := Size(p); n > tt.limit {
					t.Errorf("piece %d: %d characters, over %d", i, n, tt.limit)
				}
				if p.Version != Version2012 {
					t.Errorf("piece %d: Version %q", i, p.Version)
				}
				for _, s := range p.Statement {
					if s.Sid != "" && seen[s.Sid] {
						t.Errorf("Sid %q used twice", s.Sid)
					}
					seen[s.Sid] = true
				}
			}
			if tt.name == "cut" {
				for _, sid := range []string{"Describe", "Describe3", "Describe2", "Queues", "NoDelete"} {
					if !seen[sid] {
						t.Errorf("no statement %s; have %v", sid, seen)
					}
				}
			}
			universe := append(append(append([]string{}, sqs...), ec2...), "ec2:RunInstances", "ec2:TerminateInstances", "s3:GetObject")
			for _, a := range universe {
				if Allowed(pieces, a) != Allowed([]Document{tt.doc}, a) {
					t.Fatalf("%s: split changes whether it is allowed", a)
				}
			}
		})
	}
}

func TestSplitRefuses(t *testing.T) {
	long := "s3:" + strings.Repeat("x", 200)
	tests := []struct {
		name string
		s    Statement
	}{
		{"NotAction cannot be cut", Statement{Effect: Allow, NotAction: List(long, long+"y"), Resource: One("*")}},
		{"one action too long", Statement{Effect: Allow, Action: One(long), Resource: One("*")}},
		{"resources too long", Statement{Effect: Allow, Action: List("s3:GetObject", "s3:PutObject"), Resource: List(long, long+"y")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Split(Document{Statement: []Statement{tt.s}}, 150)
			if iamprune.ErrorCode(err) != iamprune.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if !strings.Contains(err.Error(), "Statement[0]") {
				t.Errorf("error %q does not name the statement", err)
			}
		})
	}
}

func ExampleSize() {
	d, _ := Parse([]byte(`{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}`))
	fmt.Println(Size(d), Size(d) <= LimitInlineUser)
	// Output: 83 true
}
