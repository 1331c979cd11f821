package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

// BenchmarkPlanThroughAPI plans the demo account through the real SDK and
// the emulator, and reports the AWS calls one finding costs: the number to
// watch when scaling to organisations.
func BenchmarkPlanThroughAPI(b *testing.B) {
	snap, err := snapshot.LoadDir("../../examples/demo/snapshot")
	if err != nil {
		b.Fatal(err)
	}
	srv := emulator.New(snap, emulator.Options{})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close(context.Background())
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"} {
		b.Setenv(k, v)
	}
	m := &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }, Now: time.Now}
	srv.ResetCalls()
	runs := 0
	for b.Loop() {
		if code := m.Run(context.Background(), []string{"plan", "--now", demoNow, "-o", "json", "--log-level", "error"}); code != 0 {
			b.Fatalf("exit %d", code)
		}
		runs++
	}
	b.ReportMetric(float64(len(srv.Calls()))/float64(runs*len(snap.FindingList)), "calls/finding")
}

// BenchmarkPlanThrottled plans the demo account through the emulator with
// none, a third and half of all requests throttled, and reports per run
// the calls answered, the throttled responses (each one retried), and the
// wall time. Backoff and rate are the test's scaled ones (retry_test.go),
// so the time measures the retry machinery, not the waits production makes.
func BenchmarkPlanThrottled(b *testing.B) {
	snap, err := snapshot.LoadDir("../../examples/demo/snapshot")
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		every int
	}{{"none", 0}, {"33pct", 3}, {"50pct", 2}} {
		b.Run(tt.name, func(b *testing.B) {
			srv := emulator.New(snap, emulator.Options{ThrottleEvery: tt.every})
			url, err := srv.Start("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close(context.Background())
			for k, v := range map[string]string{"AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
				"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"} {
				b.Setenv(k, v)
			}
			m := &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }, Now: time.Now}
			srv.ResetCalls()
			runs := 0
			start := time.Now()
			for b.Loop() {
				if code := m.Run(context.Background(), []string{"plan", "--now", demoNow, "-o", "json", "--log-level", "error"}); code != 0 {
					b.Fatalf("exit %d with every %d requests throttled", code, tt.every)
				}
				runs++
			}
			n := float64(runs)
			b.ReportMetric(float64(len(srv.Calls()))/n, "calls/run")
			b.ReportMetric(float64(len(srv.Throttled()))/n, "throttled/run")
			b.ReportMetric(float64(len(srv.Throttled()))/n, "retries/run")
			b.ReportMetric(float64(time.Since(start).Milliseconds())/n, "ms/run")
		})
	}
}
