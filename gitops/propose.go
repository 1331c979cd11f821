// Package gitops turns propose-policy plan entries into a pull request
// against the team's infrastructure repository: each refined policy is
// written into the file that defines it (a JSON policy, a CloudFormation
// template in JSON or YAML, or Terraform), editing only the policy and
// leaving the rest of the file as it was, committed on a branch that is
// stable per account so that re-runs update the same pull request.
//
// Terraform is parsed with hashicorp/hcl. YAML templates are edited by
// yamlsite.go, line by line on yaml.v3's positions: no YAML library writes
// a change back while keeping every other byte (comments, quoting, !Sub).
//
// It is an adapter: it imports the root, policy and internal packages, never
// another adapter; app and cmd import it.
package gitops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// Proposer opens (or updates) the pull request for a plan's propose-policy
// entries.
type Proposer struct {
	Config iamprune.Propose
	// Token is the GitHub token (the caller reads it from Config.TokenEnv);
	// it also authenticates HTTPS pushes.
	Token string
	// HTTPClient calls the GitHub API; nil is http.DefaultClient.
	HTTPClient *http.Client
	// Now dates the commit; nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Request is one account's proposal.
type Request struct {
	RunID   string
	Account string
	// Actions are plan entries; only propose-policy ones are used.
	Actions []iamprune.Action
	// Facts give the principals' tags (iamprune:source); may be nil.
	Facts *iamprune.Facts
	// PlanMarkdown is the rendered plan, quoted in the pull request.
	PlanMarkdown string
}

// Result says what Propose did.
type Result struct {
	Mode   string
	Branch string
	// Commit is the branch's tip: the new commit, or the existing one
	// when nothing changed.
	Commit      string
	PullRequest *PullRequest // nil in local mode or when none was needed
	Files       []FileChange
	Unmapped    []Unmapped
	// NoChange: the branch (or the base itself) already holds exactly the
	// refined policies, so nothing was committed or pushed.
	NoChange bool
	// Summary is one line for the user.
	Summary string

	// earlier are the proposals earlier runs committed on the branch that
	// this run did not touch; the pull request lists them too.
	earlier []entry
}

// PullRequest is the GitHub pull request the proposal lives in.
type PullRequest struct {
	Number int
	URL    string
	// Updated: an open pull request for the branch existed and its title
	// and body were updated (rather than a new one created).
	Updated bool
}

// Statuses of a FileChange.
const (
	// StatusWritten: the refined document was written into the file.
	StatusWritten = statusWritten
	// StatusUnchanged: the file already holds the refined document.
	StatusUnchanged = statusUnchanged
	// StatusRemoveByHand: the policy grants nothing used; it must be
	// removed by hand (iamprune does not delete resources or files).
	StatusRemoveByHand = "remove-by-hand"
)

// FileChange is one policy mapped to a file.
type FileChange struct {
	Principal string `json:"principal"`
	Policy    string `json:"policy"` // inline name or managed ARN
	Name      string `json:"name"`
	Path      string `json:"path"`
	Pointer   string `json:"pointer,omitempty"`
	Form      string `json:"form"`
	// MappedBy is "tag" (iamprune:source) or "config" (propose.files[N]).
	MappedBy string `json:"mapped_by"`
	Status   string `json:"status"`
	// ExtraParts counts the further documents the refinement was split
	// into (After[1:]); they need new policies, listed in the PR body.
	ExtraParts int `json:"extra_parts,omitempty"`

	change iamprune.PolicyChange
}

// Unmapped is a policy no file mapping covers.
type Unmapped struct {
	Principal string `json:"principal"`
	Policy    string `json:"policy"`
	Why       string `json:"why"`
}

// Branch is the proposal branch of an account: stable, so that every run
// updates the same pull request.
func Branch(account string) string { return "iamprune/least-privilege-" + account }

type target struct {
	principal string
	change    iamprune.PolicyChange
	path      string
	pointer   string
	by        string
}

// Propose writes the refined policies into the repository, commits them on
// the account's branch and, in github mode, opens or updates the pull
// request. Files that cannot be edited make it fail with an EINVALID error
// naming each file and pointer; nothing is pushed then.
func (p *Proposer) Propose(ctx context.Context, req Request) (*Result, error) {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	cfg, owner, name, err := p.checkRequest(req)
	if err != nil {
		return nil, err
	}
	res := &Result{Mode: cfg.Mode, Branch: Branch(req.Account)}

	targets, unmapped, err := mapTargets(cfg, req)
	if err != nil {
		return nil, err
	}
	res.Unmapped = unmapped
	if len(targets) == 0 {
		res.NoChange = true
		res.Summary = fmt.Sprintf("no proposal: none of the %d proposed policies maps to a file in %s (set the %s tag on the principal or add propose.files entries)", len(unmapped), redact(cfg.Repo), iamprune.SourceTag)
		log.Info("propose: nothing mapped", "unmapped", len(unmapped))
		return res, nil
	}

	h, err := openRepo(ctx, repoConfig{Repo: cfg.Repo, Base: cfg.Base}, p.Token)
	if err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "propose: %v", err)
	}
	defer h.cleanup()
	run := proposal{p: p, cfg: cfg, req: req, h: h, owner: owner, name: name, log: log, now: now, targets: targets}
	return run.buildRetrying(ctx, res)
}

