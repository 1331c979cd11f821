package gitops

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/iamprune/iamprune"
)

// request is a run that proposes only the given actions (one finding, as
// in worker mode).
func request(run string, actions ...iamprune.Action) Request {
	return Request{RunID: run, Account: acct, Actions: actions}
}

func readerProposal(after string) iamprune.Action {
	return propose(arn("reader"), change("reader", "reader", iamprune.PolicyInline, readerBefore, after))
}

func workerProposal() iamprune.Action {
	return propose(arn("worker"), change("worker", "worker", iamprune.PolicyInline, workerBefore, workerAfter))
}

// addCommit commits files (path → content, replacing those paths) on top
// of parent and points branch at it.
func addCommit(t *testing.T, r *git.Repository, branch string, parent plumbing.Hash, who string, files map[string]string) plumbing.Hash {
	t.Helper()
	pc, err := r.CommitObject(parent)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := pc.Tree()
	if err != nil {
		t.Fatal(err)
	}
	ch := map[string][]byte{}
	for p, c := range files {
		ch[p] = []byte(c)
	}
	th, err := writeTree(r.Storer, tree, ch)
	if err != nil {
		t.Fatal(err)
	}
	sig := object.Signature{Name: who, Email: strings.ToLower(who) + "@example.com", When: pc.Committer.When.Add(time.Minute)}
	h, err := writeCommit(r.Storer, &object.Commit{Author: sig, Committer: sig, Message: "by " + who + "\n", TreeHash: th, ParentHashes: []plumbing.Hash{parent}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), h)); err != nil {
		t.Fatal(err)
	}
	return h
}

// repoURLs are the two ways the tests reach a repository: in place, and
// through clone and push (file://, which needs the git binary).
func repoURLs(t *testing.T) map[string]func(dir string) string {
	m := map[string]func(string) string{"local": func(d string) string { return d }}
	if _, err := exec.LookPath("git"); err == nil {
		m["remote"] = func(d string) string { return "file://" + d }
	}
	return m
}

// Each run adds its proposal to the branch: a run proposing the worker
// keeps the reader's proposal of an earlier run.
func TestProposeKeepsEarlierProposals(t *testing.T) {
	for mode, url := range repoURLs(t) {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "infra.git")
			r, mainHash := makeRepo(t, dir, true, fixtureFiles())
			gh := newFakeGitHub(t)
			p := newProposer(url(dir), iamprune.ProposeGitHub, gh.server.URL)
			want := wantFiles(t)

			res1, err := p.Propose(ctx, request("run-1", readerProposal(readerAfter)))
			if err != nil {
				t.Fatal(err)
			}
			c1, _ := branchFiles(t, r, res1.Branch)
			if c1.ParentHashes[0] != mainHash {
				t.Fatalf("first commit's parent %v", c1.ParentHashes)
			}

			res2, err := p.Propose(ctx, request("run-2", workerProposal()))
			if err != nil {
				t.Fatal(err)
			}
			c2, files := branchFiles(t, r, res2.Branch)
			if res2.NoChange || c2.Hash.String() != res2.Commit || len(c2.ParentHashes) != 1 || c2.ParentHashes[0] != c1.Hash {
				t.Fatalf("second run %+v: parents %v, want %s", res2, c2.ParentHashes, c1.Hash)
			}
			for _, path := range []string{"policies/app-reader.json", "cfn/data.json"} {
				if files[path] != want[path] {
					t.Errorf("%s on the branch:\n%s\nwant:\n%s", path, files[path], want[path])
				}
			}
			if files["tf/iam.tf"] != fixTF || files["cfn/app.yaml"] != fixCFNYAML {
				t.Error("files no run proposed were changed")
			}
			if !strings.Contains(res2.Summary, "also holds 1 earlier proposal") {
				t.Errorf("summary %q", res2.Summary)
			}
			if gh.count("POST") != 1 || gh.count("PATCH") != 1 {
				t.Fatalf("requests %+v", gh.requests())
			}
			patch := gh.requests()[len(gh.requests())-1].Body
			if !strings.Contains(patch["title"].(string), "(2 policies)") ||
				!strings.Contains(patch["body"].(string), "### Also on this branch") ||
				!strings.Contains(patch["body"].(string), "| `"+arn("reader")+"` | `reader` | `policies/app-reader.json` |") {
				t.Errorf("updated pull request: %v", patch)
			}

			// The same run again: nothing committed, the pull request left alone.
			n := len(gh.requests())
			res3, err := p.Propose(ctx, request("run-3", workerProposal()))
			if err != nil {
				t.Fatal(err)
			}
			if c, _ := branchFiles(t, r, res3.Branch); !res3.NoChange || res3.Commit != c2.Hash.String() || c.Hash != c2.Hash {
				t.Fatalf("unchanged re-run: %+v", res3)
			}
			for _, q := range gh.requests()[n:] {
				if q.Method != "GET" {
					t.Errorf("unchanged re-run made %s %s", q.Method, q.Path)
				}
			}

			// A new refinement of the reader replaces its earlier one.
			res4, err := p.Propose(ctx, request("run-4", readerProposal(readerAfter2)))
			if err != nil {
				t.Fatal(err)
			}
			c4, files4 := branchFiles(t, r, res4.Branch)
			if c4.ParentHashes[0] != c2.Hash || policyAt(t, files4["policies/app-reader.json"]) != norm(mustParse(t, readerAfter2)) || files4["cfn/data.json"] != want["cfn/data.json"] {
				t.Fatalf("fourth run: parents %v\n%s", c4.ParentHashes, files4["policies/app-reader.json"])
			}
		})
	}
}

