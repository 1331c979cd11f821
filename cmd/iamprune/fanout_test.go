package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	sdkdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/dynamodb"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/emulator/emulatortest"
	"github.com/iamprune/iamprune/render"
	"github.com/iamprune/iamprune/snapshot"
)

// fanoutMembers are the member accounts of the fan-out organisation: each
// a copy of the org test member, with its key and role findings.
var fanoutMembers = []string{"444455556666", "555566667777", "666677778888"}

// fanoutOrg writes the organisation: the admin with an organisation
// analyzer whose findings name the key and the role of every member, and
// the members, served by one emulator.
func fanoutOrg(t *testing.T) (*emulator.Server, string, map[string]*emulator.Server) {
	t.Helper()
	root := filepath.Join(repoRoot(t), "emulator", "testdata", "org")
	dir := t.TempDir()
	copyDir := func(from, to string, edit func(string) string) {
		if err := os.MkdirAll(to, 0o700); err != nil {
			t.Fatal(err)
		}
		ents, err := os.ReadDir(from)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(from, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(to, e.Name()), []byte(edit(string(b))), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	copyDir(filepath.Join(root, "admin"), filepath.Join(dir, "admin"), func(s string) string { return s })
	var all []json.RawMessage
	b, err := os.ReadFile(filepath.Join(root, "admin", "findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	var base []json.RawMessage
	if err := json.Unmarshal(b, &base); err != nil {
		t.Fatal(err)
	}
	for i, acct := range fanoutMembers {
		copyDir(filepath.Join(root, "member-"+memberAccount), filepath.Join(dir, "member-"+acct),
			func(s string) string { return strings.ReplaceAll(s, memberAccount, acct) })
		for _, f := range base[:3] { // the key, the role and an unused permission
			s := strings.ReplaceAll(string(f), memberAccount, acct)
			s = strings.Replace(s, `"id": "`, fmt.Sprintf(`"id": "m%d-`, i), 1)
			all = append(all, json.RawMessage(s))
		}
	}
	out, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "admin", "findings.json"), out, 0o600); err != nil {
		t.Fatal(err)
	}
	home, err := snapshot.LoadDir(filepath.Join(dir, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	srv, cfg := emulatortest.Start(t, home, emulator.Options{})
	srv.SetRecommendationPolls(0)
	members := map[string]*emulator.Server{}
	for _, acct := range fanoutMembers {
		snap, err := snapshot.LoadDir(filepath.Join(dir, "member-"+acct))
		if err != nil {
			t.Fatal(err)
		}
		if members[acct], err = srv.AddMember(snap); err != nil {
			t.Fatal(err)
		}
	}
	return srv, aws.ToString(cfg.BaseEndpoint), members
}

// digestHook is a webhook channel's endpoint: it keeps the bodies posted.
type digestHook struct {
	mu     sync.Mutex
	bodies []iamprune.Digest
}

func (h *digestHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var d iamprune.Digest
	b, _ := io.ReadAll(r.Body)
	if json.Unmarshal(b, &d) == nil {
		h.mu.Lock()
		h.bodies = append(h.bodies, d)
		h.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// sweepDigests returns the organisation digests of sweep id received.
func (h *digestHook) sweepDigests(id string) []iamprune.Digest {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []iamprune.Digest
	for _, d := range h.bodies {
		for _, p := range d.Principals {
			if len(p.Items) > 0 && p.Items[0].Reason == "swept by "+id {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

// TestFanOutSweep fans a sweep of three member accounts out over the
// emulator's SQS, one message per finding (--page-size 1: the sweep
// enqueues each account's first two pages, and the consumer of the second
// chains the third), with the state
// in DynamoDB (dynalite). A first worker is killed with SIGKILL in the
// middle of a change; two more workers then drain the queue side by side:
// the killed message comes back after its visibility timeout and is
// finished, every account is swept exactly once (the emulator's IAM and the
// journal agree: each change made once), 'history --sweep' shows every
// message done, and exactly one organisation digest is sent.
func TestFanOutSweep(t *testing.T) {
	ep := os.Getenv("IAMPRUNE_TEST_DYNAMODB_ENDPOINT")
	if ep == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("IAMPRUNE_TEST_DYNAMODB_ENDPOINT is not set, and CI=true: scripts/test must start dynalite")
		}
		t.Skip("IAMPRUNE_TEST_DYNAMODB_ENDPOINT is not set: run scripts/test, which starts dynalite")
	}
	isolateAWS(t)
	srv, url, members := fanoutOrg(t)
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ep)
	ctx := context.Background()
	table := fmt.Sprintf("iamprune-fanout-%d", time.Now().UnixNano())
	dynCfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(ep), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	client := sdkdynamodb.NewFromConfig(dynCfg)
	if err := dynamodb.CreateTable(ctx, client, table, dynamodb.WithoutPointInTimeRecovery()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = client.DeleteTable(ctx, &sdkdynamodb.DeleteTableInput{TableName: aws.String(table)}) })
	state := dynamodb.URL(table)

	sq := sqs.New(sqs.Options{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), BaseEndpoint: aws.String(url)})
	if _, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sweep-dlq")}); err != nil {
		t.Fatal(err)
	}
	created, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sweep"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:111122223333:sweep-dlq","maxReceiveCount":50}`}})
	if err != nil {
		t.Fatal(err)
	}
	queue := aws.ToString(created.QueueUrl)

	hook := &digestHook{}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)
	cfg := filepath.Join(t.TempDir(), "iamprune.yaml")
	if err := os.WriteFile(cfg, []byte(`accounts:
  allow: ["`+strings.Join(fanoutMembers, `", "`)+`"]
  role_name: iamprune-remediation
  external_id: iamprune-ext
notifications:
  require_prior_notice: false
  channels:
    - {name: hook, type: webhook, url: "`+hookSrv.URL+`"}
  default: [hook]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for acct, m := range members {
		if before[acct], err = m.Dump(); err != nil {
			t.Fatal(err)
		}
	}

	// Enqueue: six messages, the first two pages of each account, the
	// second chained (its consumer enqueues the third); nothing changes
	// in IAM.
	r := runCLI(t, "sweep", "--queue", queue, "--page-size", "1", "--config", cfg, "--state", state, "-o", "json")
	if r.code != 0 {
		t.Fatalf("sweep: exit %d\n%s", r.code, r.stderr)
	}
	validate(t, schemas(t)("sweep"), "sweep -o json", r)
	var enq struct {
		FormatVersion string                 `json:"format_version"`
		Sweep         iamprune.SweepEnqueued `json:"sweep"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &enq); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if enq.FormatVersion != render.FormatVersion || enq.Sweep.Messages != 6 || len(enq.Sweep.Accounts) != 3 || len(srv.Messages(queue)) != 6 {
		t.Fatalf("enqueued %+v, %d in the queue", enq, len(srv.Messages(queue)))
	}
	for _, a := range enq.Sweep.Accounts {
		if !a.Chained || a.Messages != 2 {
			t.Errorf("account %+v: want two messages, chained", a)
		}
	}
	for acct, m := range members {
		if after, _ := m.Dump(); !bytes.Equal(after, before[acct]) {
			t.Errorf("enqueuing changed account %s", acct)
		}
	}

	worker := func(endpoint string) *exec.Cmd {
		args, _ := json.Marshal([]string{"worker", "--queue", queue, "--listen", "", "--wait", "1s", "--visibility", "2s",
			"--lock-retry", "1s", "--config", cfg, "--now", demoNow, "--state", state})
		c := exec.Command(os.Args[0], "-test.run=^$")
		c.Env = append(os.Environ(), cliEnv+"="+string(args), "AWS_ENDPOINT_URL="+endpoint)
		return c
	}
	// The first worker goes through a proxy that holds its second IAM
	// write forever: it is killed there, in the middle of a message.
	proxy := newHangingProxy(t, url, 2)
	var killedOut bytes.Buffer
	killed := worker(proxy.url)
	killed.Stdout, killed.Stderr = &killedOut, &killedOut
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case op := <-proxy.hung:
		t.Logf("killing the first worker during %s", op)
	case <-time.After(20 * time.Second):
		killed.Process.Kill()
		t.Fatalf("the first worker never reached its second write:\n%s", killedOut.String())
	}
	if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = killed.Wait()

	var outs [2]bytes.Buffer
	var workers []*exec.Cmd
	for i := range outs {
		w := worker(url)
		w.Stdout, w.Stderr = &outs[i], &outs[i]
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		workers = append(workers, w)
	}
	stop := func() {
		for _, w := range workers {
			_ = w.Process.Signal(syscall.SIGTERM)
			_ = w.Wait()
		}
	}
	deadline := time.Now().Add(25 * time.Second)
	for len(srv.Messages(queue)) > 0 {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("queue not drained: %+v\nworker 1:\n%s\nworker 2:\n%s", srv.Messages(queue), outs[0].String(), outs[1].String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	if dlq := srv.Messages("sweep-dlq"); len(dlq) != 0 {
		t.Errorf("%d message(s) in the dead-letter queue", len(dlq))
	}
	for i := range outs {
		t.Logf("worker %d: %d message(s) done, %d put back", i+2, strings.Count(outs[i].String(), "sweep: message done"), strings.Count(outs[i].String(), "put back"))
		if !strings.Contains(outs[i].String(), "sweep: message done") {
			t.Logf("worker %d processed no message:\n%s", i+1, outs[i].String())
		}
	}
	checkFanOutState(t, members, before, state, enq.Sweep.SweepID, dynCfg, table)
	if n := len(hook.sweepDigests(enq.Sweep.SweepID)); n != 1 {
		t.Errorf("%d organisation digests sent, want 1", n)
	}
}

// checkFanOutState checks that every member changed the same way, that
// the journal has each change once, and that history shows the sweep
// complete.
func checkFanOutState(t *testing.T, members map[string]*emulator.Server, before map[string][]byte, state, sweepID string, dynCfg aws.Config, table string) {
	t.Helper()
	var want []string
	for _, acct := range fanoutMembers {
		after, err := members[acct].Dump()
		if err != nil {
			t.Fatal(err)
		}
		got := changed(t, before[acct], after)
		if want == nil {
			want = got
		}
		if len(got) == 0 || !slices.Equal(got, want) {
			t.Errorf("account %s changed %v, want %v", acct, got, want)
		}
	}
	if !slices.ContainsFunc(want, func(s string) bool { return strings.Contains(s, "AKIACIBOT00000000001") }) ||
		!slices.ContainsFunc(want, func(s string) bool { return strings.Contains(s, "legacy-etl") }) ||
		!slices.ContainsFunc(want, func(s string) bool { return strings.Contains(s, "app-deployer") }) {
		t.Errorf("changes %v lack the key, the role or the permission", want)
	}
	store, err := dynamodb.Open(context.Background(), dynCfg, table)
	if err != nil {
		t.Fatal(err)
	}
	for _, acct := range fanoutMembers {
		recs, err := store.FindActions(context.Background(), iamprune.ActionFilter{Account: acct, Status: iamprune.ResultDone})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, rec := range recs {
			seen[string(rec.Kind)+" "+rec.Target]++
		}
		if len(seen) != 3 {
			t.Errorf("account %s: journal has %v done, want the key, the role and the permission", acct, seen)
		}
		for k, n := range seen {
			if n != 1 {
				t.Errorf("account %s: %s done %d times in the journal", acct, k, n)
			}
		}
	}
	r := runCLI(t, "history", "--sweep", sweepID, "--state", state, "-o", "json")
	validate(t, schemas(t)("history"), "history --sweep -o json", r)
	var hist struct {
		FormatVersion string               `json:"format_version"`
		Sweep         iamprune.Sweep       `json:"sweep"`
		Parts         []iamprune.SweepPart `json:"parts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &hist); err != nil {
		t.Fatalf("history --sweep: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if hist.FormatVersion != render.FormatVersion || !hist.Sweep.Complete() || hist.Sweep.Done != 9 || len(hist.Parts) != 9 {
		t.Errorf("history --sweep: %+v", hist)
	}
	for _, p := range hist.Parts {
		if p.Status != iamprune.SweepDone || p.RunID == "" {
			t.Errorf("part %s: %+v", p.Key(), p)
		}
	}
	// The killed worker's run was closed by the worker that took its
	// message over.
	r = runCLI(t, "history", "--state", state, "-o", "json")
	var runs struct{ Runs []iamprune.Run }
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatal(err)
	}
	interrupted := 0
	for _, run := range runs.Runs {
		if run.Status == iamprune.RunInterrupted && slices.Contains(fanoutMembers, run.Account) {
			interrupted++
		}
	}
	if interrupted != 1 {
		t.Errorf("%d interrupted runs in member accounts, want the killed worker's", interrupted)
	}
	if r := runCLI(t, "history", "--sweep", sweepID, "--state", state); r.code != 0 || !strings.Contains(r.stdout, "9 of 9 message(s) done, complete") {
		t.Errorf("history --sweep table: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// sweep --dry-run lists the messages and sends and records nothing; bad
// usage exits 2 with nothing done.
func TestSweepCommand(t *testing.T) {
	t.Parallel()
	a := newAccount(t)
	r := runCLI(t, "sweep", "--dry-run", "--state", a.state)
	if r.code != 0 || !strings.Contains(r.stdout, "Would enqueue (dry run, nothing sent) 1 message(s) for 1 account(s)") || !strings.Contains(r.stdout, "111122223333") {
		t.Errorf("dry run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if h := runCLI(t, "history", "--state", a.state, "-o", "json"); !strings.Contains(h.stdout, `"runs": []`) {
		t.Errorf("a dry run left runs: %s", h.stdout)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sweep", "--state", a.state}, exitInvalid, "no queue"},
		{[]string{"sweep", "--dry-run", "-o", "xml"}, exitInvalid, "unknown output format"},
		{[]string{"sweep", "--dry-run", "--page-size", "5000", "--state", a.state}, exitInvalid, "page size 5000"},
		{[]string{"history", "--sweep", "nope", "--state", a.state}, exitInvalid, "no sweep nope in the state store"},
	} {
		if r := runCLI(t, tc.args...); r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %s", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}
