// Command bench measures iamprune on generated organisations and prints
// the table of docs/performance.md. scripts/bench builds iamprune and runs
// it; see docs/performance.md.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/iamprune/iamprune/internal/bench"
)

func main() {
	bin := flag.String("iamprune", "iamprune", "the iamprune binary to measure")
	sizes := flag.String("snapshot-sizes", "1000,10000,100000", "findings of the snapshot-planning runs (multiples of 5)")
	accounts := flag.Int("accounts", 10, "member accounts of the API organisation")
	units := flag.Int("units", 40, "units of 5 findings per member account of the API organisation")
	latency := flag.String("latency", "20ms", "emulator --latency of the API runs")
	limits := flag.String("rate-limit", bench.DefaultRateLimit, "emulator --rate-limit of the rate-limited run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "iamprune-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	r := &bench.Runner{Binary: *bin, Dir: dir, Log: os.Stderr}
	var results []bench.Result
	for _, s := range strings.Split(*sizes, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n < bench.FindingsUnit {
			fail(fmt.Errorf("-snapshot-sizes: %q is not a number of findings", s))
		}
		res, err := r.SnapshotPlan(ctx, "snapshot plan", bench.Spec{Units: n / bench.FindingsUnit})
		if err != nil {
			fail(err)
		}
		results = append(results, res)
	}
	org, err := bench.Write(dir, bench.Spec{Accounts: *accounts, Units: *units})
	if err != nil {
		fail(err)
	}
	base, err := r.APIPlan(ctx, "API plan", org, bench.Emulation{})
	if err != nil {
		fail(err)
	}
	slow, err := r.APIPlan(ctx, "API plan, latency "+*latency, org, bench.Emulation{Latency: *latency})
	if err != nil {
		fail(err)
	}
	limited, err := r.APIPlan(ctx, "API plan, latency "+*latency+", rate-limited", org, bench.Emulation{Latency: *latency, RateLimit: *limits})
	if err != nil {
		fail(err)
	}
	for _, x := range []*bench.Result{&slow, &limited} {
		if !bytes.Equal(x.Plan, base.Plan) {
			x.Note = "PLAN DIFFERS"
		}
	}
	results = append(results, base, slow, limited)
	results = append(results, bench.FanOut(ctx, r, org)...)
	fmt.Println()
	bench.WriteTable(os.Stdout, results)
	fmt.Printf("\nrate limits: %s; latency %s; API organisation: %d member accounts x %d findings\n", *limits, *latency, *accounts, *units*bench.FindingsUnit)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
