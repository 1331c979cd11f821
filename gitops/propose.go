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
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"go.yaml.in/yaml/v3"

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
	cfg := p.Config
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	if cfg.Mode == "" {
		cfg.Mode = iamprune.ProposeGitHub
	}
	if cfg.Base == "" {
		cfg.Base = "main"
	}
	switch {
	case cfg.Mode != iamprune.ProposeGitHub && cfg.Mode != iamprune.ProposeLocal:
		return nil, iamprune.Errorf(iamprune.EINVALID, "propose.mode: %q is not github or local", cfg.Mode)
	case cfg.Repo == "":
		return nil, iamprune.Errorf(iamprune.EINVALID, "propose.repo: required (a git URL or a local path)")
	case req.Account == "":
		return nil, iamprune.Errorf(iamprune.EINVALID, "propose: the request names no account")
	}
	owner, name := "", ""
	if cfg.Mode == iamprune.ProposeGitHub {
		var ok bool
		if cfg.GitHubRepo != "" {
			owner, name, ok = strings.Cut(cfg.GitHubRepo, "/")
			ok = ok && owner != "" && name != "" && !strings.Contains(name, "/")
			if !ok {
				return nil, iamprune.Errorf(iamprune.EINVALID, "propose.github_repo: %q is not OWNER/NAME", cfg.GitHubRepo)
			}
		} else if owner, name, ok = ownerRepo(cfg.Repo); !ok {
			return nil, iamprune.Errorf(iamprune.EINVALID, "propose.github_repo: required when propose.repo (%q) is not a GitHub URL", redact(cfg.Repo))
		}
	}
	if cfg.Mode == iamprune.ProposeGitHub && p.Token != "" {
		// Checked before anything is pushed.
		if err := checkTokenURL(p.apiURL()); err != nil {
			return nil, iamprune.Errorf(iamprune.EINVALID, "propose.github_api: %v", err)
		}
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
	// Another run (a worker handling another finding of the account) may
	// push between our fetch and push; the proposal is then rebuilt on top
	// of its commit.
	for attempt := 1; ; attempt++ {
		out := *res
		out.Unmapped = append([]Unmapped{}, res.Unmapped...)
		err := run.build(ctx, &out)
		if errors.Is(err, errBranchMoved) && attempt < 3 {
			log.Info("propose: branch moved, rebuilding", "branch", res.Branch, "attempt", attempt)
			continue
		}
		if errors.Is(err, errBranchMoved) {
			return nil, iamprune.Errorf(iamprune.ECONFLICT, "propose: %s: branch %s kept moving while iamprune updated it; run again", redact(cfg.Repo), res.Branch)
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
	cfg, req, h, log := r.cfg, r.req, r.h, r.log
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
	tree, baseTree, earlier, onTip := st.tree, st.baseTree, st.earlier, st.onTip

	targets, dups := distinctTargets(tree, r.targets)
	res.Unmapped = append(res.Unmapped, dups...)
	e := editor{tree: tree, base: baseTree, files: map[string][]byte{}, orig: map[string][]byte{}, earlier: earlier, branch: res.Branch}
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
		return iamprune.Errorf(iamprune.EINVALID, "propose: cannot write %d of %d policies:\n  %s", len(failures), len(targets), strings.Join(failures, "\n  "))
	}
	changed := map[string][]byte{}
	for p, c := range e.files {
		if string(c) != string(e.orig[p]) {
			changed[p] = c
		}
	}
	written := 0
	for _, f := range res.Files {
		if f.Status == StatusWritten {
			written++
		}
	}
	res.earlier = supersede(earlier, res.Files)
	total := len(res.earlier)
	for _, f := range res.Files {
		if f.Status != StatusRemoveByHand {
			total++
		}
	}
	title := fmt.Sprintf("iamprune: least privilege for account %s (%d %s)", req.Account, total, plural(total, "policy", "policies"))
	body := renderBody(req, res, r.owner, cfg)
	if len(changed) == 0 && !onTip {
		res.NoChange = true
		res.Summary = fmt.Sprintf("no proposal: %s already holds the refined policies", cfg.Base)
		return nil
	}
	if len(changed) == 0 {
		res.NoChange = true
		res.Commit = tip.Hash.String()
		res.Summary = fmt.Sprintf("branch %s already holds these refinements (commit %s); nothing pushed", res.Branch, tip.Hash.String()[:12])
		if cfg.Mode == iamprune.ProposeGitHub {
			pr, err := r.p.pullRequest(ctx, r.owner, r.name, res.Branch, cfg.Base, title, body, tip.Hash.String(), false)
			if err != nil {
				return err
			}
			res.PullRequest = pr
		}
		return nil
	}
	treeHash, err := writeTree(h.repo.Storer, tree, changed)
	if err != nil {
		return fmt.Errorf("propose: build tree: %w", err)
	}

	sig := object.Signature{Name: author, Email: cfg.AuthorEmail, When: r.now()}
	commit := &object.Commit{
		Author:       sig,
		Committer:    sig,
		Message:      commitMessage(req, res.Files, written),
		TreeHash:     treeHash,
		ParentHashes: st.parents,
	}
	ch, err := writeCommit(h.repo.Storer, commit)
	if err != nil {
		return fmt.Errorf("propose: commit: %w", err)
	}
	// From base over an existing tip only when base holds all of the tip's
	// changes; otherwise the new commit descends from the tip.
	if err := h.publish(ctx, res.Branch, ch, tip, !onTip); err != nil {
		if errors.Is(err, errBranchMoved) {
			return err
		}
		return iamprune.Errorf(iamprune.ECONFLICT, "propose: %s: %v", redact(cfg.Repo), err)
	}
	res.Commit = ch.String()
	log.Info("propose: branch updated", "branch", res.Branch, "commit", res.Commit, "files", len(changed), "on_branch_tip", onTip)
	res.Summary = fmt.Sprintf("branch %s: commit %s refines %d %s in %d %s", res.Branch, res.Commit[:12], written, plural(written, "policy", "policies"), len(changed), plural(len(changed), "file", "files"))
	if len(res.earlier) > 0 {
		res.Summary += fmt.Sprintf(" (the branch also holds %d earlier %s)", len(res.earlier), plural(len(res.earlier), "proposal", "proposals"))
	}
	if len(st.dropped) > 0 {
		res.Summary += fmt.Sprintf(" (earlier proposals in %s were dropped: %s changed these files since; later runs propose them again)", strings.Join(st.dropped, ", "), cfg.Base)
	}
	if cfg.Mode == iamprune.ProposeGitHub {
		pr, err := r.p.pullRequest(ctx, r.owner, r.name, res.Branch, cfg.Base, title, body, res.Commit, true)
		if err != nil {
			return err
		}
		res.PullRequest = pr
		verb := "opened"
		if pr.Updated {
			verb = "updated"
		}
		res.Summary += fmt.Sprintf("; pull request #%d %s: %s", pr.Number, verb, pr.URL)
	}
	return nil
}

// branch is what a proposal is built on.
type branch struct {
	// tree holds the files the edits start from; parents are the new
	// commit's.
	tree, baseTree *object.Tree
	parents        []plumbing.Hash
	// onTip: the branch exists and the new commit descends from its tip.
	onTip   bool
	earlier []entry
	// dropped are files the branch changed in earlier runs whose
	// proposals are dropped because base changed them too.
	dropped []string
}

// branchState decides what the proposal is built on. Without a branch, or
// when base already holds everything the branch changed (its pull request
// was merged), on base. Otherwise on the tip, so that earlier runs'
// proposals stay; when base moved since the branch forked, the new commit
// also merges base (files only base changed come from base), so that edits
// start from current files and the pull request's diff stays the
// proposals alone. A branch with commits of others is refused.
func (r *proposal) branchState(tip, base *object.Commit, name, author string) (*branch, error) {
	baseTree, err := base.Tree()
	if err != nil {
		return nil, err
	}
	b := &branch{tree: baseTree, baseTree: baseTree, parents: []plumbing.Hash{base.Hash}}
	if tip == nil {
		return b, nil
	}
	fail := func(err error) (*branch, error) { return nil, fmt.Errorf("propose: branch %s: %w", name, err) }
	forks, err := tip.MergeBase(base)
	if err != nil {
		return fail(err)
	}
	if len(forks) == 0 {
		return nil, iamprune.Errorf(iamprune.ECONFLICT, "propose: branch %s shares no history with %s; delete the branch", name, r.cfg.Base)
	}
	fork := forks[0]
	forkTree, err := fork.Tree()
	if err != nil {
		return fail(err)
	}
	tipTree, err := tip.Tree()
	if err != nil {
		return fail(err)
	}
	mine, err := diffPaths(forkTree, tipTree)
	if err != nil {
		return fail(err)
	}
	merged := true
	for p := range mine {
		merged = merged && sameEntry(tipTree, baseTree, p)
	}
	if merged {
		return b, nil
	}
	only, err := branchOnly(tip, base)
	if err != nil {
		return fail(err)
	}
	var foreign []string
	for _, c := range only {
		if c.Author.Name != author || c.Author.Email != r.cfg.AuthorEmail {
			foreign = append(foreign, fmt.Sprintf("%s by %s <%s>", c.Hash.String()[:12], c.Author.Name, c.Author.Email))
		}
	}
	if len(foreign) > 0 {
		return nil, iamprune.Errorf(iamprune.ECONFLICT, "propose: branch %s has commits not made by iamprune (%s); merge or close the pull request, or delete the branch", name, strings.Join(foreign, ", "))
	}
	b.onTip, b.earlier = true, parseEntries(only)
	if fork.Hash == base.Hash {
		b.tree, b.parents = tipTree, []plumbing.Hash{tip.Hash}
		return b, nil
	}
	theirs, err := diffPaths(forkTree, baseTree)
	if err != nil {
		return fail(err)
	}
	keep := map[string][]byte{}
	for p := range mine {
		switch {
		case sameEntry(tipTree, baseTree, p):
		case !theirs[p] && sameEntry(forkTree, baseTree, p) && fileIn(baseTree, p):
			c, err := readFile(tipTree, p)
			if err != nil {
				return fail(err)
			}
			keep[p] = c
		default:
			// Both changed it: base's version wins; the dropped proposals
			// come back with their principals' next runs.
			b.dropped = append(b.dropped, p)
		}
	}
	sort.Strings(b.dropped)
	b.earlier = slices.DeleteFunc(b.earlier, func(e entry) bool {
		path, _, _ := strings.Cut(e.Loc, "#")
		return slices.Contains(b.dropped, path)
	})
	th, err := writeTree(r.h.repo.Storer, baseTree, keep)
	if err != nil {
		return fail(err)
	}
	if b.tree, err = object.GetTree(r.h.repo.Storer, th); err != nil {
		return fail(err)
	}
	b.parents = []plumbing.Hash{tip.Hash, base.Hash}
	return b, nil
}

func fileIn(t *object.Tree, p string) bool {
	e, err := t.FindEntry(p)
	return err == nil && e.Mode.IsFile()
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

// entry is one policy an iamprune commit on the branch refined, read back
// from its message ("- PRINCIPAL: NAME in PATH#POINTER").
type entry struct {
	Principal, Name, Loc string
}

// parseEntries reads the proposals of the branch's commits, oldest first;
// a later commit's entry for the same policy replaces an earlier one.
func parseEntries(commits []*object.Commit) []entry {
	var out []entry
	for _, c := range commits {
		for _, line := range strings.Split(c.Message, "\n") {
			rest, ok := strings.CutPrefix(line, "- ")
			if !ok {
				continue
			}
			principal, rest, ok1 := strings.Cut(rest, ": ")
			name, where, ok2 := strings.Cut(rest, " in ")
			if !ok1 || !ok2 || principal == "" || name == "" || where == "" {
				continue
			}
			e := entry{principal, name, where}
			out = slices.DeleteFunc(out, func(x entry) bool { return x.Principal == e.Principal && x.Name == e.Name })
			out = append(out, e)
		}
	}
	return out
}

// supersede returns the earlier entries this run's files do not cover.
func supersede(earlier []entry, files []FileChange) []entry {
	return slices.DeleteFunc(slices.Clone(earlier), func(e entry) bool {
		return slices.ContainsFunc(files, func(f FileChange) bool { return f.Principal == e.Principal && f.Name == e.Name })
	})
}

// collision: the document is one the branch already proposes for another
// principal (an earlier run); it is reported, not edited.
type collision struct{ why string }

func (c *collision) Error() string { return c.why }

// editor applies policy changes to the files of tree (the branch's tip or
// base), keeping the working copies.
type editor struct {
	tree, base  *object.Tree
	files, orig map[string][]byte
	earlier     []entry
	branch      string
}

// edit applies one policy change to the working copy of its file.
func (e *editor) edit(t target) (FileChange, error) {
	fc := FileChange{Principal: t.principal, Policy: t.change.Policy, Name: t.change.Name, Path: t.path, Pointer: t.pointer, MappedBy: t.by, change: t.change}
	src, ok := e.files[t.path]
	if !ok {
		b, err := readFile(e.tree, t.path)
		if err != nil {
			if errors.Is(err, object.ErrFileNotFound) {
				return fc, fmt.Errorf("no such file on the base branch")
			}
			return fc, err
		}
		src, e.orig[t.path] = b, b
	}
	out, err := editContent(&fc, src, t.pointer)
	var d *driftError
	if errors.As(err, &d) && e.tree.Hash != e.base.Hash {
		// The branch may hold an earlier run's refinement of this policy:
		// then the document is put back as base has it and refined anew.
		// Another principal's refinement of the same document is left alone.
		where := loc(t.path, t.pointer)
		own := slices.ContainsFunc(e.earlier, func(x entry) bool {
			return x.Principal == t.principal && x.Name == t.change.Name && x.Loc == where
		})
		if !own {
			for _, x := range e.earlier {
				if x.Loc == where && x.Name == t.change.Name {
					return fc, &collision{fmt.Sprintf("same file and pointer as %s of %s, which branch %s already proposes (an earlier run) with a different refinement: the code defines one policy for both, so refining it for one may remove access the other uses; give each its own policy", x.Name, x.Principal, e.branch)}
				}
			}
			return fc, err
		}
		if spliced, ok := e.fromBase(src, t); ok {
			fc = FileChange{Principal: fc.Principal, Policy: fc.Policy, Name: fc.Name, Path: fc.Path, Pointer: fc.Pointer, MappedBy: fc.MappedBy, change: fc.change}
			out, err = editContent(&fc, spliced, t.pointer)
		}
	}
	if err != nil {
		return fc, err
	}
	e.files[t.path] = out
	return fc, nil
}

// fromBase returns src with t's document replaced by its text on base.
func (e *editor) fromBase(src []byte, t target) ([]byte, bool) {
	bsrc, err := readFile(e.base, t.path)
	if err != nil {
		return nil, false
	}
	_, bs, err1 := openSite(t.path, bsrc, t.pointer, t.change)
	_, ts, err2 := openSite(t.path, src, t.pointer, t.change)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	b0, b1, err1 := bs.span()
	s0, s1, err2 := ts.span()
	if err1 != nil || err2 != nil {
		return nil, false
	}
	out := append(append(append([]byte{}, src[:s0]...), bsrc[b0:b1]...), src[s1:]...)
	return out, true
}

// openSite locates chg's policy document in src, the content of file.
func openSite(file string, src []byte, pointer string, chg iamprune.PolicyChange) (string, site, error) {
	form, err := fileForm(file, src)
	if err != nil {
		return "", nil, err
	}
	if form == FormJSON && pointer != "" && !strings.HasPrefix(pointer, "/") {
		return form, nil, fmt.Errorf("pointer must be a JSON pointer (/a/b) in a JSON policy file")
	}
	var s site
	switch form {
	case FormJSON, FormCFNJSON:
		s, err = cfnJSONSite(src, form, pointer, chg)
	case FormCFNYAML:
		s, err = newYAMLSite(src, pointer, chg)
	case FormTerraform:
		s, err = newTFSite(src, pointer, chg)
	}
	return form, s, err
}

// editContent applies fc's change to src, the content of fc.Path, setting
// fc's Form, Status and ExtraParts.
func editContent(fc *FileChange, src []byte, pointer string) ([]byte, error) {
	chg := fc.change
	before, err := policy.Parse(chg.Before)
	if err != nil {
		return nil, fmt.Errorf("plan: Before: %v", err)
	}
	form, err := fileForm(fc.Path, src)
	if err != nil {
		return nil, err
	}
	fc.Form = form
	if form == FormJSON && pointer != "" && !strings.HasPrefix(pointer, "/") {
		return nil, fmt.Errorf("pointer must be a JSON pointer (/a/b) in a JSON policy file")
	}
	if len(chg.After) == 0 {
		// Deleting resources or files is left to people: references to
		// them elsewhere are beyond what iamprune can see.
		fc.Status = StatusRemoveByHand
		return src, nil
	}
	after, err := policy.Parse(chg.After[0])
	if err != nil {
		return nil, fmt.Errorf("plan: After[0]: %v", err)
	}
	fc.ExtraParts = len(chg.After) - 1
	_, s, err := openSite(fc.Path, src, pointer, chg)
	if err != nil {
		return nil, err
	}
	if fc.Status, err = applyChange(s, before, after); err != nil {
		return nil, err
	}
	out, err := s.result()
	if err != nil {
		return nil, err
	}
	if err := verify(form, out); err != nil {
		return nil, fmt.Errorf("the edited file would not parse (%v); nothing written", err)
	}
	return out, nil
}

// verify re-parses an edited file, so that a bug in a text edit can never
// be proposed.
func verify(form string, out []byte) error {
	switch form {
	case FormJSON, FormCFNJSON:
		_, err := parseJSONOffsets(out)
		return err
	case FormCFNYAML:
		var n yaml.Node
		return yaml.Unmarshal(out, &n)
	case FormTerraform:
		_, err := parseTF(out)
		return err
	}
	return nil
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
