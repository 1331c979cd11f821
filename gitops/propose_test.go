package gitops

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"go.yaml.in/yaml/v3"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("fixture snippet not found exactly once: %q", old)
	}
	return strings.Replace(s, old, new, 1)
}

// wantFiles is the repository after the scenario's first run: each edit
// spelled out, every other byte as in the fixture.
func wantFiles(t *testing.T) map[string]string {
	yml := replaceOnce(t, fixCFNYAML, `            Action:
              - s3:GetObject
              - s3:PutObject
              - s3:DeleteObject
`, `            Action:
              - s3:GetObject
`)
	yml = replaceOnce(t, yml, `          # Queue access for the worker
          - Sid: Queue
            Effect: Allow
            Action: sqs:*
            Resource: !GetAtt Queue.Arn
`, "")
	yml = replaceOnce(t, yml, `Action: [logs:CreateLogStream, logs:PutLogEvents, logs:DeleteLogGroup]`, `Action: [logs:CreateLogStream, logs:PutLogEvents]`)

	cfnJSON := replaceOnce(t, fixCFNJSON, `["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"]`, `["dynamodb:GetItem", "dynamodb:PutItem"]`)
	cfnJSON = replaceOnce(t, cfnJSON, `"Action": "kms:*"`, `"Action": ["kms:Decrypt"]`)

	tf := replaceOnce(t, fixTF, `["athena:StartQueryExecution", "athena:GetQueryResults", "glue:GetTable"]`, `["athena:StartQueryExecution", "athena:GetQueryResults"]`)
	tf = replaceOnce(t, tf, `"Action": ["s3:PutObject", "s3:ListBucket"],`, `"Action": ["s3:PutObject"],`)
	tf = replaceOnce(t, tf, `      "dynamodb:Query",
      "dynamodb:DeleteTable",
`, `      "dynamodb:Query",
`)
	tf = replaceOnce(t, tf, `

  statement {
    sid       = "Admin"
    actions   = ["dynamodb:*"]
    resources = ["*"]
  }
`, "\n")

	return map[string]string{
		"README.md": fixReadme,
		"policies/app-reader.json": replaceOnce(t, fixJSONPolicy, `        "s3:ListBucket",
        "s3:DeleteBucket"
`, `        "s3:ListBucket"
`),
		"cfn/app.yaml":  yml,
		"cfn/data.json": cfnJSON,
		"tf/iam.tf":     tf,
	}
}

func newProposer(repo, mode, api string) *Proposer {
	return &Proposer{
		Config: iamprune.Propose{
			Repo: repo, Base: "main", Mode: mode, GitHubRepo: "team/infra", GitHubAPI: api,
			Files: scenarioFiles(), AuthorName: "iamprune bot", AuthorEmail: "iamprune@example.com",
		},
		Token: "s3cret",
		Now:   func() time.Time { return testTime },
	}
}