// checkRequest fills the configuration's defaults and checks it and the
// request before anything is fetched or pushed; in github mode it also
// resolves the repository's owner and name.
func (p *Proposer) checkRequest(req Request) (cfg iamprune.Propose, owner, name string, err error) {
	cfg = p.Config
	if cfg.Mode == "" {
		cfg.Mode = iamprune.ProposeGitHub
	}
	if cfg.Base == "" {
		cfg.Base = "main"
	}
	switch {
	case cfg.Mode != iamprune.ProposeGitHub && cfg.Mode != iamprune.ProposeLocal:
		return cfg, "", "", iamprune.Errorf(iamprune.EINVALID, "propose.mode: %q is not github or local", cfg.Mode)
	case cfg.Repo == "":
		return cfg, "", "", iamprune.Errorf(iamprune.EINVALID, "propose.repo: required (a git URL or a local path)")
	case req.Account == "":
		return cfg, "", "", iamprune.Errorf(iamprune.EINVALID, "propose: the request names no account")
	}
	if cfg.Mode != iamprune.ProposeGitHub {
		return cfg, "", "", nil
	}
	if owner, name, err = githubRepo(cfg); err != nil {
		return cfg, "", "", err
	}
	if p.Token != "" {
		// Checked before anything is pushed.
		if err := checkTokenURL(p.apiURL()); err != nil {
			return cfg, "", "", iamprune.Errorf(iamprune.EINVALID, "propose.github_api: %v", err)
		}
	}
	return cfg, owner, name, nil
}

// githubRepo is the owner and name of the GitHub repository: from
// propose.github_repo, else from the repository URL.
func githubRepo(cfg iamprune.Propose) (owner, name string, err error) {
	if cfg.GitHubRepo == "" {
		owner, name, ok := ownerRepo(cfg.Repo)
		if !ok {
			return "", "", iamprune.Errorf(iamprune.EINVALID, "propose.github_repo: required when propose.repo (%q) is not a GitHub URL", redact(cfg.Repo))
		}
		return owner, name, nil
	}
	owner, name, ok := strings.Cut(cfg.GitHubRepo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", iamprune.Errorf(iamprune.EINVALID, "propose.github_repo: %q is not OWNER/NAME", cfg.GitHubRepo)
	}
	return owner, name, nil
}

// buildRetrying builds the proposal. Another run (a worker handling
// another finding of the account) may push between our fetch and push;
// the proposal is then rebuilt on top of its commit.
func (r *proposal) buildRetrying(ctx context.Context, res *Result) (*Result, error) {
	for attempt := 1; ; attempt++ {
		out := *res
		out.Unmapped = append([]Unmapped{}, res.Unmapped...)
		err := r.build(ctx, &out)
		if errors.Is(err, errBranchMoved) && attempt < 3 {
			r.log.Info("propose: branch moved, rebuilding", "branch", res.Branch, "attempt", attempt)
			continue
		}
		if errors.Is(err, errBranchMoved) {
			return nil, iamprune.Errorf(iamprune.ECONFLICT, "propose: %s: branch %s kept moving while iamprune updated it; run again", redact(r.cfg.Repo), res.Branch)
		}
		if err != nil {
			return nil, err
		}
		return &out, nil
	}
}

