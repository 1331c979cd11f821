package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

func (m *Main) emulatorCommand() *cobra.Command {
	o := &EmulatorOptions{}
	cmd := &cobra.Command{
		Use:     "emulator",
		Short:   "Serve a snapshot over the real AWS wire protocols (IAM, Access Analyzer, STS, SNS, S3, SQS, Security Hub)",
		Long:    emulatorLong,
		Example: emulatorExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.IO, o.Log = m.streams(), m.log()
			return runEmulator(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "snapshot", "", "snapshot folder to serve (required)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:4566", "HOST:PORT to listen on (port 0 picks a free one)")
	f.IntVar(&o.pageSize, "page-size", 0, "page size for paginated operations (default: AWS's defaults)")
	f.IntVar(&o.throttleEvery, "throttle-every", 0, "answer every Nth request with a throttling error, to exercise retries (0: never)")
	f.StringSliceVar(&o.topics, "topic", nil, "an SNS topic name that exists from the start (repeatable)")
	f.StringSliceVar(&o.buckets, "bucket", nil, "an S3 bucket that exists from the start (repeatable)")
	f.StringArrayVar(&o.members, "member", nil, "snapshot folder of a member account, reached with sts:AssumeRole (repeatable)")
	f.StringArrayVar(&o.fl.Fails, "fail", nil, "OP=CODE[:N]: fail the next N calls (default 1) of an operation with an AWS error code, such as TagRole=AccessDenied (repeatable)")
	f.Float64Var(&o.fl.ThrottlePercent, "throttle-percent", 0, "answer this percentage of requests (0-100) with a throttling error, in a sequence fixed by --seed")
	f.Int64Var(&o.fl.Seed, "seed", 0, "seed of the --throttle-percent sequence: the same seed throttles the same requests")
	f.StringArrayVar(&o.fl.Latency, "latency", nil, "delay answers: DURATION for every operation (e.g. 200ms) and/or [SERVICE:]OP=DURATION, such as iam:*=20ms (comma-separated, repeatable)")
	f.StringArrayVar(&o.fl.OpLatency, "op-latency", nil, "[SERVICE:]OP=DURATION: delay the answers of one operation, overriding --latency (repeatable)")
	f.StringArrayVar(&o.fl.RateLimits, "rate-limit", nil, "SERVICE:OP=RATE[:BURST]: a token bucket per account, RATE requests a second (OP * for the whole service), throttling as AWS does when empty, such as iam:*=20,access-analyzer:GetFindingV2=50 (comma-separated, repeatable)")
	return cmd
}

// EmulatorOptions are the flags and streams of 'emulator'.
type EmulatorOptions struct {
	IO            *IOStreams
	Log           *slog.Logger
	dir           string
	listen        string
	pageSize      int
	throttleEvery int
	topics        []string
	buckets       []string
	members       []string
	fl            emulator.FaultFlags
}

// runEmulator serves the snapshot until ctx ends.
func runEmulator(ctx context.Context, o *EmulatorOptions) error {
	if o.dir == "" {
		return usagef("--snapshot is required")
	}
	snap, err := snapshot.LoadDir(o.dir)
	if err != nil {
		return err
	}
	faults, err := emulator.ParseFaults(o.fl)
	if err != nil {
		return err
	}
	srv := emulator.New(snap, emulator.Options{PageSize: o.pageSize, ThrottleEvery: o.throttleEvery, Logger: o.Log, Topics: o.topics, Buckets: o.buckets})
	if err := srv.Inject(faults); err != nil {
		return err
	}
	// Load every member before listening, so that a bad folder
	// fails the command before clients can connect.
	var served []string
	for _, d := range o.members {
		ms, err := snapshot.LoadDir(d)
		if err != nil {
			return err
		}
		if _, err := srv.AddMember(ms); err != nil {
			return err
		}
		served = append(served, fmt.Sprintf("member account %s from %s", ms.Meta.AccountID, d))
	}
	url, err := srv.Start(o.listen)
	if err != nil {
		return err // it names the address
	}
	fmt.Fprintf(o.IO.Out, "iamprune emulator serving %s (account %s) at %s\n", o.dir, snap.Meta.AccountID, url)
	fmt.Fprintf(o.IO.Out, "export AWS_ENDPOINT_URL=%s\n", url)
	if faults.Any() {
		fmt.Fprintf(o.IO.Out, "faults: %s; control at %s%s\n", faults.Summary(), url, emulator.ControlPath)
	}
	for _, line := range served {
		fmt.Fprintln(o.IO.Out, line)
	}
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o.Log.Info("emulator stopping")
	return srv.Close(stop)
}

const emulatorLong = `emulator serves a snapshot folder as a local AWS endpoint. It speaks the real
wire protocols (IAM, STS and SNS Query with XML responses, Access Analyzer
REST-JSON, S3 REST-XML, SQS and Security Hub JSON), so the real AWS SDK
clients and the AWS CLI can talk to it. The service is chosen from the SigV4 signing name; any
credentials are accepted.

Point any AWS tool at it with the standard endpoint override:

  export AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  iamprune plan

It keeps the account in memory: apply and rollback change it as they would
change AWS (with IAM's errors and quotas), and a restart serves the snapshot
afresh. Archive rules, finding statuses, SNS topics and messages, and S3
objects live there too (--topic and --bucket create some at start). It stops
cleanly on SIGINT or SIGTERM.

An organisation: each --member is the snapshot folder of another account,
served as a member account with its own IAM state. Requests act in the
--snapshot account unless they are signed with credentials that
sts:AssumeRole issued for a role in a member; those act in that member, as
the assumed-role session. AssumeRole checks the role's trust policy
(principal, action, and sts:ExternalId conditions) and refuses with
AccessDenied as AWS does; the credentials expire after DurationSeconds.

Fault injection, to see how a client copes: --fail OP=CODE[:N] fails the
next N calls (default 1) of an operation with an AWS error code,
--throttle-percent throttles a share of all requests (the same --seed gives
the same sequence), --latency and --op-latency delay answers, and
--rate-limit enforces AWS-like token buckets per account and operation. The same
controls, a state dump and call counters are served at /_iamprune/ on the
same port while it runs (see docs/emulator.md).`

const emulatorExample = `  iamprune emulator --snapshot examples/demo/snapshot --listen 127.0.0.1:4566

  # a delegated-admin account and one member account
  iamprune emulator --snapshot emulator/testdata/org/admin \
      --member emulator/testdata/org/member-444455556666

  # every third request throttled, the first TagRole denied
  iamprune emulator --snapshot examples/demo/snapshot \
      --throttle-percent 33 --seed 7 --fail TagRole=AccessDenied`