func TestProposeGitHub(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "infra.git")
	r, mainHash := makeRepo(t, dir, true, fixtureFiles())
	gh := newFakeGitHub(t)
	p := newProposer(dir, iamprune.ProposeGitHub, gh.server.URL)

	res, err := p.Propose(ctx, scenario(readerAfter))
	if err != nil {
		t.Fatal(err)
	}
	if res.NoChange || res.Branch != "iamprune/least-privilege-111122223333" {
		t.Fatalf("result: %+v", res)
	}
	c, files := branchFiles(t, r, res.Branch)
	if c.Hash.String() != res.Commit || len(c.ParentHashes) != 1 || c.ParentHashes[0] != mainHash {
		t.Fatalf("commit %s parents %v, want one parent %s", c.Hash, c.ParentHashes, mainHash)
	}
	for path, want := range wantFiles(t) {
		if files[path] != want {
			t.Errorf("%s after the edit:\n%s\nwant:\n%s", path, files[path], want)
		}
	}
	if len(files) != 5 {
		t.Errorf("files on the branch: %d, want 5", len(files))
	}
	// The edited files parse, and hold the refined documents.
	var y yaml.Node
	if err := yaml.Unmarshal([]byte(files["cfn/app.yaml"]), &y); err != nil {
		t.Fatal(err)
	}
	if got := policyAt(t, files["policies/app-reader.json"]); got != norm(mustParse(t, readerAfter)) {
		t.Errorf("reader policy: %s", got)
	}
	if c.Author.Name != "iamprune bot" || c.Author.Email != "iamprune@example.com" || !c.Author.When.Equal(testTime) || c.Committer.Name != "iamprune bot" {
		t.Errorf("author %+v committer %+v", c.Author, c.Committer)
	}
	if !strings.HasPrefix(c.Message, "iamprune: refine 7 policies to what was used\n\n") ||
		!strings.Contains(c.Message, "- arn:aws:iam::111122223333:role/worker: worker in cfn/data.json#WorkerRole\n") ||
		!strings.Contains(c.Message, "iamprune-run: run-1") {
		t.Errorf("commit message:\n%s", c.Message)
	}
	// main is untouched.
	if ref, _ := r.Reference(plumbing.NewBranchReferenceName("main"), true); ref.Hash() != mainHash {
		t.Error("main moved")
	}

	reqs := gh.requests()
	if len(reqs) != 2 || reqs[0].Method != "GET" || reqs[1].Method != "POST" {
		t.Fatalf("requests: %+v", reqs)
	}
	if !strings.Contains(reqs[0].Query, "head=team%3Aiamprune%2Fleast-privilege-111122223333") || !strings.Contains(reqs[0].Query, "state=open") {
		t.Errorf("list query %q", reqs[0].Query)
	}
	if reqs[1].Auth != "Bearer s3cret" {
		t.Errorf("auth %q", reqs[1].Auth)
	}
	post := reqs[1].Body
	if post["head"] != res.Branch || post["base"] != "main" || !strings.Contains(post["title"].(string), "111122223333") {
		t.Errorf("pull request: %v", post)
	}
	body := post["body"].(string)
	for _, want := range []string{
		"```diff\n--- before/worker\n+++ after/worker\n",
		"-        \"dynamodb:Scan\"",
		"Removed, unused for 120+ days: `sync` actions (last accessed 2026-01-02).",
		"### How to reject this change",
		"docs/exceptions.md",
		"Not in this pull request: `other` of `arn:aws:iam::111122223333:role/reader`",
		"| app | propose-policy |",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	if res.PullRequest == nil || res.PullRequest.Number != 1 || res.PullRequest.Updated || res.PullRequest.URL == "" {
		t.Errorf("pull request result %+v", res.PullRequest)
	}
	if len(res.Unmapped) != 1 || res.Unmapped[0].Policy != "other" {
		t.Errorf("unmapped %+v", res.Unmapped)
	}

	// Second run, refinement changed: one new commit on the branch's tip
	// (the reader's earlier refinement is replaced), same PR updated.
	res2, err := p.Propose(ctx, scenario(readerAfter2))
	if err != nil {
		t.Fatal(err)
	}
	c2, files2 := branchFiles(t, r, res2.Branch)
	if res2.NoChange || c2.Hash == c.Hash || len(c2.ParentHashes) != 1 || c2.ParentHashes[0] != c.Hash {
		t.Fatalf("second run: %+v, commit parents %v", res2, c2.ParentHashes)
	}
	if got := policyAt(t, files2["policies/app-reader.json"]); got != norm(mustParse(t, readerAfter2)) {
		t.Errorf("reader policy after the second run: %s", got)
	}
	if gh.count("POST") != 1 || gh.count("PATCH") != 1 {
		t.Fatalf("requests after the second run: %+v", gh.requests())
	}
	last := gh.requests()[len(gh.requests())-1]
	if last.Path != "/repos/team/infra/pulls/1" || !strings.Contains(last.Body["body"].(string), "-        \"s3:ListBucket\"") {
		t.Errorf("patch %+v", last)
	}
	if !res2.PullRequest.Updated || res2.PullRequest.Number != 1 {
		t.Errorf("second run PR %+v", res2.PullRequest)
	}

	// Third run, nothing changed: no commit, no edit.
	n := len(gh.requests())
	res3, err := p.Propose(ctx, scenario(readerAfter2))
	if err != nil {
		t.Fatal(err)
	}
	c3, _ := branchFiles(t, r, res3.Branch)
	if !res3.NoChange || c3.Hash != c2.Hash || res3.Commit != c2.Hash.String() {
		t.Fatalf("third run: %+v, tip %s want %s", res3, c3.Hash, c2.Hash)
	}
	for _, q := range gh.requests()[n:] {
		if q.Method != "GET" {
			t.Errorf("third run made %s %s", q.Method, q.Path)
		}
	}
	if res3.PullRequest == nil || res3.PullRequest.Number != 1 || res3.PullRequest.Updated {
		t.Errorf("third run PR %+v", res3.PullRequest)
	}
}

