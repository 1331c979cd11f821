package emulatortest_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

func TestStartServesTheSnapshot(t *testing.T) {
	snap := &snapshot.Snapshot{Meta: snapshot.Meta{AccountID: "111122223333", Region: "eu-west-1"}}
	srv, cfg := emulatortest.Start(t, snap, emulator.Options{})
	if cfg.Region != "eu-west-1" {
		t.Errorf("region %q, want the snapshot's", cfg.Region)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Account); got != "111122223333" || srv.Account() != got {
		t.Errorf("caller account %q, server account %q, want 111122223333", got, srv.Account())
	}
}