func TestProposeRefusesForeignCommits(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "infra.git")
	r, _ := makeRepo(t, dir, true, fixtureFiles())
	p := newProposer(dir, iamprune.ProposeLocal, "")
	res, err := p.Propose(ctx, request("run-1", readerProposal(readerAfter)))
	if err != nil {
		t.Fatal(err)
	}
	tip, _ := branchFiles(t, r, res.Branch)
	foreign := addCommit(t, r, res.Branch, tip.Hash, "Dev", map[string]string{"README.md": "# infra, reviewed\n"})

	_, err = p.Propose(ctx, request("run-2", workerProposal()))
	if err == nil || iamprune.ErrorCode(err) != iamprune.ECONFLICT ||
		!strings.Contains(err.Error(), "branch "+res.Branch+" has commits not made by iamprune ("+foreign.String()[:12]+" by Dev <dev@example.com>)") ||
		!strings.Contains(err.Error(), "merge or close the pull request, or delete the branch") {
		t.Fatalf("error: %v", err)
	}
	if c, _ := branchFiles(t, r, res.Branch); c.Hash != foreign {
		t.Error("the branch was changed")
	}

	// Commits by another iamprune author count as foreign too.
	p.Config.AuthorEmail = "other@example.com"
	r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(res.Branch), tip.Hash))
	if _, err := p.Propose(ctx, request("run-3", workerProposal())); err == nil || !strings.Contains(err.Error(), "by iamprune bot <iamprune@example.com>") {
		t.Fatalf("other author: %v", err)
	}
}

// Once the pull request is merged, the next proposal starts from base
// again: when the branch was deleted, when it was squashed into base and
// kept, and when base merely moved to it.
func TestProposeAfterMerge(t *testing.T) {
	for mode, url := range repoURLs(t) {
		for _, how := range []string{"deleted", "squashed", "fast-forwarded"} {
			t.Run(mode+"/"+how, func(t *testing.T) {
				ctx := context.Background()
				dir := filepath.Join(t.TempDir(), "infra.git")
				r, mainHash := makeRepo(t, dir, true, fixtureFiles())
				p := newProposer(url(dir), iamprune.ProposeLocal, "")
				res, err := p.Propose(ctx, request("run-1", readerProposal(readerAfter)))
				if err != nil {
					t.Fatal(err)
				}
				tip, files := branchFiles(t, r, res.Branch)
				mainRef := plumbing.NewBranchReferenceName("main")
				newMain := tip.Hash
				if how == "fast-forwarded" {
					r.Storer.SetReference(plumbing.NewHashReference(mainRef, tip.Hash))
				} else {
					newMain = addCommit(t, r, "main", mainHash, "Dev", map[string]string{"policies/app-reader.json": files["policies/app-reader.json"]})
				}
				if how == "deleted" {
					if err := r.Storer.RemoveReference(plumbing.NewBranchReferenceName(res.Branch)); err != nil {
						t.Fatal(err)
					}
				}

				res2, err := p.Propose(ctx, request("run-2", workerProposal()))
				if err != nil {
					t.Fatal(err)
				}
				c, files2 := branchFiles(t, r, res2.Branch)
				if c.Hash.String() != res2.Commit || c.ParentHashes[0] != newMain {
					t.Fatalf("parents %v, want base %s", c.ParentHashes, newMain)
				}
				if files2["cfn/data.json"] != wantFiles(t)["cfn/data.json"] || files2["policies/app-reader.json"] != files["policies/app-reader.json"] || len(res2.earlier) != 0 {
					t.Errorf("branch after the merge: %+v", res2)
				}
			})
		}
	}
}