func mustParse(t *testing.T, s string) policy.Document {
	t.Helper()
	d, err := policy.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func policyAt(t *testing.T, s string) string {
	return norm(mustParse(t, s))
}

func TestProposeLocalModeNonBare(t *testing.T) {
	dir := t.TempDir()
	r, mainHash := makeRepo(t, dir, false, fixtureFiles())
	gh := newFakeGitHub(t)
	p := newProposer(dir, iamprune.ProposeLocal, gh.server.URL)
	p.Config.GitHubRepo = ""
	res, err := p.Propose(context.Background(), scenario(readerAfter))
	if err != nil {
		t.Fatal(err)
	}
	if len(gh.requests()) != 0 || res.PullRequest != nil {
		t.Fatalf("local mode called GitHub: %+v", gh.requests())
	}
	c, files := branchFiles(t, r, res.Branch)
	if c.ParentHashes[0] != mainHash || files["tf/iam.tf"] != wantFiles(t)["tf/iam.tf"] {
		t.Fatalf("branch content wrong")
	}
	// HEAD and the working tree are as they were.
	head, err := r.Head()
	if err != nil || head.Name() != plumbing.NewBranchReferenceName("main") || head.Hash() != mainHash {
		t.Fatalf("HEAD %v %v", head, err)
	}
	onDisk, _ := os.ReadFile(filepath.Join(dir, "tf/iam.tf"))
	if string(onDisk) != fixTF {
		t.Error("working tree changed")
	}
	wt, _ := r.Worktree()
	if st, err := wt.Status(); err != nil || !st.IsClean() {
		t.Errorf("worktree status %v %v", st, err)
	}
	// A re-run finds the branch as it should be.
	res2, err := p.Propose(context.Background(), scenario(readerAfter))
	if err != nil || !res2.NoChange || res2.Commit != res.Commit {
		t.Fatalf("re-run: %+v %v", res2, err)
	}
}

// TestProposeRemoteURL goes through clone, fetch and push, with a file://
// URL (go-git's file transport runs git-upload-pack/git-receive-pack).
func TestProposeRemoteURL(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git not installed: the file:// transport needs it (scripts/test installs it)")
		}
		t.Skip("git not installed: the file:// transport needs it")
	}
	dir := filepath.Join(t.TempDir(), "infra.git")
	r, mainHash := makeRepo(t, dir, true, fixtureFiles())
	p := newProposer("file://"+dir, iamprune.ProposeLocal, "")
	res, err := p.Propose(context.Background(), scenario(readerAfter))
	if err != nil {
		t.Fatal(err)
	}
	c, files := branchFiles(t, r, res.Branch)
	if c.Hash.String() != res.Commit || c.ParentHashes[0] != mainHash || files["cfn/app.yaml"] != wantFiles(t)["cfn/app.yaml"] {
		t.Fatalf("pushed branch wrong: %+v", res)
	}
	res2, err := p.Propose(context.Background(), scenario(readerAfter))
	if err != nil || !res2.NoChange || res2.Commit != res.Commit {
		t.Fatalf("re-run: %+v %v", res2, err)
	}
	res3, err := p.Propose(context.Background(), scenario(readerAfter2))
	if err != nil || res3.NoChange {
		t.Fatalf("changed run: %+v %v", res3, err)
	}
	c3, _ := branchFiles(t, r, res3.Branch)
	if c3.Hash.String() != res3.Commit || c3.ParentHashes[0] != c.Hash {
		t.Fatalf("pushed branch: %s parents %v, want the earlier tip %s", c3.Hash, c3.ParentHashes, c.Hash)
	}
}

