package dynamodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/storetest"
)

// endpointEnv names the DynamoDB-compatible endpoint of the tests: dynalite,
// which scripts/test installs and starts.
const endpointEnv = "IAMPRUNE_TEST_DYNAMODB_ENDPOINT"

// testConfig is an AWS config for the test endpoint. Without one the test
// is skipped, except under CI (CI=true), where a missing server must fail
// the run rather than pass it silently.
func testConfig(t *testing.T) aws.Config {
	t.Helper()
	ep := os.Getenv(endpointEnv)
	if ep == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set, and CI=true: the DynamoDB store tests must run in CI (scripts/test starts dynalite and sets it)", endpointEnv)
		}
		t.Skipf("%s is not set: run scripts/test, which starts dynalite", endpointEnv)
	}
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(ep),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
}

var tableSeq atomic.Int64

// newTable creates a fresh table with a unique name, deleted after the test,
// so that tests can run in parallel on one server.
func newTable(t *testing.T, cfg aws.Config) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	table := fmt.Sprintf("iamprune-test-%s-%d", hex.EncodeToString(b), tableSeq.Add(1))
	client := dynamodb.NewFromConfig(cfg)
	if err := CreateTable(context.Background(), client, table, WithoutPointInTimeRecovery()); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Errorf("DeleteTable %s: %v", table, err)
		}
	})
	return table
}

func openTable(t *testing.T, cfg aws.Config, table string) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg, table)
	if err != nil {
		t.Fatalf("Open %s: %v", table, err)
	}
	return s
}

func openFresh(t *testing.T) *Store {
	t.Helper()
	cfg := testConfig(t)
	return openTable(t, cfg, newTable(t, cfg))
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) iamprune.Store { return openFresh(t) })
}

func TestNoticeLogConformance(t *testing.T) {
	t.Parallel()
	storetest.RunNoticeLog(t, func(t *testing.T) storetest.NoticeStore { return openFresh(t) })
}

func TestSweepLogConformance(t *testing.T) {
	t.Parallel()
	storetest.RunSweepLog(t, func(t *testing.T) storetest.SweepStore { return openFresh(t) })
}

func TestUsageCacheConformance(t *testing.T) {
	t.Parallel()
	storetest.RunUsageCache(t, func(t *testing.T) storetest.UsageStore { return openFresh(t) })
}

func TestOpen(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ctx := context.Background()
	client := dynamodb.NewFromConfig(cfg)
	good := newTable(t, cfg)

	// A table with other keys, as another application's would have.
	foreign := good + "-foreign"
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(foreign),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(foreign)})
	// The right keys but no indexes.
	bare := TableInput(good + "-bare")
	bare.GlobalSecondaryIndexes = nil
	bare.AttributeDefinitions = bare.AttributeDefinitions[:2]
	if _, err := client.CreateTable(ctx, bare); err != nil {
		t.Fatal(err)
	}
	defer client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: bare.TableName})

	for _, tc := range []struct {
		table, code, msg string
	}{
		{good + "-missing", iamprune.ENOTFOUND, "not found"},
		{foreign, iamprune.EINVALID, "key schema is not pk HASH"},
		{aws.ToString(bare.TableName), iamprune.EINVALID, "index by-account is missing"},
		{"x", iamprune.EINVALID, "bad table name"},
		{"has space", iamprune.EINVALID, "bad table name"},
		{"", iamprune.EINVALID, "bad table name"},
	} {
		s, err := Open(ctx, cfg, tc.table)
		if s != nil || iamprune.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), tc.table) {
			t.Errorf("Open(%q) = %v, %v; want %s naming the table and saying %q", tc.table, s, err, tc.code, tc.msg)
		}
	}
	if err := CreateTable(ctx, client, good, WithoutPointInTimeRecovery()); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("CreateTable of an existing table: %v, want ECONFLICT", err)
	}
	openTable(t, cfg, good).Close()
}

// Keys escape '#', so records whose fields only differ in where a '#'
// falls stay apart.
func TestKeysEscaped(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	sent := storetestTime
	for _, n := range []iamprune.NoticeRecord{
		{Account: "A#B", ItemKey: "C", ActionID: "first", Status: iamprune.NoticeSent, SentAt: sent},
		{Account: "A", ItemKey: "B#C", ActionID: "second", Status: iamprune.NoticeSent, SentAt: sent},
		{Account: "A", ItemKey: "B%23C", ActionID: "third", Status: iamprune.NoticeSent, SentAt: sent},
	} {
		if err := s.RecordNotice(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ account, key, want string }{
		{"A#B", "C", "first"}, {"A", "B#C", "second"}, {"A", "B%23C", "third"},
	} {
		got, err := s.FindNotices(ctx, iamprune.NoticeFilter{Account: tc.account, ItemKey: tc.key})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ActionID != tc.want {
			t.Errorf("FindNotices(%q, %q) = %+v, want only %s", tc.account, tc.key, got, tc.want)
		}
	}
	// Run ids and action ids the same way.
	for _, id := range []string{"r#1", "r%231", "r"} {
		if err := s.CreateRun(ctx, iamprune.Run{ID: id, Account: "A", Status: iamprune.RunRunning, StartedAt: sent}); err != nil {
			t.Fatalf("CreateRun %q: %v", id, err)
		}
	}
	for _, a := range []struct{ run, action string }{{"r#1", "a"}, {"r", "1#ACTION#a"}, {"r%231", "a"}} {
		if err := s.BeginAction(ctx, iamprune.ActionRecord{RunID: a.run, ActionID: a.action, Account: "A", StartedAt: sent}); err != nil {
			t.Fatalf("BeginAction %q/%q: %v", a.run, a.action, err)
		}
		recs, err := s.Actions(ctx, a.run)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].ActionID != a.action {
			t.Errorf("Actions(%q) = %v, want only %q", a.run, recs, a.action)
		}
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, table string
		ok        bool
	}{
		{"dynamodb://iamprune-state", "iamprune-state", true},
		{"DynamoDB://iamprune_state.v2", "iamprune_state.v2", true},
		{"dynamodb://", "", true}, // Open says the name is bad
		{"dynamodb:/iamprune-state", "", false},
		{"/var/lib/iamprune/state.db", "", false},
		{"state.db", "", false},
		{"s3://bucket/state", "", false},
		{"", "", false},
	} {
		table, ok := ParseURL(tc.in)
		if table != tc.table || ok != tc.ok {
			t.Errorf("ParseURL(%q) = %q, %v; want %q, %v", tc.in, table, ok, tc.table, tc.ok)
		}
		if ok {
			if back := URL(table); !strings.EqualFold(back, tc.in) {
				t.Errorf("URL(%q) = %q, want %q", table, back, tc.in)
			}
		}
	}
}

