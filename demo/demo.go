// Package demo plays the reference workshop scenario end to end against
// the embedded demo account (examples/demo), served by an in-process
// emulator and read through the real AWS SDK clients: plan, notify, apply a
// week later, re-apply, roll back, and plan again. It is the use case behind
// 'iamprune demo'.
//
// Who imports whom: demo imports app and what app orchestrates, plus
// emulator and examples, which app may not import; only cmd imports demo.
// Its streams, clock, logger, retry policy and lock owner are injected
// (Options), so it reads no flags and no process environment.
package demo

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/config"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/examples"
	"github.com/iamprune/iamprune/exceptions"
	"github.com/iamprune/iamprune/render"
	"github.com/iamprune/iamprune/snapshot"
)

// Root is where the demo's files live in the repository, as the story
// names them.
const Root = "examples/demo"

// Options are what the demo takes from its caller.
type Options struct {
	// Out receives the plan and the story.
	Out io.Writer
	// Output is the plan's format: table (the whole story), json or
	// markdown (the plan only).
	Output string
	// Env is the clock, the logger and the environment of the use cases;
	// its LoadAWS is not used: the demo reaches its own emulator.
	Env app.Env
	// Policy is the AWS retry policy; nil for the defaults.
	Policy *awsapi.Policy
	// Owner is recorded with the run locks.
	Owner iamprune.LockOwner
	// Report, when set, is where the story writes the HTML report of its
	// last plan and of its state store ('iamprune report').
	Report string
}

// Run plans the demo account on its capture day and renders the plan in
// o.Output; in table format it then tells the whole story.
func Run(ctx context.Context, o Options) error {
	r, err := render.ByName(o.Output)
	if err != nil {
		return err
	}
	d, err := start(ctx, o)
	if err != nil {
		return err
	}
	defer d.close()
	res, err := d.plan(ctx, o, nil)
	if err != nil {
		return err
	}
	if err := r.Render(o.Out, res.plan); err != nil {
		return err
	}
	if o.Output != "table" {
		return nil
	}
	return story(ctx, o, d, res)
}

// demoEnv is the demo account served by an in-process emulator.
type demoEnv struct {
	snap    *snapshot.Snapshot
	srv     *emulator.Server
	sess    *app.Session
	in      app.Inputs
	stateDB string
	close   func()
}

func start(ctx context.Context, o Options) (*demoEnv, error) {
	snap, cfg, excs, err := loadDemo()
	if err != nil {
		return nil, err
	}
	var topics []string
	for _, ch := range cfg.Notifications.Channels {
		if ch.Type == iamprune.ChannelSNS {
			topics = append(topics, ch.TopicARN[strings.LastIndex(ch.TopicARN, ":")+1:])
		}
	}
	srv := emulator.New(snap, emulator.Options{PageSize: 5, Topics: topics})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: cannot start the emulator: %w", err)
	}
	dir, err := os.MkdirTemp("", "iamprune-demo-")
	if err != nil {
		return nil, err
	}
	d := &demoEnv{snap: snap, srv: srv, stateDB: filepath.Join(dir, "state.db"),
		in: app.Inputs{Config: cfg, Exceptions: excs, Now: snap.Meta.CapturedAt.UTC()}}
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
		Logger:      o.Env.Logger,
		Policy:      o.Policy,
	})
	if err != nil {
		d.close()
		return nil, err
	}
	d.sess = app.NewSession(awsCfg, counter, cfg.Analyzer)
	return d, nil
}

// loadDemo reads the demo's snapshot, config and exceptions, embedded in
// the binary.
func loadDemo() (*snapshot.Snapshot, iamprune.Config, []iamprune.Exception, error) {
	demo, err := fs.Sub(examples.Demo, "demo")
	if err != nil {
		return nil, iamprune.Config{}, nil, err
	}
	snapFS, err := fs.Sub(demo, "snapshot")
	if err != nil {
		return nil, iamprune.Config{}, nil, err
	}
	snap, err := snapshot.Load(snapFS, Root+"/snapshot")
	if err != nil {
		return nil, iamprune.Config{}, nil, err
	}
	cfgData, err := fs.ReadFile(demo, "iamprune.yaml")
	if err != nil {
		return nil, iamprune.Config{}, nil, err
	}
	cfg, err := config.Parse(cfgData, Root+"/iamprune.yaml")
	if err != nil {
		return nil, iamprune.Config{}, nil, err
	}
	excData, err := fs.ReadFile(demo, cfg.Exceptions)
	if err != nil {
		return nil, iamprune.Config{}, nil, err
	}
	excs, err := exceptions.ParseYAML(excData, Root+"/"+cfg.Exceptions)
	if err != nil {
		return nil, iamprune.Config{}, nil, err
	}
	return snap, cfg, excs, nil
}

type demoResult struct {
	plan       *iamprune.Plan
	facts      *iamprune.Facts
	caller     string
	account    string
	calls      int
	duplicates int
}

// plan reads the account through the API path, as 'iamprune plan' does.
// Each call uses a fresh session, as a new process would.
func (d *demoEnv) plan(ctx context.Context, o Options, store iamprune.Store) (*demoResult, error) {
	sess := app.NewSession(d.sess.AWS, d.sess.Counter, d.in.Config.Analyzer)
	d.sess = sess
	before, calls := len(d.srv.Calls()), sess.Counter.Total()
	plan, facts, err := app.Decide(ctx, sess.Findings, sess.Facts, d.in, store, "the emulator serving "+Root+"/snapshot", o.Env.Logger)
	if err != nil {
		return nil, err
	}
	dups := len(d.srv.DuplicatesSince(before))
	return &demoResult{plan: plan, facts: facts, caller: facts.Caller, account: facts.Account, calls: sess.Counter.Total() - calls, duplicates: dups}, nil
}