func TestMapping(t *testing.T) {
	cfg := iamprune.Propose{Files: []iamprune.ProposeFile{
		{Principal: "arn:aws:iam::*:role/team-*", Policy: "*reader*", Path: "a.json"},
		{Principal: "arn:aws:iam::*:role/team-*", Path: "b.json", Pointer: "/x"},
	}}
	facts := &iamprune.Facts{Principals: map[string]*iamprune.Principal{
		arn("team-tagged"): {Tags: map[string]string{iamprune.SourceTag: "infra/roles.yaml#Tagged"}},
	}}
	req := Request{Facts: facts, Actions: []iamprune.Action{
		propose(arn("team-tagged"), change("p", "p", iamprune.PolicyInline, readerBefore, readerAfter)),
		propose(arn("team-a"),
			change(managedARN("s3-reader"), "s3-reader", iamprune.PolicyManaged, readerBefore, readerAfter),
			change("inline", "inline", iamprune.PolicyInline, readerBefore, readerAfter),
			change("arn:aws:iam::aws:policy/ReadOnlyAccess", "ReadOnlyAccess", iamprune.PolicyAWSManaged, readerBefore, readerAfter)),
		propose(arn("other"), change("p", "p", iamprune.PolicyInline, readerBefore, readerAfter)),
		{Kind: iamprune.KindRewritePolicy, Principal: arn("team-b"), Policies: []iamprune.PolicyChange{change("p", "p", iamprune.PolicyInline, readerBefore, readerAfter)}},
	}}
	ts, un, err := mapTargets(cfg, req)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, x := range ts {
		got = append(got, x.principal+" "+x.change.Name+" -> "+x.path+"#"+x.pointer+" by "+x.by)
	}
	want := []string{
		arn("team-tagged") + " p -> infra/roles.yaml#Tagged by tag",
		arn("team-a") + " s3-reader -> a.json# by config (propose.files[0])",
		arn("team-a") + " inline -> b.json#/x by config (propose.files[1])",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("targets:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(un) != 2 || un[0].Policy != "arn:aws:iam::aws:policy/ReadOnlyAccess" || !strings.Contains(un[0].Why, "AWS-managed") || un[1].Principal != arn("other") {
		t.Errorf("unmapped %+v", un)
	}

	// A tag that escapes the repository is refused.
	facts.Principals[arn("team-tagged")].Tags[iamprune.SourceTag] = "../etc/passwd"
	if _, _, err := mapTargets(cfg, req); err == nil || !strings.Contains(err.Error(), "iamprune:source") {
		t.Errorf("bad tag: %v", err)
	}
}

func TestProposeNothingMapped(t *testing.T) {
	gh := newFakeGitHub(t)
	p := newProposer(filepath.Join(t.TempDir(), "does-not-exist"), iamprune.ProposeGitHub, gh.server.URL)
	p.Config.Files = nil
	req := scenario(readerAfter)
	req.Facts = nil
	res, err := p.Propose(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NoChange || res.Commit != "" || len(res.Files) != 0 || len(res.Unmapped) != 8 || !strings.Contains(res.Summary, "none of the 8 proposed policies maps to a file") {
		t.Fatalf("%+v", res)
	}
	if len(gh.requests()) != 0 {
		t.Error("GitHub called")
	}
}

func TestProposeBadPointer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "infra.git")
	r, _ := makeRepo(t, dir, true, fixtureFiles())
	gh := newFakeGitHub(t)
	p := newProposer(dir, iamprune.ProposeGitHub, gh.server.URL)
	p.Config.Files[1].Pointer = "NoSuchRole"
	_, err := p.Propose(context.Background(), scenario(readerAfter))
	if err == nil || iamprune.ErrorCode(err) != iamprune.EINVALID ||
		!strings.Contains(err.Error(), `cfn/data.json (pointer "NoSuchRole"`) || !strings.Contains(err.Error(), `no resource "NoSuchRole" in Resources`) {
		t.Fatalf("error: %v", err)
	}
	if _, err := r.Reference(plumbing.NewBranchReferenceName(Branch(acct)), true); err == nil {
		t.Error("branch created despite the error")
	}
	if len(gh.requests()) != 0 {
		t.Error("GitHub called despite the error")
	}
}

func TestProposeRefusesDrift(t *testing.T) {
	files := fixtureFiles()
	files["policies/app-reader.json"] = strings.Replace(fixJSONPolicy, `"Resource": "*"`, `"Resource": "arn:aws:s3:::other"`, 1)
	dir := filepath.Join(t.TempDir(), "infra.git")
	makeRepo(t, dir, true, files)
	p := newProposer(dir, iamprune.ProposeLocal, "")
	_, err := p.Propose(context.Background(), scenario(readerAfter))
	if err == nil || !strings.Contains(err.Error(), "policies/app-reader.json") || !strings.Contains(err.Error(), "differs from the live policy") {
		t.Fatalf("error: %v", err)
	}
}

