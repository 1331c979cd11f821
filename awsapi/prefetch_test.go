package awsapi

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

// A read ahead started while the same user's keys are being listed the
// ordinary way waits for that listing: ListAccessKeys is called once.
func TestReadAheadWaitsForAListingInFlight(t *testing.T) {
	isolateEnv(t)
	snap, err := snapshot.LoadDir(syntheticAccount(t, 5))
	if err != nil {
		t.Fatal(err)
	}
	emu := emulator.New(snap, emulator.Options{})
	emu.SetLatency("iam:ListAccessKeys", 300*time.Millisecond)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	ctx := context.Background()
	cfg, _, err := LoadConfig(ctx, Options{Region: "eu-west-1", Endpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	// svc-0 of the synthetic account has access keys.
	user := &iamprune.Principal{ARN: "arn:aws:iam::111122223333:user/svc-0", Name: "svc-0", Kind: iamprune.KindUser}
	f := NewFacts(cfg)
	f.principals = map[string]*iamprune.Principal{user.ARN: user}

	done := make(chan error, 1)
	go func() {
		_, err := f.listKeys(ctx, user.Name)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // the ordinary listing is in flight
	f.listKeysAhead(ctx, []string{user.ARN})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := f.listKeys(ctx, user.Name); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // a second listing, if one was started, is answered
	n := 0
	for _, c := range emu.Calls() {
		if c.Operation == "ListAccessKeys" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("ListAccessKeys called %d times, want 1", n)
	}
}
