package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
	"github.com/iamprune/iamprune/sqlite"
)

// demoAccount serves the demo snapshot from an in-process emulator and
// returns the Env that reaches it: no process environment is read (not
// even the SDK's), so tests run in parallel.
func demoAccount(t *testing.T) (*emulator.Server, Env) {
	t.Helper()
	snap, err := snapshot.LoadDir(filepath.Join("..", "examples", "demo", "snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	srv, cfg := emulatortest.Start(t, snap, emulator.Options{})
	load := func(context.Context) (aws.Config, *awsapi.Counter, error) {
		c := awsapi.NewCounter()
		cfg := cfg.Copy()
		c.Attach(&cfg)
		return cfg, c, nil
	}
	now := func() time.Time { return testNow }
	return srv, Env{Getenv: env(nil), Now: now, LoadAWS: load}
}

// planDemo plans the demo account with remediation due at once.
func planDemo(t *testing.T, e Env, store iamprune.Store) *Planned {
	t.Helper()
	ctx := context.Background()
	in, err := LoadInputs(ctx, InputOptions{ConfigYAML: "notifications:\n  require_prior_notice: false\n", ConfigYAMLName: "test", Now: testNow, Getenv: e.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(ctx, in, PlanOptions{Store: store, LoadAWS: e.LoadAWS})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func openStore(t *testing.T) iamprune.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A refused consent stops the run before anything is written: no IAM
// call, no journal, no run.
func TestApplyConsentRefusedChangesNothing(t *testing.T) {
	t.Parallel()
	srv, e := demoAccount(t)
	store := openStore(t)
	p := planDemo(t, e, store)
	refused := errors.New("no")
	var asked Consent
	_, err := Apply(context.Background(), e, ApplyRequest{Planned: p, Store: store, MaxActions: -1, Audit: &strings.Builder{},
		Consent: func(c Consent) error { asked = c; return refused }})
	if !errors.Is(err, refused) {
		t.Fatalf("err = %v, want the consent hook's", err)
	}
	if asked.Account != "111122223333" || len(asked.What) == 0 || !strings.HasPrefix(asked.What[0], "apply ") {
		t.Errorf("consent asked %+v, want the account and the changes", asked)
	}
	if w := srv.Writes(); len(w) != 0 {
		t.Errorf("refused apply made write calls: %v", w)
	}
	runs, err := store.Runs(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Errorf("refused apply recorded runs: %+v", runs)
	}
}

// Consent given, the changes are made and journaled, and the result says
// which account; applying the same plan again changes nothing more.
func TestApplyConsentGiven(t *testing.T) {
	t.Parallel()
	srv, e := demoAccount(t)
	store := openStore(t)
	p := planDemo(t, e, store)
	var n int
	res, err := Apply(context.Background(), e, ApplyRequest{Planned: p, Store: store, MaxActions: -1, Audit: &strings.Builder{},
		Consent: func(Consent) error { n++; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || res.Account != "111122223333" || res.Problems() {
		t.Fatalf("consent asked %d time(s), result %+v", n, res)
	}
	done := 0
	for _, a := range res.Run.Results {
		if a.Status == iamprune.ResultDone {
			done++
		}
	}
	if done == 0 || len(srv.Writes()) == 0 {
		t.Fatalf("nothing done: %+v", res.Run.Results)
	}
	writes := len(srv.Writes())
	again := planDemo(t, e, store)
	var c Consent
	if _, err := Apply(context.Background(), e, ApplyRequest{Planned: again, Store: store, MaxActions: -1, Audit: &strings.Builder{},
		Consent: func(got Consent) error { c = got; return nil }}); err != nil {
		t.Fatal(err)
	}
	if len(c.What) != 0 {
		t.Errorf("second apply asked consent to %v, want nothing new", c.What)
	}
	if w := srv.Writes()[writes:]; len(w) != 0 {
		t.Errorf("second apply wrote %v", w)
	}
}

// A rollback whose consent is refused changes nothing back.
func TestRollbackConsentRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, e := demoAccount(t)
	store := openStore(t)
	res, err := Apply(ctx, e, ApplyRequest{Planned: planDemo(t, e, store), Store: store, MaxActions: -1, Audit: &strings.Builder{}})
	if err != nil {
		t.Fatal(err)
	}
	writes := len(srv.Writes())
	refused := errors.New("no")
	var asked Consent
	_, err = Rollback(ctx, e, RollbackRequest{Store: store, RunID: res.Run.RunID, Config: iamprune.DefaultConfig(), HoldDays: -1, Audit: &strings.Builder{},
		Consent: func(c Consent) error { asked = c; return refused }})
	if !errors.Is(err, refused) {
		t.Fatalf("err = %v, want the consent hook's", err)
	}
	if len(asked.What) != 1 || !strings.Contains(asked.What[0], "roll back run "+res.Run.RunID) {
		t.Errorf("consent asked %+v", asked)
	}
	if w := srv.Writes()[writes:]; len(w) != 0 {
		t.Errorf("refused rollback wrote %v", w)
	}
	got, err := Rollback(ctx, e, RollbackRequest{Store: store, RunID: res.Run.RunID, Config: iamprune.DefaultConfig(), HoldDays: 0, Audit: &strings.Builder{}})
	if err != nil {
		t.Fatal(err)
	}
	if got.HoldDays != 0 || got.Run.Failed() || len(got.Run.Results) == 0 {
		t.Errorf("rollback: %+v", got)
	}
}