// proposal is one Propose call's state.
type proposal struct {
	p           *Proposer
	cfg         iamprune.Propose
	req         Request
	h           *repoHandle
	owner, name string
	log         *slog.Logger
	now         func() time.Time
	targets     []target
}

// build makes the branch hold this request's refinements: on top of the
// branch's tip when the branch exists (so that earlier runs' proposals for
// other principals stay), else on top of base.
func (r *proposal) build(ctx context.Context, res *Result) error {
	cfg, req, h := r.cfg, r.req, r.h
	author := cfg.AuthorName
	if author == "" {
		author = "iamprune"
	}
	base, err := h.baseCommit(cfg.Base)
	if err != nil {
		return iamprune.Errorf(iamprune.EINVALID, "propose: %s: %v", redact(cfg.Repo), err)
	}
	tip, err := h.branchTip(ctx, res.Branch)
	if err != nil {
		return err
	}
	st, err := r.branchState(tip, base, res.Branch, author)
	if err != nil {
		return err
	}
	changed, err := r.editFiles(st, res)
	if err != nil {
		return err
	}
	written := 0
	for _, f := range res.Files {
		if f.Status == StatusWritten {
			written++
		}
	}
	res.earlier = supersede(st.earlier, res.Files)
	total := len(res.earlier)
	for _, f := range res.Files {
		if f.Status != StatusRemoveByHand {
			total++
		}
	}
	pr := prText{
		title: fmt.Sprintf("iamprune: least privilege for account %s (%d %s)", req.Account, total, plural(total, "policy", "policies")),
		body:  renderBody(req, res, r.owner, cfg),
	}
	if len(changed) == 0 {
		return r.unchanged(ctx, res, tip, st.onTip, pr)
	}
	commit := &object.Commit{
		Message:      commitMessage(req, res.Files, written),
		ParentHashes: st.parents,
	}
	commit.Author = object.Signature{Name: author, Email: cfg.AuthorEmail, When: r.now()}
	commit.Committer = commit.Author
	if err := r.commitAndPublish(ctx, res, st, tip, changed, commit); err != nil {
		return err
	}
	r.log.Info("propose: branch updated", "branch", res.Branch, "commit", res.Commit, "files", len(changed), "on_branch_tip", st.onTip)
	res.Summary = fmt.Sprintf("branch %s: commit %s refines %d %s in %d %s", res.Branch, res.Commit[:12], written, plural(written, "policy", "policies"), len(changed), plural(len(changed), "file", "files"))
	if len(res.earlier) > 0 {
		res.Summary += fmt.Sprintf(" (the branch also holds %d earlier %s)", len(res.earlier), plural(len(res.earlier), "proposal", "proposals"))
	}
	if len(st.dropped) > 0 {
		res.Summary += fmt.Sprintf(" (earlier proposals in %s were dropped: %s changed these files since; later runs propose them again)", strings.Join(st.dropped, ", "), cfg.Base)
	}
	if cfg.Mode == iamprune.ProposeGitHub {
		pull, err := r.p.pullRequest(ctx, r.owner, r.name, res.Branch, cfg.Base, pr.title, pr.body, res.Commit, true)
		if err != nil {
			return err
		}
		res.PullRequest = pull
		verb := "opened"
		if pull.Updated {
			verb = "updated"
		}
		res.Summary += fmt.Sprintf("; pull request #%d %s: %s", pull.Number, verb, pull.URL)
	}
	return nil
}

// prText is the pull request's title and body.
type prText struct{ title, body string }

