package emulator

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestGetCallerIdentity(t *testing.T) {
	tests := []struct {
		snapshot, arn, account, userID string
	}{
		// No caller_arn: the snapshot default, a session of the iamprune role.
		{"basic", "arn:aws:sts::111122223333:assumed-role/iamprune/snapshot", "111122223333", "AROAIAMPRUNE000000003:snapshot"},
		{"analyzer", "arn:aws:iam::444455556666:user/ops/dave", "444455556666", "AIDADAVE0000000000001"},
	}
	for _, tt := range tests {
		t.Run(tt.snapshot, func(t *testing.T) {
			env := newEnv(t, tt.snapshot, Options{})
			out, err := env.sts.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatal(err)
			}
			if *out.Arn != tt.arn || *out.Account != tt.account || *out.UserId != tt.userID {
				t.Errorf("got %s %s %s, want %s %s %s", *out.Arn, *out.Account, *out.UserId, tt.arn, tt.account, tt.userID)
			}
			if c := env.srv.Calls(); len(c) != 1 || c[0] != (Call{Service: "sts", Operation: "GetCallerIdentity"}) {
				t.Errorf("calls = %+v", c)
			}
		})
	}
}

func TestCallerUserIDForUnknownPrincipals(t *testing.T) {
	s := New(loadSnapshot(t, "basic"), Options{})
	tests := []struct{ arn, prefix, suffix string }{
		{"arn:aws:sts::111122223333:assumed-role/gone/sess", "AROA", ":sess"},
		{"arn:aws:iam::111122223333:user/gone", "AIDA", ""},
		{"arn:aws:iam::111122223333:root", "111122223333", ""},
	}
	for _, tt := range tests {
		id := s.callerUserID(tt.arn)
		if len(id) < len(tt.prefix) || id[:len(tt.prefix)] != tt.prefix || id[len(id)-len(tt.suffix):] != tt.suffix {
			t.Errorf("callerUserID(%s) = %s, want %s...%s", tt.arn, id, tt.prefix, tt.suffix)
		}
		if again := s.callerUserID(tt.arn); again != id {
			t.Errorf("callerUserID(%s) not stable: %s then %s", tt.arn, id, again)
		}
	}
}