func TestProposeSharedPolicies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "infra.git")
	r, _ := makeRepo(t, dir, true, fixtureFiles())
	p := newProposer(dir, iamprune.ProposeLocal, "")
	reports := change(managedARN("reports"), "reports", iamprune.PolicyManaged, reportsBefore, reportsAfter)
	reports.AttachmentCount = 3
	sync := change(managedARN("sync"), "sync", iamprune.PolicyManaged, syncBefore, syncAfter)
	sync.Method = iamprune.MethodReplaceCopy
	own := change(managedARN("uploader"), "uploader", iamprune.PolicyManaged, uploadBefore, uploadAfter)
	own.AttachmentCount, own.Method = 1, iamprune.MethodNewVersion
	res, err := p.Propose(context.Background(), request("run-1",
		propose(arn("reports"), reports), propose(arn("sync"), sync), propose(arn("uploader"), own)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unmapped) != 2 ||
		res.Unmapped[0].Policy != managedARN("reports") || res.Unmapped[0].Why != "shared by 3 principals: refining its source for one would remove access the others use; give this principal its own policy" ||
		res.Unmapped[1].Policy != managedARN("sync") || !strings.HasPrefix(res.Unmapped[1].Why, "shared by several principals: ") {
		t.Fatalf("unmapped %+v", res.Unmapped)
	}
	if len(res.Files) != 1 || res.Files[0].Name != "uploader" || res.Files[0].Status != StatusWritten {
		t.Fatalf("files %+v", res.Files)
	}
	_, files := branchFiles(t, r, res.Branch)
	tf := files["tf/iam.tf"]
	if !strings.Contains(tf, `"glue:GetTable"]`) || !strings.Contains(tf, `sid       = "Admin"`) || strings.Contains(tf, `"s3:ListBucket"`) {
		t.Errorf("tf/iam.tf:\n%s", tf)
	}
}

// Two principals whose policies resolve to the same document: the later
// one is reported unless both refine it alike.
func TestProposeSameTarget(t *testing.T) {
	twin := func(after1, after2 string) Request {
		return request("run-1",
			propose(arn("reader"), change("reader", "reader", iamprune.PolicyInline, readerBefore, after1)),
			propose(arn("reader-b"), change("reader", "reader", iamprune.PolicyInline, readerBefore, after2)),
			workerProposal())
	}
	setup := func(t *testing.T) (*git.Repository, *Proposer) {
		dir := filepath.Join(t.TempDir(), "infra.git")
		r, _ := makeRepo(t, dir, true, fixtureFiles())
		p := newProposer(dir, iamprune.ProposeLocal, "")
		p.Config.Files = []iamprune.ProposeFile{
			{Principal: arn("reader*"), Path: "policies/app-reader.json"},
			{Principal: arn("worker"), Path: "cfn/data.json", Pointer: "WorkerRole"},
		}
		return r, p
	}

	t.Run("different", func(t *testing.T) {
		r, p := setup(t)
		res, err := p.Propose(context.Background(), twin(readerAfter, readerAfter2))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Unmapped) != 1 || res.Unmapped[0].Principal != arn("reader-b") ||
			!strings.HasPrefix(res.Unmapped[0].Why, "same file and pointer as reader of "+arn("reader")+" (policies/app-reader.json), whose refinement differs") {
			t.Fatalf("unmapped %+v", res.Unmapped)
		}
		_, files := branchFiles(t, r, res.Branch)
		if policyAt(t, files["policies/app-reader.json"]) != norm(mustParse(t, readerAfter)) || files["cfn/data.json"] != wantFiles(t)["cfn/data.json"] {
			t.Error("branch content")
		}

		// A later run for the other principal finds the first one's
		// refinement on the branch and leaves it.
		res2, err := p.Propose(context.Background(), request("run-2",
			propose(arn("reader-b"), change("reader", "reader", iamprune.PolicyInline, readerBefore, readerAfter2))))
		if err != nil {
			t.Fatal(err)
		}
		if !res2.NoChange || len(res2.Unmapped) != 1 || !strings.HasPrefix(res2.Unmapped[0].Why, "same file and pointer as reader of "+arn("reader")+", which branch "+res.Branch+" already proposes") {
			t.Fatalf("second run %+v", res2)
		}
		if _, files := branchFiles(t, r, res.Branch); policyAt(t, files["policies/app-reader.json"]) != norm(mustParse(t, readerAfter)) {
			t.Error("the first principal's refinement was overwritten")
		}
	})
	t.Run("identical", func(t *testing.T) {
		_, p := setup(t)
		res, err := p.Propose(context.Background(), twin(readerAfter, readerAfter))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Unmapped) != 0 || len(res.Files) != 3 || res.Files[0].Status != StatusWritten || res.Files[1].Status != StatusUnchanged {
			t.Fatalf("%+v", res)
		}
	})
}

