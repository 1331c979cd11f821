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
	workers := flag.Int("workers", 1, "iamprune worker processes of the fanned-out sweep")
	concurrency := flag.Int("concurrency", 15, "worker --concurrency of the fanned-out sweep")
	pageSize := flag.Int("page-size", 20, "sweep --page-size of the fanned-out sweep (0: one message per account)")
	verbose := flag.Bool("v", false, "log the sweep workers' progress and the rate-limit buckets")
	plans := flag.Bool("api-plans", true, "measure the API plans")
	fanout := flag.Bool("fanout", true, "measure the fanned-out sweep (and the apply it is compared with)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "iamprune-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	r := &bench.Runner{Binary: *bin, Dir: dir, Log: os.Stderr, Verbose: *verbose}
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
	if *plans {
		results = append(results, apiPlans(ctx, r, org, *latency, *limits)...)
	}
	if *fanout {
		results = append(results, fanOut(ctx, r, org, bench.Emulation{Latency: *latency, RateLimit: *limits}, bench.FanOutSpec{Workers: *workers, Concurrency: *concurrency, PageSize: *pageSize})...)
	}
	fmt.Println()
	bench.WriteTable(os.Stdout, results)
	fmt.Printf("\nrate limits: %s; latency %s; API organisation: %d member accounts x %d findings\n", *limits, *latency, *accounts, *units*bench.FindingsUnit)
}

// apiPlans plans org through the emulator as is, with latency, and with
// latency and rate limits; the three plans must be identical.
func apiPlans(ctx context.Context, r *bench.Runner, org *bench.Org, latency, limits string) []bench.Result {
	base, err := r.APIPlan(ctx, "API plan", org, bench.Emulation{})
	if err != nil {
		fail(err)
	}
	slow, err := r.APIPlan(ctx, "API plan, latency "+latency, org, bench.Emulation{Latency: latency})
	if err != nil {
		fail(err)
	}
	limited, err := r.APIPlan(ctx, "API plan, latency "+latency+", rate-limited", org, bench.Emulation{Latency: latency, RateLimit: limits})
	if err != nil {
		fail(err)
	}
	for _, x := range []*bench.Result{&slow, &limited} {
		if !bytes.Equal(x.Plan, base.Plan) {
			x.Note = "PLAN DIFFERS"
		}
	}
	return []bench.Result{base, slow, limited}
}

// fanOut applies org unthrottled in one process, then sweeps it fanned
// out over SQS under e; the sweep must leave every account as the apply
// did.
func fanOut(ctx context.Context, r *bench.Runner, org *bench.Org, e bench.Emulation, spec bench.FanOutSpec) []bench.Result {
	ref, err := r.Apply(ctx, "API apply", org, bench.Emulation{})
	if err != nil {
		fail(err)
	}
	name := fmt.Sprintf("fanned-out sweep (plan and apply), pages of %d, %d worker(s) x %d, latency %s, rate-limited", spec.PageSize, spec.Workers, spec.Concurrency, e.Latency)
	sw, err := r.FanOut(ctx, name, org, e, spec)
	if err != nil {
		fail(err)
	}
	if !bytes.Equal(bench.Normalise(sw.Dump), bench.Normalise(ref.Dump)) {
		sw.Note = "RESULT DIFFERS"
	}
	if r.Verbose {
		for _, b := range sw.Buckets {
			fmt.Fprintf(os.Stderr, "bucket %s %s: %d admitted, %d throttled\n", b.Account, b.RateLimit, b.Admitted, b.Throttled)
		}
	}
	return []bench.Result{ref, sw}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
