package policy

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNarrows(t *testing.T) {
	const before = `{"Version":"2012-10-17","Statement":[
		{"Sid":"App","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","ec2:DescribeInstances"],"Resource":"arn:aws:s3:::app/*"},
		{"Effect":"Allow","Action":"sqs:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
		{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::logs/*"},
		{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}`
	deny := `{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}`
	doc := func(stmts ...string) json.RawMessage {
		return json.RawMessage(`{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`)
	}
	tests := []struct {
		name     string
		after    []json.RawMessage
		services []string
		want     string // "" accepted, else part of the error
	}{
		{"narrowed", []json.RawMessage{doc(`{"Sid":"App","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::app/*"}`,
			`{"Effect":"Allow","Action":"sqs:Send*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`,
			`{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::logs/*"}`, deny)}, []string{"s3", "ec2", "sqs"}, ""},
		{"NotAction made explicit", []json.RawMessage{doc(`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","ec2:DescribeInstances"],"Resource":"arn:aws:s3:::app/*"}`,
			`{"Effect":"Allow","Action":"sqs:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`,
			`{"Effect":"Allow","Action":["s3:*","kms:Decrypt"],"Resource":"arn:aws:s3:::logs/*"}`, deny)}, nil, "removes"},
		{"split parts, fresh Sids", []json.RawMessage{doc(`{"Sid":"App1","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::app/*"}`, deny),
			doc(`{"Sid":"App2","Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::app/*"}`)}, []string{"ec2", "sqs", "ec2messages"}, "removes"},
		{"broader resource", []json.RawMessage{doc(`{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}`, deny)}, nil, "no Allow of the policy grants"},
		{"admin", []json.RawMessage{doc(`{"Effect":"Allow","Action":"*","Resource":"*"}`, deny)}, nil, "no Allow of the policy grants"},
		{"condition dropped", []json.RawMessage{doc(`{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}`, deny)}, nil, "no Allow of the policy grants"},
		{"new action", []json.RawMessage{doc(`{"Effect":"Allow","Action":["s3:GetObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::app/*"}`, deny)}, nil, "no Allow of the policy grants"},
		{"deny dropped", []json.RawMessage{doc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::logs/*"}`)}, nil, "Deny statement of the policy is missing"},
		{"deny added", []json.RawMessage{doc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::logs/*"}`, deny, `{"Effect":"Deny","Action":"*","Resource":"*"}`)}, nil, "a Deny the policy did not have"},
		{"wildcard beyond a NotAction", []json.RawMessage{doc(`{"Effect":"Allow","Action":"iam:Get*","Resource":"arn:aws:s3:::logs/*"}`, deny)}, nil, "no Allow of the policy grants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Narrows(json.RawMessage(before), tt.after, tt.services)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestGlobContains(t *testing.T) {
	for _, tt := range []struct {
		q, p string
		want bool
	}{
		{"*:Add*", "storagegateway:Add*", true},
		{"s3:*", "s3:Get*", true},
		{"s3:Get*", "s3:*", false},
		{"s3:Get?bject", "s3:GetObject", true},
		{"s3:Get?bject", "s3:Get*bject", false},
		{"*", "anything*", true},
		{"kms:Veri?yMac", "kms:Veri?yMac", true},
		{"s3:GetObject", "s3:GetObject*", false},
	} {
		if got := globContains(tt.q, tt.p); got != tt.want {
			t.Errorf("globContains(%q, %q) = %v", tt.q, tt.p, got)
		}
	}
}