func TestPublishRefusesMovedBranch(t *testing.T) {
	for mode, url := range repoURLs(t) {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "infra.git")
			makeRepo(t, dir, true, fixtureFiles())
			h, err := openRepo(ctx, repoConfig{Repo: url(dir), Base: "main"}, "")
			if err != nil {
				t.Fatal(err)
			}
			defer h.cleanup()
			base, err := h.baseCommit("main")
			if err != nil {
				t.Fatal(err)
			}
			commit := func(msg string) plumbing.Hash {
				c := &object.Commit{Author: base.Author, Committer: base.Committer, Message: msg, TreeHash: base.TreeHash, ParentHashes: []plumbing.Hash{base.Hash}}
				x, err := writeCommit(h.repo.Storer, c)
				if err != nil {
					t.Fatal(err)
				}
				return x
			}
			const branch = "iamprune/least-privilege-x"
			if err := h.publish(ctx, branch, commit("a\n"), nil, false); err != nil {
				t.Fatal(err)
			}
			// Another run's commit arrived meanwhile: neither a new branch
			// nor one built on a stale tip may replace it.
			if err := h.publish(ctx, branch, commit("b\n"), nil, false); !errors.Is(err, errBranchMoved) {
				t.Errorf("over an unexpected branch: %v", err)
			}
			if err := h.publish(ctx, branch, commit("c\n"), base, true); !errors.Is(err, errBranchMoved) {
				t.Errorf("over a stale tip: %v", err)
			}
		})
	}
}

func TestTokenNeverOverPlainHTTP(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://github.com/team/infra.git":    true,
		"http://127.0.0.1:8080/team/infra.git": true,
		"http://127.9.0.1/x":                   true,
		"http://[::1]:99/x":                    true,
		"http://LocalHost/x":                   true,
		"http://git.example.com/team/infra":    false,
		"http://10.0.0.1/x":                    false,
		"http://u:pw@git.example.com/x":        false,
	} {
		err := checkTokenURL(u)
		if (err == nil) != ok || err != nil && (!strings.Contains(err.Error(), "plain HTTP") || strings.Contains(err.Error(), "pw@")) {
			t.Errorf("%s: %v", u, err)
		}
	}

	// A clone over plain HTTP with the token is refused before any
	// connection is made.
	p := newProposer("http://git.example.com/team/infra.git", iamprune.ProposeLocal, "")
	_, err := p.Propose(context.Background(), scenario(readerAfter))
	if err == nil || !strings.Contains(err.Error(), "refusing to send the token over plain HTTP to http://git.example.com/team/infra.git") {
		t.Fatalf("repo: %v", err)
	}

	// So is a GitHub API over plain HTTP, before anything is pushed.
	dir := filepath.Join(t.TempDir(), "infra.git")
	r, _ := makeRepo(t, dir, true, fixtureFiles())
	p = newProposer(dir, iamprune.ProposeGitHub, "http://ghe.example.com/api/v3/")
	_, err = p.Propose(context.Background(), scenario(readerAfter))
	if err == nil || !strings.Contains(err.Error(), "propose.github_api: refusing to send the token over plain HTTP to http://ghe.example.com/api/v3/") {
		t.Fatalf("api: %v", err)
	}
	if _, err := r.Reference(plumbing.NewBranchReferenceName(Branch(acct)), true); err == nil {
		t.Error("branch created")
	}

	// And a redirect to plain HTTP is not followed.
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://ghe.example.com"+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	p = newProposer(dir, iamprune.ProposeGitHub, redirect.URL)
	_, err = p.pullRequest(context.Background(), "team", "infra", "b", "main", "t", "body", "", true)
	if err == nil || !strings.Contains(err.Error(), "refusing to send the token over plain HTTP to http://ghe.example.com/repos/team/infra/pulls") {
		t.Fatalf("redirect: %v", err)
	}
}

