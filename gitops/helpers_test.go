package gitops

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/iamprune/iamprune"
)

// Fixture files of the infrastructure repository.
const (
	fixJSONPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Read",
      "Effect": "Allow",
      "Action": [
        "s3:GetObject",
        "s3:ListBucket",
        "s3:DeleteBucket"
      ],
      "Resource": "*"
    }
  ]
}
`
	fixCFNYAML = `AWSTemplateFormatVersion: "2010-09-09"
Description: App stack   # owned by team-app
Parameters:
  Env:
    Type: String
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "app-${Env}-data"
  AppPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: app-data
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: Data
            Effect: Allow
            Action:
              - s3:GetObject
              - s3:PutObject
              - s3:DeleteObject
            Resource: !Sub "arn:aws:s3:::app-${Env}-data/*"
          # Queue access for the worker
          - Sid: Queue
            Effect: Allow
            Action: sqs:*
            Resource: !GetAtt Queue.Arn
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Join ["-", [app, !Ref Env]]
      ManagedPolicyArns:
        - !Ref AppPolicy
      Policies:
        - PolicyName: logs
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: [logs:CreateLogStream, logs:PutLogEvents, logs:DeleteLogGroup]
                Resource: "*"
Outputs:
  RoleArn:
    Value: !GetAtt AppRole.Arn
`
	fixCFNJSON = `{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Resources": {
    "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST"}},
    "WorkerRole": {
      "Type": "AWS::IAM::Role",
      "Properties": {
        "RoleName": {"Fn::Sub": "worker-${AWS::Region}"},
        "Policies": [
          {
            "PolicyName": "worker",
            "PolicyDocument": {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "Table",
                  "Effect": "Allow",
                  "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"],
                  "Resource": {"Fn::GetAtt": ["Table", "Arn"]}
                },
                {
                  "Sid": "Keys",
                  "Effect": "Allow",
                  "Action": "kms:*",
                  "Resource": "*"
                }
              ]
            }
          }
        ]
      }
    }
  }
}
`
	fixTF = `# IAM for the reporting stack
resource "aws_iam_policy" "reports" {
  name   = "reports"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["athena:StartQueryExecution", "athena:GetQueryResults", "glue:GetTable"]
        Resource = "*"
      },
    ]
  })
}

resource "aws_iam_role_policy" "uploader" {
  name   = "uploader"
  role   = aws_iam_role.uploader.id
  policy = <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:PutObject", "s3:ListBucket"],
      "Resource": "arn:aws:s3:::uploads/$${aws:username}/*"
    }
  ]
}
EOF
}