// editFiles writes every target into its file, recording each in res, and
// returns the files whose content changed. Targets that cannot be edited
// fail the proposal with one EINVALID error naming them all.
func (r *proposal) editFiles(st *branch, res *Result) (map[string][]byte, error) {
	targets, dups := distinctTargets(st.tree, r.targets)
	res.Unmapped = append(res.Unmapped, dups...)
	e := editor{tree: st.tree, base: st.baseTree, files: map[string][]byte{}, orig: map[string][]byte{}, earlier: st.earlier, branch: res.Branch}
	var failures []string
	for _, t := range targets {
		fc, err := e.edit(t)
		var c *collision
		if errors.As(err, &c) {
			res.Unmapped = append(res.Unmapped, Unmapped{t.principal, t.change.Policy, c.why})
			continue
		}
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s (pointer %q; %s, policy %s): %v", t.path, t.pointer, t.principal, t.change.Name, err))
			continue
		}
		res.Files = append(res.Files, fc)
	}
	if len(failures) > 0 {
		return nil, iamprune.Errorf(iamprune.EINVALID, "propose: cannot write %d of %d policies:\n  %s", len(failures), len(targets), strings.Join(failures, "\n  "))
	}
	changed := map[string][]byte{}
	for p, c := range e.files {
		if string(c) != string(e.orig[p]) {
			changed[p] = c
		}
	}
	return changed, nil
}

// unchanged records that no file changes: base, or the branch's tip (whose
// pull request is then brought up to date), already holds the refinements.
func (r *proposal) unchanged(ctx context.Context, res *Result, tip *object.Commit, onTip bool, pr prText) error {
	res.NoChange = true
	if !onTip {
		res.Summary = fmt.Sprintf("no proposal: %s already holds the refined policies", r.cfg.Base)
		return nil
	}
	res.Commit = tip.Hash.String()
	res.Summary = fmt.Sprintf("branch %s already holds these refinements (commit %s); nothing pushed", res.Branch, tip.Hash.String()[:12])
	if r.cfg.Mode == iamprune.ProposeGitHub {
		pull, err := r.p.pullRequest(ctx, r.owner, r.name, res.Branch, r.cfg.Base, pr.title, pr.body, tip.Hash.String(), false)
		if err != nil {
			return err
		}
		res.PullRequest = pull
	}
	return nil
}

// commitAndPublish writes the changed files' tree and the commit, and
// moves the branch to it.
func (r *proposal) commitAndPublish(ctx context.Context, res *Result, st *branch, tip *object.Commit, changed map[string][]byte, commit *object.Commit) error {
	treeHash, err := writeTree(r.h.repo.Storer, st.tree, changed)
	if err != nil {
		return fmt.Errorf("propose: build tree: %w", err)
	}
	commit.TreeHash = treeHash
	ch, err := writeCommit(r.h.repo.Storer, commit)
	if err != nil {
		return fmt.Errorf("propose: commit: %w", err)
	}
	// From base over an existing tip only when base holds all of the tip's
	// changes; otherwise the new commit descends from the tip.
	if err := r.h.publish(ctx, res.Branch, ch, tip, !st.onTip); err != nil {
		if errors.Is(err, errBranchMoved) {
			return err
		}
		return iamprune.Errorf(iamprune.ECONFLICT, "propose: %s: %v", redact(r.cfg.Repo), err)
	}
	res.Commit = ch.String()
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// mapTargets maps every proposed policy to a file: the principal's
// iamprune:source tag first, then the first matching propose.files entry.
func mapTargets(cfg iamprune.Propose, req Request) ([]target, []Unmapped, error) {
	var targets []target
	var unmapped []Unmapped
	for _, a := range req.Actions {
		if a.Kind != iamprune.KindProposePolicy {
			continue
		}
		var tag string
		if pr := req.Facts.Principal(a.Principal); pr != nil {
			tag = pr.Tags[iamprune.SourceTag]
		}
		for _, c := range a.Policies {
			t := target{principal: a.Principal, change: c}
			switch {
			case c.Type == iamprune.PolicyAWSManaged:
				unmapped = append(unmapped, Unmapped{a.Principal, c.Policy, "AWS-managed policy: it is not defined in your code; attach a customer-managed policy with the refined document and detach it"})
				continue
			case c.Type == iamprune.PolicyManaged && (c.AttachmentCount > 1 || c.Method == iamprune.MethodReplaceCopy):
				// The refinement is this principal's use only: written into
				// the shared source it would take from the others what they use.
				n := "several"
				if c.AttachmentCount > 1 {
					n = strconv.Itoa(c.AttachmentCount)
				}
				unmapped = append(unmapped, Unmapped{a.Principal, c.Policy, fmt.Sprintf("shared by %s principals: refining its source for one would remove access the others use; give this principal its own policy", n)})
				continue
			case tag != "":
				t.path, t.pointer, _ = strings.Cut(tag, "#")
				t.by = "tag"
				if err := checkPath(t.path); err != nil {
					return nil, nil, iamprune.Errorf(iamprune.EINVALID, "principal %s: tag %s=%q: %v", a.Principal, iamprune.SourceTag, tag, err)
				}
			default:
				for i, f := range cfg.Files {
					if iamprune.MatchGlob(f.Principal, a.Principal) && (f.Policy == "" || iamprune.MatchGlob(f.Policy, c.Name) || iamprune.MatchGlob(f.Policy, c.Policy)) {
						t.path, t.pointer, t.by = f.Path, f.Pointer, fmt.Sprintf("config (propose.files[%d])", i)
						if err := checkPath(t.path); err != nil {
							return nil, nil, iamprune.Errorf(iamprune.EINVALID, "propose.files[%d].path: %v", i, err)
						}
						break
					}
				}
			}
			if t.path == "" {
				unmapped = append(unmapped, Unmapped{a.Principal, c.Policy, fmt.Sprintf("no %s tag on the principal and no propose.files entry matches", iamprune.SourceTag)})
				continue
			}
			targets = append(targets, t)
		}
	}
	return targets, unmapped, nil
}

func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." {
		return fmt.Errorf("%q is not a clean path relative to the repository root", p)
	}
	return nil
}

