package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/config"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/examples"
	"github.com/iamprune/iamprune/exceptions"
	"github.com/iamprune/iamprune/render"
	"github.com/iamprune/iamprune/snapshot"
	"github.com/iamprune/iamprune/sqlite"
)

const demoRoot = "examples/demo"

func (m *Main) demoCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the reference workshop scenario end to end, offline, in seconds",
		Long: `demo plays the Access Analyzer workshop's scenario against an embedded demo
account (examples/demo). It starts the emulator in-process and talks to it
through the real AWS SDK clients, exactly as to a real account:

  1. plan: read the findings and IAM facts, and decide;
  2. apply: make the remediations, journaled in a throw-away state store;
  3. show the changed IAM state, read back through the IAM API;
  4. apply again: everything is already done, no write call;
  5. rollback: undo the run, and compare the account with its state before.

The plan's clock is the snapshot's capture time, so the plan is
reproducible. Nothing leaves this machine; only the in-memory emulator
changes. With -o json or -o markdown, only the plan is printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := render.ByName(output)
			if err != nil {
				return err
			}
			d, err := m.startDemo(cmd.Context())
			if err != nil {
				return err
			}
			defer d.close()
			res, err := d.plan(cmd.Context(), m, nil)
			if err != nil {
				return err
			}
			if err := r.Render(m.Stdout, res.plan); err != nil {
				return err
			}
			if output != "table" {
				return nil
			}
			return m.demoStory(cmd.Context(), d, res)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table (the whole story), json or markdown (the plan only)")
	return cmd
}

// demoEnv is the demo account served by an in-process emulator.
type demoEnv struct {
	snap    *snapshot.Snapshot
	srv     *emulator.Server
	sess    *awsSession
	in      planInputs
	stateDB string
	close   func()
}

func (m *Main) startDemo(ctx context.Context) (*demoEnv, error) {
	demo, err := fs.Sub(examples.Demo, "demo")
	if err != nil {
		return nil, err
	}
	snapFS, err := fs.Sub(demo, "snapshot")
	if err != nil {
		return nil, err
	}
	snap, err := snapshot.Load(snapFS, demoRoot+"/snapshot")
	if err != nil {
		return nil, err
	}
	cfgData, err := fs.ReadFile(demo, "iamprune.yaml")
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse(cfgData, demoRoot+"/iamprune.yaml")
	if err != nil {
		return nil, err
	}
	excData, err := fs.ReadFile(demo, cfg.Exceptions)
	if err != nil {
		return nil, err
	}
	excs, err := exceptions.ParseYAML(excData, demoRoot+"/"+cfg.Exceptions)
	if err != nil {
		return nil, err
	}
	srv := emulator.New(snap, emulator.Options{PageSize: 5})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: cannot start the emulator: %w", err)
	}
	dir, err := os.MkdirTemp("", "iamprune-demo-")
	if err != nil {
		return nil, err
	}
	d := &demoEnv{snap: snap, srv: srv, stateDB: filepath.Join(dir, "state.db"),
		in: planInputs{cfg: cfg, exceptions: excs, now: snap.Meta.CapturedAt.UTC()}}
	d.close = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(sctx)
		os.RemoveAll(dir)
	}
	awsCfg, counter, err := awsapi.LoadConfig(ctx, awsapi.Options{
		Region:      snap.Meta.Region,
		Endpoint:    url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIADEMODEMODEMO", "demo", ""),
		Logger:      m.log(),
	})
	if err != nil {
		d.close()
		return nil, err
	}
	d.sess = newAWSSession(awsCfg, counter, cfg.Analyzer)
	return d, nil
}

type demoResult struct {
	plan       *iamprune.Plan
	caller     string
	account    string
	calls      int
	duplicates int
}

// plan reads the account through the API path, as 'iamprune plan' does.
// Each call uses a fresh session, as a new process would.
func (d *demoEnv) plan(ctx context.Context, m *Main, store iamprune.Store) (*demoResult, error) {
	sess := newAWSSession(d.sess.cfg, d.sess.counter, d.in.cfg.Analyzer)
	d.sess = sess
	before, calls := len(d.srv.Calls()), sess.counter.Total()
	plan, facts, err := m.decide(ctx, sess.findings, sess.facts, d.in, store, "the emulator serving "+demoRoot+"/snapshot")
	if err != nil {
		return nil, err
	}
	dups := 0
	seen := map[emulator.Call]bool{}
	for _, c := range d.srv.Calls()[before:] {
		if seen[c] {
			dups++
		}
		seen[c] = true
	}
	return &demoResult{plan: plan, caller: facts.Caller, account: facts.Account, calls: sess.counter.Total() - calls, duplicates: dups}, nil
}

// demoStory applies the plan, shows the changes, re-applies and rolls back.
func (m *Main) demoStory(ctx context.Context, d *demoEnv, res *demoResult) error {
	w := m.Stdout
	c := res.plan.Counts()
	fmt.Fprintf(w, "\n== 1. plan\n")
	fmt.Fprintf(w, "iamprune started its AWS emulator on a loopback port, served the demo account\n")
	fmt.Fprintf(w, "from %s/snapshot, and read it through the real AWS SDK clients:\n", demoRoot)
	fmt.Fprintf(w, "%d API calls, %d repeated. %d item(s) are notified, %d exempt through\n", res.calls, res.duplicates, c[iamprune.KindNotify], c[iamprune.KindExempt])
	fmt.Fprintf(w, "%s/exceptions.yaml, %d protected, %d skipped.\n", demoRoot, c[iamprune.KindProtected], c[iamprune.KindSkip])

	store, err := sqlite.Open(d.stateDB)
	if err != nil {
		return err
	}
	defer store.Close()
	before, err := d.srv.Dump()
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "\n== 2. apply --yes (journaled in a throw-away state store)\n")
	var auditLog bytes.Buffer
	run := func(plan *iamprune.Plan) (*iamprune.RunResult, error) {
		p := &planned{plan: plan, in: d.in, aws: d.sess, caller: res.caller}
		opts := m.applyOptions(p, store, res.account, res.caller, &auditLog)
		return apply.Apply(ctx, plan, opts)
	}
	applied, err := run(res.plan)
	if err != nil {
		return err
	}
	if err := render.Run(w, applied, "table", "applied"); err != nil {
		return err
	}

	fmt.Fprintf(w, "\n== 3. the account now, read back through the IAM API\n")
	m.describeChanges(ctx, iam.NewFromConfig(d.sess.cfg), applied)

	fmt.Fprintf(w, "\n== 4. plan and apply again\n")
	writes := len(d.srv.Writes())
	again, err := d.plan(ctx, m, store)
	if err != nil {
		return err
	}
	reapplied, err := run(again.plan)
	if err != nil {
		return err
	}
	n := 0
	for _, a := range reapplied.Results {
		if a.Status == iamprune.ResultAlreadyDone {
			n++
		}
	}
	fmt.Fprintf(w, "The new plan shows the changes as done: %d of %d already done, %d write calls.\n", n, len(reapplied.Results), len(d.srv.Writes())-writes)

	fmt.Fprintf(w, "\n== 5. rollback %s --yes\n", applied.RunID)
	p := &planned{in: d.in, aws: d.sess, caller: res.caller}
	rolled, err := apply.Rollback(ctx, applied.RunID, nil, m.applyOptions(p, store, res.account, res.caller, &auditLog))
	if err != nil {
		return err
	}
	if err := render.Run(w, rolled, "table", "rolled back"); err != nil {
		return err
	}
	after, err := d.srv.Dump()
	if err != nil {
		return err
	}
	diff, err := emulator.DumpDiff(before, after)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nCompared with before apply, the account differs only in: %s\n", strings.Join(diff, ", "))
	fmt.Fprintf(w, "(a deleted console password cannot come back as it was: rollback recreates the\n")
	fmt.Fprintf(w, "login profile with a one-time password that must be changed at first sign-in).\n")
	fmt.Fprintf(w, "%d audit events were written as JSON lines (stderr or --audit-log FILE in real runs).\n", bytes.Count(auditLog.Bytes(), []byte("\n")))
	fmt.Fprintf(w, "\nTry it yourself:\n")
	fmt.Fprintf(w, "  iamprune emulator --snapshot %s/snapshot --listen 127.0.0.1:4566 &\n", demoRoot)
	fmt.Fprintf(w, "  export AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x\n")
	fmt.Fprintf(w, "  iamprune plan --config %s/iamprune.yaml --now 2026-11-28 --out plan.json\n", demoRoot)
	fmt.Fprintf(w, "  iamprune apply plan.json --config %s/iamprune.yaml --state demo.db\n", demoRoot)
	return nil
}
