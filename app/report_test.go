package app

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/snapshot"
	"github.com/iamprune/iamprune/trigger"
)

// A sweep with report.publish set publishes the report after its run:
// the plan it applied and the history with the run it just made.
func TestSweepPublishesReport(t *testing.T) {
	t.Parallel()
	snap, err := snapshot.LoadDir(filepath.Join("..", "examples", "demo", "snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	srv, cfg := emulatortest.Start(t, snap, emulator.Options{Buckets: []string{"reports"}})
	ctx := context.Background()
	yaml := "notifications:\n  require_prior_notice: false\nreport:\n  publish: s3://reports/daily/\n"
	in, err := LoadInputs(ctx, InputOptions{ConfigYAML: yaml, ConfigYAMLName: "test", Now: testNow, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	e := Env{Getenv: env(nil), Now: func() time.Time { return testNow }, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	store := openStore(t)
	h := NewHandler(e, &bytes.Buffer{}, iamprune.LockOwner{Host: "test", PID: 1})
	res, err := h.Sweep(ctx, &Invocation{Inputs: in, AWS: cfg, Counter: awsapi.NewCounter(), Store: store}, &trigger.Sweep{ID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run == nil || res.Run.RunID == "" {
		t.Fatalf("the sweep applied nothing: %+v", res)
	}
	for _, key := range []string{"daily/report.html", "daily/2026-11-28/report.html"} {
		body, _, ok := srv.Object("reports", key)
		if !ok {
			t.Errorf("s3://reports/%s not published; log:\n%s", key, logs.String())
			continue
		}
		// The history has the sweep's own run.
		if !strings.Contains(string(body), res.Run.RunID) || !strings.Contains(string(body), `id="chart-weekly"`) {
			t.Errorf("s3://reports/%s lacks the sweep's run %s or the history", key, res.Run.RunID)
		}
	}
}

// A failed publish is logged, and the sweep's result stands.
func TestPublishSweepReportFailureIsLogged(t *testing.T) {
	t.Parallel()
	_, e := demoAccount(t)
	var logs bytes.Buffer
	e.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p := planDemo(t, e, nil)
	p.Inputs.Config.Report.Publish = "s3://no-such-bucket/x/"
	cfg, _, _ := e.LoadAWS(context.Background())
	NewHandler(e, &bytes.Buffer{}, iamprune.LockOwner{}).PublishSweepReport(context.Background(), &Invocation{Inputs: p.Inputs, AWS: cfg}, p)
	if !strings.Contains(logs.String(), "cannot publish the sweep's report") || !strings.Contains(logs.String(), "no-such-bucket") {
		t.Errorf("log:\n%s", logs.String())
	}
}
