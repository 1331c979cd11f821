package policy

import (
	"encoding/json"
	"testing"
)

func TestAllowed(t *testing.T) {
	allow := func(actions ...string) Statement {
		return Statement{Effect: Allow, Action: List(actions...), Resource: One("*")}
	}
	deny := func(actions ...string) Statement {
		return Statement{Effect: Deny, Action: List(actions...), Resource: One("*")}
	}
	doc := func(ss ...Statement) Document { return Document{Version: Version2012, Statement: ss} }
	cond := json.RawMessage(`{"Bool":{"aws:MultiFactorAuthPresent":"false"}}`)
	tests := []struct {
		name   string
		docs   []Document
		action string
		want   bool
	}{
		{"no policies", nil, "s3:GetObject", false},
		{"allowed", []Document{doc(allow("s3:GetObject"))}, "s3:GetObject", true},
		{"not granted", []Document{doc(allow("s3:GetObject"))}, "s3:PutObject", false},
		{"wildcard", []Document{doc(allow("s3:Get*"))}, "s3:GetObjectAcl", true},
		{"case-insensitive", []Document{doc(allow("S3:GETOBJECT"))}, "s3:GetObject", true},
		{"deny wins", []Document{doc(allow("s3:*"), deny("s3:Delete*"))}, "s3:DeleteObject", false},
		{"deny in another policy wins", []Document{doc(allow("*")), doc(deny("iam:*"))}, "iam:CreateUser", false},
		{"deny elsewhere", []Document{doc(allow("*")), doc(deny("iam:*"))}, "s3:GetObject", true},
		{"NotAction allow", []Document{doc(Statement{Effect: Allow, NotAction: One("iam:*"), Resource: One("*")})}, "s3:GetObject", true},
		{"NotAction allow excludes", []Document{doc(Statement{Effect: Allow, NotAction: One("iam:*"), Resource: One("*")})}, "iam:PassRole", false},
		{"NotAction deny", []Document{doc(allow("*"), Statement{Effect: Deny, NotAction: One("s3:*"), Resource: One("*")})}, "iam:PassRole", false},
		{"NotAction deny spares", []Document{doc(allow("*"), Statement{Effect: Deny, NotAction: One("s3:*"), Resource: One("*")})}, "s3:GetObject", true},
		// The approximations: a narrower Allow may allow; a narrower Deny
		// may not deny.
		{"allow on one resource may allow", []Document{doc(Statement{Effect: Allow, Action: One("s3:GetObject"), Resource: One("arn:aws:s3:::b/*")})}, "s3:GetObject", true},
		{"conditional allow may allow", []Document{doc(Statement{Effect: Allow, Action: One("s3:GetObject"), Resource: One("*"), Condition: cond})}, "s3:GetObject", true},
		{"conditional deny may not deny", []Document{doc(allow("s3:*"), Statement{Effect: Deny, Action: One("s3:*"), Resource: One("*"), Condition: cond})}, "s3:GetObject", true},
		{"deny on one resource may not deny", []Document{doc(allow("s3:*"), Statement{Effect: Deny, Action: One("s3:*"), Resource: One("arn:aws:s3:::b")})}, "s3:GetObject", true},
		{"deny with * among resources denies", []Document{doc(allow("s3:*"), Statement{Effect: Deny, Action: One("s3:*"), Resource: List("arn:aws:s3:::b", "*")})}, "s3:GetObject", false},
		{"NotResource deny may not deny", []Document{doc(allow("s3:*"), Statement{Effect: Deny, Action: One("s3:*"), NotResource: One("arn:aws:s3:::b")})}, "s3:GetObject", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Allowed(tt.docs, tt.action); got != tt.want {
				t.Errorf("Allowed(%s) = %v, want %v", tt.action, got, tt.want)
			}
		})
	}
}
