package app

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuditLogPath(t *testing.T) {
	t.Parallel()
	env := Env{Getenv: func(k string) string {
		if k == "IAMPRUNE_STATE" {
			return "/var/lib/iamprune/env.db"
		}
		return ""
	}}
	for _, tt := range []struct{ flag, state, want string }{
		{"", "/srv/state/x.db", "/srv/state/" + AuditLogName},
		{"", "", "/var/lib/iamprune/" + AuditLogName},
		{"-", "/srv/state/x.db", ""},
		{"audit.jsonl", "/srv/state/x.db", "audit.jsonl"},
	} {
		got, err := AuditLogPath(env, tt.flag, tt.state)
		if err != nil || got != filepath.FromSlash(tt.want) {
			t.Errorf("AuditLogPath(%q, %q) = %q, %v; want %q", tt.flag, tt.state, got, err, tt.want)
		}
	}
	// A DynamoDB table has no directory: the default state directory.
	got, err := AuditLogPath(env, "", "dynamodb://iamprune-state")
	if err != nil || !strings.HasSuffix(got, filepath.Join("iamprune", AuditLogName)) {
		t.Errorf("dynamodb: %q, %v", got, err)
	}
	if _, err := AuditLogPath(env, "", "s3://bucket/state"); err == nil {
		t.Error("a bad state URL was accepted")
	}
}

func TestCredentialsHint(t *testing.T) {
	t.Parallel()
	sdk := errors.New("accessanalyzer: cannot list analyzers: operation error AccessAnalyzer: ListAnalyzers, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found")
	if h := CredentialsHint(sdk); !strings.Contains(h, "aws sso login") || !strings.Contains(h, "--profile") || !strings.Contains(h, "AWS_ACCESS_KEY_ID") {
		t.Errorf("hint %q", h)
	}
	for _, err := range []error{nil, errors.New("AccessDenied: not authorized to perform iam:UpdateAccessKey")} {
		if h := CredentialsHint(err); h != "" {
			t.Errorf("CredentialsHint(%v) = %q, want none", err, h)
		}
	}
}
