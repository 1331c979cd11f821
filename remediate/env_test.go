package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
)

const acct = "arn:aws:iam::111122223333:"

// testNow is the time of the tests' apply runs.
var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// env is an emulator serving testdata/<case> and the executors pointed at
// it through a real SDK client.
type env struct {
	t   *testing.T
	ctx context.Context
	srv *emulator.Server
	iam *iam.Client
	ex  map[iamprune.ActionKind]iamprune.Executor
}

func newEnv(t *testing.T, name string) *env {
	t.Helper()
	snap, err := snapshot.LoadDir(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("load snapshot %s: %v", name, err)
	}
	// A fixed emulator clock: the dates it records (a created policy's
	// CreateDate) must not differ between two dumps compared by a test.
	srv, cfg := emulatortest.Start(t, snap, emulator.Options{Now: func() time.Time { return testNow }})
	client := iam.NewFromConfig(cfg)
	return &env{
		t: t, ctx: context.Background(), srv: srv, iam: client,
		ex: Executors(client, Options{Now: func() time.Time { return testNow }, RunID: "run-1"}),
	}
}

func (e *env) dump() string {
	e.t.Helper()
	b, err := e.srv.Dump()
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// sameDump fails the test with the first differing lines of two dumps.
func (e *env) sameDump(what, want, got string) {
	e.t.Helper()
	if want == got {
		return
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			e.t.Fatalf("%s: state differs from line %d:\nwant %s\ngot  %s", what, i+1, wl, gl)
		}
	}
}

func (e *env) writes() []string {
	var out []string
	for _, c := range e.srv.Writes() {
		out = append(out, c.Operation)
	}
	return out
}

func (e *env) inspect(a iamprune.Action) iamprune.Inspection {
	e.t.Helper()
	in, err := e.ex[a.Kind].Inspect(e.ctx, a)
	if err != nil {
		e.t.Fatalf("Inspect %s: %v", a.ID, err)
	}
	return in
}

func record(a iamprune.Action, in iamprune.Inspection, post json.RawMessage) iamprune.ActionRecord {
	return iamprune.ActionRecord{
		RunID: "run-1", ActionID: a.ID, Account: "111122223333", Principal: a.Principal, FindingType: a.FindingType,
		Kind: a.Kind, Target: a.Target, Services: a.Services, Status: iamprune.ResultDone,
		PreImage: in.PreImage, PostImage: post, StartedAt: testNow,
	}
}

// roundTrip applies a, runs check on the changed state, verifies that
// Inspect then says AlreadyDone, rolls back, and verifies the rollback is
// idempotent. It returns the dump before the apply and the rollback's
// outcome; compare the dumps unless the kind cannot restore exactly.
func (e *env) roundTrip(a iamprune.Action, check func(post json.RawMessage)) (before string, out iamprune.RollbackOutcome) {
	e.t.Helper()
	before = e.dump()
	in := e.inspect(a)
	if in.AlreadyDone || in.Skip != "" {
		e.t.Fatalf("Inspect before apply: already done %v, skip %q", in.AlreadyDone, in.Skip)
	}
	if len(e.srv.Writes()) != 0 {
		e.t.Fatalf("Inspect wrote: %v", e.writes())
	}
	post, err := e.ex[a.Kind].Apply(e.ctx, a, in)
	if err != nil {
		e.t.Fatalf("Apply: %v", err)
	}
	check(post)
	if again := e.inspect(a); !again.AlreadyDone {
		e.t.Fatalf("Inspect after apply: not already done (skip %q)", again.Skip)
	}
	rec := record(a, in, post)
	out, err = e.ex[a.Kind].Rollback(e.ctx, rec)
	if err != nil {
		e.t.Fatalf("Rollback: %v", err)
	}
	if out.AlreadyDone {
		e.t.Fatalf("Rollback after apply says already done: %s", out.Detail)
	}
	n := len(e.srv.Writes())
	again, err := e.ex[a.Kind].Rollback(e.ctx, rec)
	if err != nil {
		e.t.Fatalf("second Rollback: %v", err)
	}
	if !again.AlreadyDone {
		e.t.Errorf("second Rollback not already done: %s", again.Detail)
	}
	if w := e.writes(); len(w) != n {
		e.t.Errorf("second Rollback wrote: %v", w[n:])
	}
	return before, out
}

func ptr(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return &t
}
