package app

import (
	"cmp"
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/exceptions"
)

// FunctionDefaultState is the SQLite store the Lambda function uses when
// IAMPRUNE_STATE is unset: the only writable place in Lambda, and not
// durable.
const FunctionDefaultState = "/tmp/iamprune/state.db"

// Function sets up the Lambda function's invocations from its
// environment, read through Env.Getenv: IAMPRUNE_CONFIG_YAML (inline) or
// IAMPRUNE_CONFIG (a path or s3://bucket/key), IAMPRUNE_NOW,
// IAMPRUNE_STATE, IAMPRUNE_SNS_TOPIC_ARN and IAMPRUNE_SWEEP_QUEUE_URL (the
// queue a scheduled sweep fans out to, when the config names none). It keeps the S3 exception
// lists, by ETag, across warm invocations; it is not safe for concurrent
// use (the runtime invokes one at a time).
type Function struct {
	Env Env
	// ConfigureAWS applies the config's aws block to the retry policy.
	ConfigureAWS func(iamprune.AWS)
	excs         *exceptions.Remote
}

// Setup loads the AWS configuration, the inputs and the state store of
// one invocation; the caller closes it.
func (f *Function) Setup(ctx context.Context) (*Invocation, error) {
	cfg, counter, err := f.Env.LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	in, err := f.inputs(ctx, cfg)
	if err != nil {
		return nil, err
	}
	state := f.Env.getenv("IAMPRUNE_STATE")
	if state == "" {
		state = FunctionDefaultState
		f.Env.log().Warn("IAMPRUNE_STATE is not set: using " + FunctionDefaultState + ", which does not survive the execution environment; the journal, locks and notice log need a durable store: set IAMPRUNE_STATE=dynamodb://TABLE")
	}
	store, err := OpenStore(ctx, f.Env, state, false)
	if err != nil {
		return nil, err
	}
	return &Invocation{Inputs: in, AWS: cfg, Counter: counter, Store: store}, nil
}

// inputs reads the config, its exceptions and IAMPRUNE_NOW.
func (f *Function) inputs(ctx context.Context, awsCfg aws.Config) (Inputs, error) {
	getenv := f.Env.getenv
	now, err := FunctionNow(getenv("IAMPRUNE_NOW"))
	if err != nil {
		return Inputs{}, err
	}
	inline := getenv("IAMPRUNE_CONFIG_YAML")
	if getenv("IAMPRUNE_CONFIG") != "" && inline != "" {
		return Inputs{}, iamprune.Errorf(iamprune.EINVALID, "lambda: IAMPRUNE_CONFIG and IAMPRUNE_CONFIG_YAML are both set; set one")
	}
	objects := awsapi.NewS3Object(awsCfg)
	if f.excs == nil {
		f.excs = exceptions.NewRemote(awsapi.NewCachedObjects(objects))
	}
	in, err := LoadInputs(ctx, InputOptions{
		ConfigYAML:     inline,
		ConfigYAMLName: "IAMPRUNE_CONFIG_YAML",
		Now:            now,
		Getenv:         getenv,
		Clock:          f.Env.now,
		Logger:         f.Env.log(),
		Objects:        func(context.Context) (*awsapi.S3Object, error) { return objects, nil },
		Remote:         f.excs,
		ConfigureAWS:   f.ConfigureAWS,
	})
	if err != nil {
		return Inputs{}, err
	}
	if err := WithStackTopic(&in.Config.Notifications, getenv("IAMPRUNE_SNS_TOPIC_ARN")); err != nil {
		return Inputs{}, err
	}
	// The stack's sweep queue, unless the config names one.
	in.Config.Sweep.QueueURL = cmp.Or(in.Config.Sweep.QueueURL, getenv("IAMPRUNE_SWEEP_QUEUE_URL"))
	return in, nil
}

// FunctionNow reads IAMPRUNE_NOW: RFC 3339, or "" for the real clock
// (zero).
func FunctionNow(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, iamprune.Errorf(iamprune.EINVALID, "lambda: IAMPRUNE_NOW: %q is not an RFC 3339 time (e.g. 2026-11-28T00:00:00Z)", s)
	}
	return t.UTC(), nil
}