func TestProposeRemoveAndSplit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "infra.git")
	r, _ := makeRepo(t, dir, true, fixtureFiles())
	gh := newFakeGitHub(t)
	p := newProposer(dir, iamprune.ProposeGitHub, gh.server.URL)
	part2 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket"],"Resource":"*"}]}`
	req := Request{RunID: "r", Account: acct, Actions: []iamprune.Action{
		propose(arn("reader"), change("reader", "reader", iamprune.PolicyInline, readerBefore, readerAfter2, part2)),
		propose(arn("sync"), change(managedARN("sync"), "sync", iamprune.PolicyManaged, syncBefore)),
	}}
	res, err := p.Propose(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || res.Files[0].Status != StatusWritten || res.Files[0].ExtraParts != 1 || res.Files[1].Status != StatusRemoveByHand {
		t.Fatalf("files %+v", res.Files)
	}
	_, files := branchFiles(t, r, res.Branch)
	if files["tf/iam.tf"] != fixTF {
		t.Error("a policy to remove was edited")
	}
	if policyAt(t, files["policies/app-reader.json"]) != norm(mustParse(t, readerAfter2)) {
		t.Error("After[0] not written")
	}
	body := gh.requests()[1].Body["body"].(string)
	for _, want := range []string{"grants nothing that was used: remove it by hand from `tf/iam.tf` (`aws_iam_policy.sync`)", "split into 2 documents", "Additional document 2 of 2 (a new policy):\n\n```json\n", "**+1 new policy needed**"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	if !strings.HasPrefix(res.Summary, "branch iamprune/least-privilege-111122223333: commit") {
		t.Error(res.Summary)
	}
}

func TestBodyStaysUnderLimit(t *testing.T) {
	var big []string
	for i := range 3000 {
		big = append(big, `"svc:Action`+strings.Repeat("x", 10)+string(rune('a'+i%26))+`"`)
	}
	before := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[` + strings.Join(big, ",") + `],"Resource":"*"}]}`
	after := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["svc:Get"],"Resource":"*"}]}`
	res := &Result{Branch: Branch(acct)}
	for i := range 3 {
		c := change("p", "policy"+string(rune('0'+i)), iamprune.PolicyInline, before, after)
		c.Evidence = "### Evidence " + string(rune('0'+i)) + "\n" + strings.Repeat("removed svc:Action (never used)\n", 50)
		res.Files = append(res.Files, FileChange{Principal: arn("p"), Name: c.Name, Path: "p.json", Status: StatusWritten, change: c})
	}
	body := renderBody(Request{Account: acct, PlanMarkdown: strings.Repeat("| plan row |\n", 5000)}, res, "", iamprune.Propose{Base: "main"})
	if len(body) > MaxBodyLen {
		t.Fatalf("body is %d bytes", len(body))
	}
	for i := range 3 {
		if !strings.Contains(body, "### Evidence "+string(rune('0'+i))+"\n"+strings.Repeat("removed svc:Action (never used)\n", 50)) {
			t.Errorf("evidence %d cut", i)
		}
	}
	if !strings.Contains(body, "diff truncated to fit GitHub's size limit") || strings.Count(body, "```diff\n--- before/policy") != 3 {
		t.Error("diffs not truncated with a note")
	}

	// Evidence alone over the limit: cut, with each header kept.
	for i := range res.Files {
		res.Files[i].change.Evidence = "EVIDENCE-HEADER\n" + strings.Repeat("line\n", 10000)
	}
	body = renderBody(Request{Account: acct}, res, "", iamprune.Propose{Base: "main"})
	if len(body) > MaxBodyLen || strings.Count(body, "**Evidence**\n\nEVIDENCE-HEADER\n") != 3 || !strings.Contains(body, "evidence truncated") {
		t.Fatalf("evidence-limited body: %d bytes", len(body))
	}
}

func TestOwnerRepo(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/team/infra":          "team/infra",
		"https://github.com/team/infra.git":      "team/infra",
		"git@github.com:team/infra.git":          "team/infra",
		"ssh://git@github.com/team/infra.git":    "team/infra",
		"https://ghe.example.com/team/infra.git": "team/infra",
		"/srv/git/infra":                         "",
		"file:///srv/git/infra":                  "",
	} {
		o, n, ok := ownerRepo(in)
		if got := o + "/" + n; ok != (want != "") || ok && got != want {
			t.Errorf("%s: %s %v, want %q", in, got, ok, want)
		}
	}
}

func TestGitHubModeNeedsRepoName(t *testing.T) {
	p := newProposer(t.TempDir(), iamprune.ProposeGitHub, "")
	p.Config.GitHubRepo = ""
	_, err := p.Propose(context.Background(), scenario(readerAfter))
	if err == nil || !strings.Contains(err.Error(), "propose.github_repo") {
		t.Fatalf("error: %v", err)
	}
}