// Base moved on while the pull request was open: the next run merges it,
// so that edits start from current files and the branch keeps its
// proposals; a file both changed loses the branch's earlier proposal.
func TestProposeMergesMovedBase(t *testing.T) {
	for mode, url := range repoURLs(t) {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "infra.git")
			r, mainHash := makeRepo(t, dir, true, fixtureFiles())
			p := newProposer(url(dir), iamprune.ProposeLocal, "")
			res1, err := p.Propose(ctx, request("run-1", readerProposal(readerAfter), propose(arn("reports"),
				change(managedARN("reports"), "reports", iamprune.PolicyManaged, reportsBefore, reportsAfter))))
			if err != nil {
				t.Fatal(err)
			}
			c1, files1 := branchFiles(t, r, res1.Branch)
			// On main: the worker's template gains a table setting, and the
			// Terraform file (which the branch changed too) a comment.
			data := replaceOnce(t, fixCFNJSON, `"PAY_PER_REQUEST"`, `"PROVISIONED"`)
			newMain := addCommit(t, r, "main", mainHash, "Dev", map[string]string{"cfn/data.json": data, "tf/iam.tf": "# owned by team-data\n" + fixTF})

			res2, err := p.Propose(ctx, request("run-2", workerProposal()))
			if err != nil {
				t.Fatal(err)
			}
			c2, files := branchFiles(t, r, res2.Branch)
			if len(c2.ParentHashes) != 2 || c2.ParentHashes[0] != c1.Hash || c2.ParentHashes[1] != newMain {
				t.Fatalf("parents %v, want the tip %s and main %s", c2.ParentHashes, c1.Hash, newMain)
			}
			wantData := replaceOnce(t, wantFiles(t)["cfn/data.json"], `"PAY_PER_REQUEST"`, `"PROVISIONED"`)
			if files["cfn/data.json"] != wantData || files["policies/app-reader.json"] != files1["policies/app-reader.json"] || files["tf/iam.tf"] != "# owned by team-data\n"+fixTF {
				t.Errorf("merged branch:\n%v", files)
			}
			if len(res2.earlier) != 1 || res2.earlier[0].Name != "reader" || !strings.Contains(res2.Summary, "earlier proposals in tf/iam.tf were dropped") {
				t.Errorf("%+v", res2)
			}
			// The merge is iamprune's own: the next run builds on it.
			res3, err := p.Propose(ctx, request("run-3", propose(arn("reports"),
				change(managedARN("reports"), "reports", iamprune.PolicyManaged, reportsBefore, reportsAfter))))
			if err != nil {
				t.Fatal(err)
			}
			c3, files3 := branchFiles(t, r, res3.Branch)
			if len(c3.ParentHashes) != 1 || c3.ParentHashes[0] != c2.Hash || !strings.Contains(files3["tf/iam.tf"], `["athena:StartQueryExecution", "athena:GetQueryResults"]`) || files3["cfn/data.json"] != wantData {
				t.Errorf("third run: parents %v\n%s", c3.ParentHashes, files3["tf/iam.tf"])
			}
		})
	}
}
