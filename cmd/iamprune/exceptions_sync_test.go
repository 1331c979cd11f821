package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iamprune/iamprune/archive"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

const (
	demoAnalyzer = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/unused-access-analyzer"
	syncBucket   = "security-config"
	syncKey      = "iamprune/exceptions.yaml"

	findBobPassword = "29215e4f-fc5d-4700-abf5-3c0b7f1a09d5"
	findLegacyRole  = "7d76e84a-b902-421b-aa00-4bc9c3b19834"
	findForensics   = "45133b6e-aaf9-42fe-899a-85544b2770ae"
	findReporting   = "f4a44ad3-7255-4558-9237-e2feb58deaee"
	findWebAppPerms = "2913f7cd-7f71-4668-a24b-115fa9f998ad"
)

// syncAccount is the demo account in the emulator with an empty bucket, a
// rule that is not iamprune's, and the finding that rule archived.
type syncAccount struct {
	srv   *emulator.Server
	rules *awsapi.ArchiveRules
	dir   string // holds exceptions.yaml, as a repository would
}

var foreignRule = map[string]emulator.Criterion{"resource": {Eq: []string{"arn:aws:iam::111122223333:role/Forensics"}}}

func newSyncAccount(t *testing.T) *syncAccount {
	t.Helper()
	snapDir, _ := demoPaths(t)
	snap, err := snapshot.LoadDir(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	srv := emulator.New(snap, emulator.Options{Buckets: []string{syncBucket}, PageSize: 2})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	inject(t, url, nil)
	if err := srv.AddArchiveRule("security-forensics", foreignRule); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetFindingStatus(findForensics, "ARCHIVED", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIATEST", "test", "")}
	return &syncAccount{srv: srv, rules: awsapi.NewArchiveRules(cfg, ""), dir: t.TempDir()}
}

// use copies testdata/exceptions-sync/CASE/exceptions.yaml into the
// account's repository and returns its path.
func (a *syncAccount) use(t *testing.T, c string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "exceptions-sync", c, "exceptions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(a.dir, "exceptions.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// state returns the analyzer's rules by name and its archived finding ids.
func (a *syncAccount) state(t *testing.T) (map[string]archive.Rule, []string) {
	t.Helper()
	ctx := context.Background()
	rules, err := a.rules.List(ctx, "unused-access-analyzer")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]archive.Rule{}
	for _, r := range rules {
		byName[r.Name] = r
	}
	archived, err := a.rules.ArchivedFindings(ctx, demoAnalyzer)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range archived {
		ids = append(ids, f.ID)
	}
	slices.Sort(ids)
	return byName, ids
}

type syncJSON struct {
	Analyzer  string         `json:"analyzer"`
	Create    []archive.Rule `json:"create"`
	Update    []archive.Rule `json:"update"`
	Delete    []archive.Rule `json:"delete"`
	Unarchive []string       `json:"unarchive"`
	Publish   *struct {
		Target  string `json:"target"`
		Changed bool   `json:"changed"`
		ETag    string `json:"etag"`
	} `json:"publish"`
	Notes   []string `json:"notes"`
	Foreign []string `json:"foreign"`
	Applied bool     `json:"applied"`
}

func decodeSync(t *testing.T, r result) syncJSON {
	t.Helper()
	var s syncJSON
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("sync -o json: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return s
}

func ruleNames(rs []archive.Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestExceptionsSync is the reference workflow against the emulator: sync
// creates the rules and archives what they cover, a second run changes
// nothing, and removing entries deletes their rules and brings their
// findings back, while a rule that is not iamprune's stays as it was.
func TestExceptionsSync(t *testing.T) {
	t.Parallel()
	a := newSyncAccount(t)
	path := a.use(t, "add")
	publish := "s3://" + syncBucket + "/" + syncKey
	sync := func(extra ...string) result {
		return runCLI(t, append([]string{"exceptions", "sync", "--exceptions", path, "--publish", publish, "--now", demoNow}, extra...)...)
	}
	webAppNote := path + ":16: arn:aws:iam::111122223333:role/WebAppRole: UnusedPermission limited to services s3 " +
		"cannot be an archive rule (it would archive the whole finding); honoured at decision time only"

	// Without --yes: the diff, and nothing changes.
	r := sync()
	if r.code != 2 || !strings.Contains(r.stderr, "iamprune: nothing changed: --yes is required to make 4 changes in account 111122223333 when stdin is not a terminal") {
		t.Fatalf("dry run: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"  create iamprune-all-1 (all finding types)\n    + arn:aws:iam::111122223333:role/ReportingRole\n",
		"  create iamprune-UnusedIAMRole-1 (UnusedIAMRole)\n    + arn:aws:iam::111122223333:role/LegacyBatchRole\n",
		"publish " + publish + ": changed, to be written\n",
		webAppNote,
		"rules that are not iamprune's, left alone: security-forensics\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, r.stdout)
		}
	}
	if rules, _ := a.state(t); len(rules) != 1 {
		t.Fatalf("dry run changed the rules: %v", rules)
	}
	if _, _, ok := a.srv.Object(syncBucket, syncKey); ok {
		t.Fatal("dry run published the list")
	}

	// Step 1: create the rules and archive what they cover.
	r = sync("--yes", "-o", "json")
	if r.code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	validate(t, schemas(t)("exceptions-sync"), "exceptions sync", r)
	got := decodeSync(t, r)
	wantCreate := []string{"iamprune-UnusedIAMRole-1", "iamprune-UnusedIAMUserPassword-1", "iamprune-all-1"}
	if !got.Applied || !reflect.DeepEqual(ruleNames(got.Create), wantCreate) || len(got.Update)+len(got.Delete)+len(got.Unarchive) != 0 {
		t.Errorf("step 1 = %+v; want %v created and applied", got, wantCreate)
	}
	if got.Analyzer != demoAnalyzer || !reflect.DeepEqual(got.Notes, []string{webAppNote}) || !reflect.DeepEqual(got.Foreign, []string{"security-forensics"}) {
		t.Errorf("step 1 analyzer %s, notes %q, foreign %v", got.Analyzer, got.Notes, got.Foreign)
	}
	rules, archived := a.state(t)
	if want := sorted([]string{findBobPassword, findLegacyRole, findReporting, findForensics}); !reflect.DeepEqual(archived, want) {
		t.Errorf("archived after step 1 = %v, want %v (not %s: service-limited)", archived, want, findWebAppPerms)
	}
	if r := rules["iamprune-UnusedIAMUserPassword-1"]; !reflect.DeepEqual(r.Filter, map[string]archive.Criterion{
		"resource": {Eq: []string{"arn:aws:iam::111122223333:user/bob"}}, "findingType": {Eq: []string{"UnusedIAMUserPassword"}}}) {
		t.Errorf("bob's rule = %+v", r)
	}
	body, etag, ok := a.srv.Object(syncBucket, syncKey)
	if file, _ := os.ReadFile(path); !ok || string(body) != string(file) || got.Publish == nil || !got.Publish.Changed || got.Publish.ETag != etag {
		t.Errorf("published %v %q (etag %s), report %+v", ok, body, etag, got.Publish)
	}

	// Step 2: nothing to do.
	r = sync("--yes", "-o", "json")
	got = decodeSync(t, r)
	if r.code != 0 || got.Applied || len(got.Create)+len(got.Update)+len(got.Delete)+len(got.Unarchive) != 0 || got.Publish.Changed {
		t.Errorf("second run = %+v (exit %d); want no changes", got, r.code)
	}
	r = sync()
	if r.code != 0 || !strings.Contains(r.stdout, "\nno changes: the analyzer and the published list match "+path+"\n") ||
		!strings.Contains(r.stdout, "  up to date (3 iamprune rules)\n") {
		t.Errorf("second run, text: exit %d\n%s", r.code, r.stdout)
	}

	// Step 3: bob's and ReportingRole's entries are removed.
	a.use(t, "remove")
	r = sync("--yes", "-o", "json")
	got = decodeSync(t, r)
	if r.code != 0 || !got.Applied || len(got.Create)+len(got.Update) != 0 ||
		!reflect.DeepEqual(ruleNames(got.Delete), []string{"iamprune-UnusedIAMUserPassword-1", "iamprune-all-1"}) ||
		!reflect.DeepEqual(sorted(got.Unarchive), sorted([]string{findBobPassword, findReporting})) {
		t.Errorf("step 3 = %+v (exit %d)", got, r.code)
	}
	rules, archived = a.state(t)
	if want := sorted([]string{findLegacyRole, findForensics}); !reflect.DeepEqual(archived, want) {
		t.Errorf("archived after step 3 = %v, want %v", archived, want)
	}
	if want := []string{"iamprune-UnusedIAMRole-1", "security-forensics"}; !reflect.DeepEqual(slices.Sorted(maps.Keys(rules)), want) {
		t.Errorf("rules after step 3 = %v, want %v", slices.Sorted(maps.Keys(rules)), want)
	}
	if f := rules["security-forensics"].Filter; !reflect.DeepEqual(f, map[string]archive.Criterion{"resource": {Eq: foreignRule["resource"].Eq}}) {
		t.Errorf("the foreign rule changed: %+v", f)
	}
	if body, _, _ := a.srv.Object(syncBucket, syncKey); !strings.Contains(string(body), "Legacy*") || strings.Contains(string(body), "user/bob") {
		t.Errorf("published after step 3:\n%s", body)
	}

	// The finding is back and, with the exception gone, bob's unused
	// password is remediated again.
	kinds := map[string]string{}
	plan := decodePlan(t, runCLI(t, "plan", "--config", filepath.Join("testdata", "no-prior-notice", "iamprune.yaml"),
		"--exceptions", path, "--now", demoNow, "-o", "json"))
	for _, act := range plan.Actions {
		kinds[act.FindingID] = string(act.Kind)
	}
	if kinds[findBobPassword] != "delete-login-profile" {
		t.Errorf("after removing bob's exception his password is planned as %q, want delete-login-profile", kinds[findBobPassword])
	}
	if _, ok := kinds[findLegacyRole]; ok {
		t.Errorf("LegacyBatchRole's finding is still archived, yet planned: %s", kinds[findLegacyRole])
	}

	// And once more: nothing to do.
	if got := decodeSync(t, sync("--yes", "-o", "json")); got.Applied || len(got.Delete)+len(got.Unarchive) != 0 {
		t.Errorf("after step 3, again = %+v", got)
	}
}

// TestExceptionsSyncRefuses covers what sync refuses before touching AWS.
func TestExceptionsSyncRefuses(t *testing.T) {
	t.Parallel()
	inject(t, "http://127.0.0.1:1", nil) // never reached
	invalid := filepath.Join("testdata", "exceptions-sync", "invalid", "exceptions.yaml")
	good := filepath.Join("testdata", "exceptions-sync", "add", "exceptions.yaml")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"file with problems", []string{"--exceptions", invalid}, 1,
			invalid + ":2: exceptions[0].owner: required"},
		{"publish in another format", []string{"--exceptions", good, "--publish", "s3://b/allowlist.txt"}, 2,
			"--publish: s3://b/allowlist.txt would be read as an ARN list (*.txt), but " + good + " is YAML"},
		{"exceptions on s3", []string{"--exceptions", "s3://b/exceptions.yaml"}, 2, "sync reads the file in the repository"},
		{"no file", nil, 2, "no exceptions file"},
		{"bad output", []string{"--exceptions", good, "-o", "table"}, 2, `--output: "table" is not text or json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"exceptions", "sync", "--now", demoNow, "--yes"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", r.code, r.stderr, tt.code, tt.stderr)
			}
		})
	}
}

// TestExceptionsSyncPublishPath publishes to a file, only when it changed.
func TestExceptionsSyncPublishPath(t *testing.T) {
	t.Parallel()
	a := newSyncAccount(t)
	path := a.use(t, "remove")
	target := filepath.Join(t.TempDir(), "published.yaml")
	run := func() syncJSON {
		return decodeSync(t, runCLI(t, "exceptions", "sync", "--exceptions", path, "--publish", target, "--now", demoNow, "--yes", "-o", "json"))
	}
	if got := run(); got.Publish == nil || !got.Publish.Changed {
		t.Fatalf("first publish = %+v", got.Publish)
	}
	want, _ := os.ReadFile(path)
	if b, err := os.ReadFile(target); err != nil || string(b) != string(want) {
		t.Fatalf("published file = %q, %v", b, err)
	}
	st, _ := os.Stat(target)
	if got := run(); got.Publish.Changed || got.Applied {
		t.Errorf("second publish = %+v, applied %v; want unchanged", got.Publish, got.Applied)
	}
	if st2, _ := os.Stat(target); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("an unchanged list was rewritten")
	}
}

// TestExceptionsSyncConfirmOnTerminal asks for the account id on a terminal
// and changes nothing on a wrong answer.
func TestExceptionsSyncConfirmOnTerminal(t *testing.T) {
	t.Parallel()
	a := newSyncAccount(t)
	path := a.use(t, "remove")
	for _, tt := range []struct {
		answer string
		code   int
		rules  int
	}{
		{"444455556666\n", 2, 1},
		{"111122223333\n", 0, 2},
	} {
		var out, errb bytes.Buffer
		m := wire(t, &Main{Stdin: strings.NewReader(tt.answer), Stdout: &out, Stderr: &errb, StdinIsTerminal: true,
			Getenv: func(string) string { return "" }, Now: time.Now})
		code := m.Run(context.Background(), []string{"exceptions", "sync", "--exceptions", path, "--now", demoNow})
		rules, _ := a.state(t)
		if code != tt.code || len(rules) != tt.rules || !strings.Contains(errb.String(), "To make 1 change in account 111122223333, type the account id") {
			t.Errorf("answer %q: exit %d, %d rules; want exit %d, %d rules\nstdout: %s\nstderr: %s", tt.answer, code, len(rules), tt.code, tt.rules, out.String(), errb.String())
		}
	}
}

// plan reads the exceptions the sync pipeline published to S3.
func TestPlanReadsExceptionsFromS3(t *testing.T) {
	t.Parallel()
	a := newSyncAccount(t)
	body, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "demo", "exceptions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.srv.PutObject(syncBucket, syncKey, body); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "iamprune.yaml")
	if err := os.WriteFile(cfg, []byte("exceptions: s3://"+syncBucket+"/"+syncKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := decodePlan(t, runCLI(t, "plan", "--config", cfg, "--now", demoNow, "-o", "json"))
	found := false
	for _, act := range p.Actions {
		// (Forensics' finding is archived in this account; WebAppRole's kms
		// exception is the one to see.)
		if act.FindingID == findWebAppPerms && act.Kind == "exempt" {
			found = strings.Contains(act.Reason, "s3://"+syncBucket+"/"+syncKey) && slices.Equal(act.Services, []string{"kms"})
		}
	}
	if !found {
		t.Error("the WebAppRole exception read from S3 was not applied (or its source not named)")
	}
}