// Under CI a missing endpoint fails the tests instead of skipping them.
func TestEndpointRequiredUnderCI(t *testing.T) {
	if os.Getenv("IAMPRUNE_DYNAMODB_CI_CHILD") != "" {
		t.Skip("child process")
	}
	t.Parallel()
	for _, tc := range []struct {
		ci       string
		wantFail bool
	}{{"true", true}, {"", false}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConformance$", "-test.v")
		cmd.Env = append(withoutEnv(os.Environ(), endpointEnv, "CI"), "CI="+tc.ci, "IAMPRUNE_DYNAMODB_CI_CHILD=1")
		out, err := cmd.CombinedOutput()
		failed := err != nil
		if failed != tc.wantFail {
			t.Errorf("CI=%q without %s: failed=%v, want %v; output:\n%s", tc.ci, endpointEnv, failed, tc.wantFail, out)
		}
		want := "SKIP"
		if tc.wantFail {
			want = "must run in CI"
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("CI=%q: output does not say %q:\n%s", tc.ci, want, out)
		}
	}
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			keep = keep && name != n
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// Values too long for a DynamoDB key are refused as bad input, before any
// write, rather than failing deep inside the SDK.
func TestLongKeys(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	long := strings.Repeat("x", 2100)
	mustCreateRun(t, s, "r1")
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"run id", s.CreateRun(ctx, iamprune.Run{ID: long, StartedAt: storetestTime})},
		{"action id", s.BeginAction(ctx, action("r1", long[:1000], nil))},
		{"notice item key", s.RecordNotice(ctx, iamprune.NoticeRecord{Account: "A", ItemKey: long, Status: iamprune.NoticeSent, SentAt: storetestTime})},
	} {
		if iamprune.ErrorCode(tc.err) != iamprune.EINVALID || !strings.Contains(tc.err.Error(), "too long") {
			t.Errorf("%s of %d bytes: %v, want EINVALID saying it is too long", tc.name, len(long), tc.err)
		}
	}
	if l, err := s.Lock(ctx, long, iamprune.LockOwner{Host: "run"}, time.Hour); l != nil || iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("Lock of a %d-byte account: %v, want EINVALID", len(long), err)
	}
	if recs, err := s.Actions(ctx, "r1"); err != nil || len(recs) != 0 {
		t.Errorf("Actions after refused intents: %d, %v; want none", len(recs), err)
	}
}

// Keys too long to exist are simply not found.
func TestLongKeysNotFound(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	long := strings.Repeat("x", 2100)
	if _, err := s.Run(ctx, long); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("Run: %v, want ENOTFOUND", err)
	}
	if err := s.FinishRun(ctx, long, iamprune.RunFailed, "", storetestTime); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("FinishRun: %v, want ENOTFOUND", err)
	}
	if err := s.FinishAction(ctx, "r1", long, iamprune.ResultDone, "", nil, storetestTime); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("FinishAction: %v, want ENOTFOUND", err)
	}
	if recs, err := s.Actions(ctx, long); err != nil || len(recs) != 0 {
		t.Errorf("Actions: %v, %v; want none", recs, err)
	}
}

// A result too large for one item is refused, not cut, and nothing is cached.
func TestUsageCacheRefusesLarge(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	const arn = "arn:aws:iam::111122223333:role/big"
	d := &iamprune.ServiceLastAccessed{ARN: arn}
	for i := 0; i < 4000; i++ {
		d.Services = append(d.Services, iamprune.ServiceAccess{Name: strings.Repeat("x", 100), Namespace: fmt.Sprintf("svc%d", i)})
	}
	err := s.CacheLastAccessed(ctx, "111122223333", d, storetestTime)
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("CacheLastAccessed of a large result: %v, want a refusal", err)
	}
	if _, _, ok, err := s.CachedLastAccessed(ctx, "111122223333", arn); ok || err != nil {
		t.Errorf("after the refusal: ok=%v err=%v", ok, err)
	}
}