data "aws_iam_policy_document" "sync" {
  statement {
    sid = "Read"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:DeleteTable",
    ]
    resources = [aws_dynamodb_table.sync.arn] # the table of this stack
  }

  statement {
    sid       = "Admin"
    actions   = ["dynamodb:*"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "sync" {
  name   = "sync"
  policy = data.aws_iam_policy_document.sync.json
}
`
	fixReadme = "# infra\n"
)

func fixtureFiles() map[string]string {
	return map[string]string{
		"README.md":                fixReadme,
		"policies/app-reader.json": fixJSONPolicy,
		"cfn/app.yaml":             fixCFNYAML,
		"cfn/data.json":            fixCFNJSON,
		"tf/iam.tf":                fixTF,
	}
}

var testTime = time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)

// makeRepo creates a repository (bare or not) whose main branch has one
// commit holding files. A non-bare repository gets a checked-out worktree.
func makeRepo(t *testing.T, dir string, bare bool, files map[string]string) (*git.Repository, plumbing.Hash) {
	t.Helper()
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		Bare:        bare,
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		t.Fatal(err)
	}
	tree := buildTestTree(t, r.Storer, files)
	sig := object.Signature{Name: "Dev", Email: "dev@example.com", When: testTime.Add(-24 * time.Hour)}
	h, err := writeCommit(r.Storer, &object.Commit{Author: sig, Committer: sig, Message: "initial\n", TreeHash: tree})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("main"), h)); err != nil {
		t.Fatal(err)
	}
	if !bare {
		wt, err := r.Worktree()
		if err != nil {
			t.Fatal(err)
		}
		if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName("main"), Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	return r, h
}

// buildTestTree writes nested trees for a flat map of paths.
func buildTestTree(t *testing.T, s storer.EncodedObjectStorer, files map[string]string) plumbing.Hash {
	t.Helper()
	dirs := map[string]map[string]string{}
	var entries []object.TreeEntry
	for p, c := range files {
		if d, rest, ok := strings.Cut(p, "/"); ok {
			if dirs[d] == nil {
				dirs[d] = map[string]string{}
			}
			dirs[d][rest] = c
			continue
		}
		h, err := writeBlob(s, []byte(c))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, object.TreeEntry{Name: p, Mode: filemode.Regular, Hash: h})
	}
	for d, fs := range dirs {
		entries = append(entries, object.TreeEntry{Name: d, Mode: filemode.Dir, Hash: buildTestTree(t, s, fs)})
	}
	// Git orders tree entries by name, directories as if followed by '/'.
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
	obj := s.NewEncodedObject()
	if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
		t.Fatal(err)
	}
	h, err := s.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// branchFiles reads every file of a branch.
func branchFiles(t *testing.T, r *git.Repository, branch string) (*object.Commit, map[string]string) {
	t.Helper()
	ref, err := r.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		t.Fatalf("branch %s: %v", branch, err)
	}
	c, err := r.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err = tree.Files().ForEach(func(f *object.File) error {
		s, err := f.Contents()
		out[f.Name] = s
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, out
}

// fakeGitHub plays the pull request endpoints of the GitHub REST API.
type fakeGitHub struct {
	t      *testing.T
	mu     sync.Mutex
	reqs   []ghRequest
	pulls  []map[string]any
	server *httptest.Server
}

type ghRequest struct {
	Method, Path, Query, Auth string
	Body                      map[string]any
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	g := &fakeGitHub{t: t}
	g.server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.server.Close)
	return g
}

func (g *fakeGitHub) requests() []ghRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]ghRequest{}, g.reqs...)
}

func (g *fakeGitHub) count(method string) int {
	n := 0
	for _, r := range g.requests() {
		if r.Method == method {
			n++
		}
	}
	return n
}

func (g *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	rec := ghRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &rec.Body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
	}
	g.reqs = append(g.reqs, rec)
	w.Header().Set("Content-Type", "application/json")
	const prefix = "/repos/team/infra/pulls"
	switch {
	case r.Method == "GET" && r.URL.Path == prefix:
		q := r.URL.Query()
		out := []map[string]any{}
		for _, p := range g.pulls {
			head := p["head"].(map[string]any)
			if (q.Get("state") == "" || q.Get("state") == p["state"]) && (q.Get("head") == "" || q.Get("head") == "team:"+head["ref"].(string)) {
				out = append(out, p)
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	case r.Method == "POST" && r.URL.Path == prefix:
		for _, k := range []string{"title", "head", "base", "body"} {
			if _, ok := rec.Body[k].(string); !ok {
				http.Error(w, `{"message":"Validation Failed"}`, http.StatusUnprocessableEntity)
				return
			}
		}
		n := len(g.pulls) + 1
		p := map[string]any{
			"number": n, "state": "open", "title": rec.Body["title"], "body": rec.Body["body"],
			"html_url": "https://github.example/team/infra/pull/" + strconv.Itoa(n),
			"head":     map[string]any{"ref": rec.Body["head"]}, "base": map[string]any{"ref": rec.Body["base"]},
		}
		g.pulls = append(g.pulls, p)
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(p)
	case r.Method == "PATCH" && path.Dir(r.URL.Path) == prefix:
		n, _ := strconv.Atoi(path.Base(r.URL.Path))
		if n < 1 || n > len(g.pulls) {
			http.Error(w, `{"message":"Not Found"}`, 404)
			return
		}
		p := g.pulls[n-1]
		for _, k := range []string{"title", "body", "state"} {
			if v, ok := rec.Body[k]; ok {
				p[k] = v
			}
		}
		_ = json.NewEncoder(w).Encode(p)
	default:
		http.Error(w, `{"message":"Not Found"}`, 404)
	}
}

// Policy documents of the scenario (compact JSON, as plans hold them).
const (
	readerBefore  = `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:DeleteBucket"],"Resource":"*"}]}`
	readerAfter   = `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}`
	readerAfter2  = `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}]}`
	appBefore     = `{"Version":"2012-10-17","Statement":[{"Sid":"Data","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::app-prod-data/*"},{"Sid":"Queue","Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:111122223333:app"}]}`
	appAfter      = `{"Version":"2012-10-17","Statement":[{"Sid":"Data","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::app-prod-data/*"}]}`
	logsBefore    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents","logs:DeleteLogGroup"],"Resource":"*"}]}`
	logsAfter     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`
	workerBefore  = `{"Version":"2012-10-17","Statement":[{"Sid":"Table","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:Scan"],"Resource":"arn:aws:dynamodb:us-east-1:111122223333:table/t"},{"Sid":"Keys","Effect":"Allow","Action":"kms:*","Resource":"*"}]}`
	workerAfter   = `{"Version":"2012-10-17","Statement":[{"Sid":"Table","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem"],"Resource":"arn:aws:dynamodb:us-east-1:111122223333:table/t"},{"Sid":"Keys","Effect":"Allow","Action":["kms:Decrypt"],"Resource":"*"}]}`
	reportsBefore = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["athena:StartQueryExecution","athena:GetQueryResults","glue:GetTable"],"Resource":"*"}]}`
	reportsAfter  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["athena:StartQueryExecution","athena:GetQueryResults"],"Resource":"*"}]}`
	uploadBefore  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:ListBucket"],"Resource":"arn:aws:s3:::uploads/${aws:username}/*"}]}`
	uploadAfter   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::uploads/${aws:username}/*"}]}`
	syncBefore    = `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query","dynamodb:DeleteTable"],"Resource":"arn:aws:dynamodb:us-east-1:111122223333:table/sync"},{"Sid":"Admin","Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}`
	syncAfter     = `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query"],"Resource":"arn:aws:dynamodb:us-east-1:111122223333:table/sync"}]}`
)

const acct = "111122223333"

func arn(role string) string { return "arn:aws:iam::" + acct + ":role/" + role }

func change(policy, name string, typ iamprune.PolicyType, before string, after ...string) iamprune.PolicyChange {
	c := iamprune.PolicyChange{Policy: policy, Name: name, Type: typ, Before: json.RawMessage(before),
		Evidence: "Removed, unused for 120+ days: `" + name + "` actions (last accessed 2026-01-02)."}
	c.After = []json.RawMessage{}
	for _, a := range after {
		c.After = append(c.After, json.RawMessage(a))
	}
	return c
}

func propose(principal string, cs ...iamprune.PolicyChange) iamprune.Action {
	return iamprune.Action{ID: "a-" + principal, Account: acct, Principal: principal, FindingType: iamprune.UnusedPermission,
		Kind: iamprune.KindProposePolicy, Services: []string{}, Policies: cs}
}

func managedARN(name string) string { return "arn:aws:iam::" + acct + ":policy/" + name }

// scenario is the plan and facts of the end-to-end tests; reader is the
// refined document of the reader role, which the tests vary.
func scenario(reader string) Request {
	facts := &iamprune.Facts{Account: acct, Principals: map[string]*iamprune.Principal{
		arn("app"): {ARN: arn("app"), Tags: map[string]string{iamprune.SourceTag: "cfn/app.yaml"}},
	}}
	return Request{
		RunID:   "run-1",
		Account: acct,
		Facts:   facts,
		Actions: []iamprune.Action{
			{Kind: iamprune.KindNotify, Principal: arn("app")},
			propose(arn("app"),
				change(managedARN("app-data"), "app-data", iamprune.PolicyManaged, appBefore, appAfter),
				change("logs", "logs", iamprune.PolicyInline, logsBefore, logsAfter)),
			propose(arn("reader"),
				change("reader", "reader", iamprune.PolicyInline, readerBefore, reader),
				change("other", "other", iamprune.PolicyInline, readerBefore, readerAfter)),
			propose(arn("worker"), change("worker", "worker", iamprune.PolicyInline, workerBefore, workerAfter)),
			propose(arn("reports"), change(managedARN("reports"), "reports", iamprune.PolicyManaged, reportsBefore, reportsAfter)),
			propose(arn("uploader"), change("uploader", "uploader", iamprune.PolicyInline, uploadBefore, uploadAfter)),
			propose(arn("sync"), change(managedARN("sync"), "sync", iamprune.PolicyManaged, syncBefore, syncAfter)),
		},
		PlanMarkdown: "| principal | kind |\n|---|---|\n| app | propose-policy |\n",
	}
}

func scenarioFiles() []iamprune.ProposeFile {
	return []iamprune.ProposeFile{
		{Principal: arn("reader"), Policy: "reader*", Path: "policies/app-reader.json"},
		{Principal: arn("worker*"), Path: "cfn/data.json", Pointer: "WorkerRole"},
		{Principal: arn("reports"), Path: "tf/iam.tf", Pointer: "aws_iam_policy.reports"},
		{Principal: arn("uploader"), Path: "tf/iam.tf", Pointer: "aws_iam_role_policy.uploader"},
		{Principal: arn("sync"), Path: "tf/iam.tf", Pointer: "aws_iam_policy.sync"},
	}
}
