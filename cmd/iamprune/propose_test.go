package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// fakeGitHub plays GitHub's pull-request endpoints for owner/repo.
type fakeGitHub struct {
	mu    sync.Mutex
	srv   *httptest.Server
	pulls []map[string]any
	calls []string // "METHOD path"
	auth  []string
	body  string // the last body sent
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	g := &fakeGitHub{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.calls = append(g.calls, r.Method+" "+r.URL.Path)
		g.auth = append(g.auth, r.Header.Get("Authorization"))
		var in map[string]any
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			_ = json.Unmarshal(b, &in)
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/repos/acme/infra/pulls":
			open := []map[string]any{}
			for _, p := range g.pulls {
				if p["head"].(map[string]any)["label"] == r.URL.Query().Get("head") {
					open = append(open, p)
				}
			}
			_ = json.NewEncoder(w).Encode(open)
		case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/infra/pulls":
			n := len(g.pulls) + 1
			g.body, _ = in["body"].(string)
			p := map[string]any{"number": n, "state": "open", "html_url": g.srv.URL + "/acme/infra/pull/" + strconv.Itoa(n),
				"title": in["title"], "body": in["body"], "head": map[string]any{"ref": in["head"], "label": "acme:" + in["head"].(string)}, "base": map[string]any{"ref": in["base"]}}
			g.pulls = append(g.pulls, p)
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(p)
		case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/repos/acme/infra/pulls/"):
			p := g.pulls[len(g.pulls)-1]
			p["title"], p["body"] = in["title"], in["body"]
			g.body, _ = in["body"].(string)
			_ = json.NewEncoder(w).Encode(p)
		default:
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGitHub) count(method string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.calls {
		if strings.HasPrefix(c, method+" ") {
			n++
		}
	}
	return n
}

// infraRepo makes a git repository whose main branch holds the demo's
// WebAppPolicy as iam/webapp.json, written as a team would.
func infraRepo(t *testing.T, doc []byte) string {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, doc, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	if err := os.MkdirAll(filepath.Join(dir, "iam"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "iam", "webapp.json"), pretty.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add("iam/webapp.json"); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "dev", Email: "dev@example.com", When: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := wt.Commit("infra", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestProposePolicy proposes the demo's refined WebAppPolicy as a pull
// request: the branch holds the refined file, the pull request is opened
// once and a re-run with nothing new changes nothing; IAM is not touched.
func TestProposePolicy(t *testing.T) {
	t.Parallel()
	acct := newAccount(t)
	gh := newFakeGitHub(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "iamprune.yaml")
	write := func(repo string) {
		cfg := `exceptions: ` + filepath.Join(repoRoot(t), "examples", "demo", "exceptions.yaml") + `
rules:
  UnusedPermission: {notify_after_days: 30, remediate_after_days: 120, action: propose-policy}
notifications: {require_prior_notice: false}
propose:
  repo: ` + repo + `
  github_repo: acme/infra
  github_api: ` + gh.srv.URL + `/
  token_env: TEST_GITHUB_TOKEN
  files:
    - principal: arn:aws:iam::*:role/WebAppRole
      path: iam/webapp.json
`
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("/nonexistent")
	env := map[string]string{"TEST_GITHUB_TOKEN": "ghs_test"}
	args := func(a ...string) []string {
		return append(a, "--config", cfgPath, "--now", demoNow, "--state", acct.state, "--audit-log", filepath.Join(acct.dir, "audit.jsonl"))
	}

	p := decodePlan(t, runCLIEnv(t, env, "plan", "--config", cfgPath, "--now", demoNow, "--state", acct.state, "-o", "json"))
	var web *iamprune.Action
	for i, a := range p.Actions {
		if a.Kind == iamprune.KindProposePolicy && a.Target == "WebAppRole" {
			web = &p.Actions[i]
		}
	}
	if web == nil || len(web.Policies) != 1 {
		t.Fatalf("no propose-policy entry for WebAppRole: %+v", p.Actions)
	}
	repo := infraRepo(t, web.Policies[0].Before)
	write(repo)

	before := acct.dump(t)
	r := runCLIEnv(t, env, args("apply", "--yes", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("apply exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	res := decodeRun(t, r)
	if len(res.Proposals) != 1 {
		t.Fatalf("proposals %+v", res.Proposals)
	}
	pr := res.Proposals[0]
	if pr.Error != "" || pr.Number != 1 || pr.Updated || pr.Files != 1 || pr.Branch != "iamprune/least-privilege-111122223333" {
		t.Fatalf("proposal %+v", pr)
	}
	if len(pr.Unmapped) != 1 || !strings.Contains(pr.Unmapped[0], "ci-deployer") {
		t.Errorf("ci-deployer's policy has no file mapping and must be reported: %v", pr.Unmapped)
	}
	for _, c := range changed(t, before, acct.dump(t)) {
		if strings.Contains(c, "WebApp") || strings.Contains(c, "ci-deployer") {
			t.Errorf("propose-policy changed IAM: %s", c)
		}
	}
	if gh.count("POST") != 1 || !strings.Contains(gh.body, "WebAppPolicy") || !strings.Contains(gh.body, "ec2:DescribeInstances") {
		t.Errorf("pull request: calls %v, body:\n%s", gh.calls, gh.body)
	}
	for _, a := range gh.auth {
		if a != "Bearer ghs_test" && a != "token ghs_test" {
			t.Errorf("GitHub call authorised with %q", a)
		}
	}

	// The branch holds the refined policy: no ec2, the rest as it was.
	g, err := git.PlainOpen(repo)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := g.Reference(plumbing.NewBranchReferenceName(pr.Branch), true)
	if err != nil {
		t.Fatalf("branch %s: %v", pr.Branch, err)
	}
	commit, err := g.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	f, err := commit.File("iam/webapp.json")
	if err != nil {
		t.Fatal(err)
	}
	content, _ := f.Contents()
	doc, err := policy.Parse([]byte(content))
	if err != nil {
		t.Fatalf("refined file: %v\n%s", err, content)
	}
	docs := []policy.Document{doc}
	if policy.Allowed(docs, "ec2:DescribeInstances") || !policy.Allowed(docs, "s3:GetObject") {
		t.Errorf("refined file:\n%s", content)
	}
	if head, _ := g.Head(); head.Name().Short() != "main" {
		t.Errorf("the repository's HEAD moved to %s", head.Name())
	}

	// Again: the same refinement, nothing to commit, no new pull request.
	r = runCLIEnv(t, env, args("apply", "--yes", "-o", "json")...)
	again := decodeRun(t, r)
	if r.code != 0 || len(again.Proposals) != 1 || !again.Proposals[0].NoChange || gh.count("POST") != 1 {
		t.Errorf("second apply: exit %d, proposals %+v, calls %v\n%s", r.code, again.Proposals, gh.calls, r.stderr)
	}

	// Without a token the run stops before any change, saying why.
	writes := len(acct.srv.Writes())
	r = runCLIEnv(t, nil, args("apply", "--yes", "-o", "json")...)
	if r.code != 2 || !strings.Contains(r.stderr, "nothing changed") || !strings.Contains(r.stderr, "TEST_GITHUB_TOKEN is not set") {
		t.Errorf("apply without a token: exit %d\n%s", r.code, r.stderr)
	}
	if w := acct.srv.Writes()[writes:]; len(w) != 0 {
		t.Errorf("apply without a token wrote %v", w)
	}
}