// distinctTargets drops targets whose policy document, located in tree,
// is one an earlier target already refines differently: two principals
// (or two policies) defined by the same code. Where the site cannot be
// located, the target is kept and editing reports why.
func distinctTargets(tree *object.Tree, targets []target) ([]target, []Unmapped) {
	var out []target
	var dups []Unmapped
	content := map[string][]byte{}
	seen := map[string]target{}
	for _, t := range targets {
		src, ok := content[t.path]
		if !ok {
			src, _ = readFile(tree, t.path)
			content[t.path] = src
		}
		var key string
		if src != nil && len(t.change.After) > 0 {
			if _, s, err := openSite(t.path, src, t.pointer, t.change); err == nil {
				if start, _, err := s.span(); err == nil {
					key = t.path + "\x00" + strconv.Itoa(start)
				}
			}
		}
		if first, ok := seen[key]; ok && key != "" {
			if !sameAfter(first.change, t.change) {
				dups = append(dups, Unmapped{t.principal, t.change.Policy, fmt.Sprintf(
					"same file and pointer as %s of %s (%s), whose refinement differs: the code defines one policy for both, so refining it for one may remove access the other uses; give each its own policy",
					first.change.Name, first.principal, loc(first.path, first.pointer))})
				continue
			}
		} else if key != "" {
			seen[key] = t
		}
		out = append(out, t)
	}
	return out, dups
}

func sameAfter(a, b iamprune.PolicyChange) bool {
	return slices.EqualFunc(a.After, b.After, func(x, y json.RawMessage) bool {
		dx, err1 := policy.Parse(x)
		dy, err2 := policy.Parse(y)
		if err1 != nil || err2 != nil {
			return string(x) == string(y)
		}
		return norm(dx) == norm(dy)
	})
}

func loc(path, pointer string) string {
	if pointer == "" {
		return path
	}
	return path + "#" + pointer
}

func commitMessage(req Request, files []FileChange, written int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "iamprune: refine %d %s to what was used\n\n", written, plural(written, "policy", "policies"))
	fmt.Fprintf(&b, "Unused permissions found by IAM Access Analyzer in account %s are\nremoved from these policies:\n\n", req.Account)
	for _, f := range files {
		if f.Status != StatusWritten {
			continue
		}
		loc := f.Path
		if f.Pointer != "" {
			loc += "#" + f.Pointer
		}
		fmt.Fprintf(&b, "- %s: %s in %s\n", f.Principal, f.Name, loc)
	}
	if req.RunID != "" {
		fmt.Fprintf(&b, "\niamprune-run: %s\n", req.RunID)
	}
	return b.String()
}
