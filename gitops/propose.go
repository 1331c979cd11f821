// Package gitops turns propose-policy plan entries into a pull request
// against the team's infrastructure repository: each refined policy is
// written into the file that defines it (a JSON policy, a CloudFormation
// template in JSON or YAML, or Terraform), editing only the policy and
// leaving the rest of the file as it was, committed on a branch that is
// stable per account so that re-runs update the same pull request.
package gitops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
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
	base, err := h.baseCommit(cfg.Base)
	if err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "propose: %s: %v", redact(cfg.Repo), err)
	}
	baseTree, err := base.Tree()
	if err != nil {
		return nil, err
	}

	files := map[string][]byte{}
	orig := map[string][]byte{}
	var failures []string
	for _, t := range targets {
		fc, err := editTarget(baseTree, files, orig, t)
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
	for p, c := range files {
		if string(c) != string(orig[p]) {
			changed[p] = c
		}
	}
	written := 0
	for _, f := range res.Files {
		if f.Status == StatusWritten {
			written++
		}
	}
	if len(changed) == 0 {
		res.NoChange = true
		res.Summary = fmt.Sprintf("no proposal: %s already holds the refined policies", cfg.Base)
		return res, nil
	}
	treeHash, err := writeTree(h.repo.Storer, baseTree, changed)
	if err != nil {
		return nil, fmt.Errorf("propose: build tree: %w", err)
	}
	tip, err := h.branchTip(ctx, res.Branch)
	if err != nil {
		return nil, err
	}
	title := fmt.Sprintf("iamprune: least privilege for account %s (%d %s)", req.Account, written, plural(written, "policy", "policies"))
	body := renderBody(req, res, owner, cfg)
	if tip != nil && tip.TreeHash == treeHash {
		res.NoChange = true
		res.Commit = tip.Hash.String()
		res.Summary = fmt.Sprintf("branch %s already holds these refinements (commit %s); nothing pushed", res.Branch, tip.Hash.String()[:12])
		if cfg.Mode == iamprune.ProposeGitHub {
			pr, err := p.pullRequest(ctx, owner, name, res.Branch, cfg.Base, title, body, tip.Hash.String(), false)
			if err != nil {
				return nil, err
			}
			res.PullRequest = pr
		}
		return res, nil
	}

	sig := object.Signature{Name: cfg.AuthorName, Email: cfg.AuthorEmail, When: now()}
	if sig.Name == "" {
		sig.Name = "iamprune"
	}
	commit := &object.Commit{
		Author:       sig,
		Committer:    sig,
		Message:      commitMessage(req, res.Files, written),
		TreeHash:     treeHash,
		ParentHashes: []plumbing.Hash{base.Hash},
	}
	ch, err := writeCommit(h.repo.Storer, commit)
	if err != nil {
		return nil, fmt.Errorf("propose: commit: %w", err)
	}
	if err := h.publish(ctx, res.Branch, ch); err != nil {
		return nil, iamprune.Errorf(iamprune.ECONFLICT, "propose: %s: %v", redact(cfg.Repo), err)
	}
	res.Commit = ch.String()
	log.Info("propose: branch updated", "branch", res.Branch, "commit", res.Commit, "files", len(changed))
	res.Summary = fmt.Sprintf("branch %s: commit %s refines %d %s in %d %s", res.Branch, res.Commit[:12], written, plural(written, "policy", "policies"), len(changed), plural(len(changed), "file", "files"))
	if cfg.Mode == iamprune.ProposeGitHub {
		pr, err := p.pullRequest(ctx, owner, name, res.Branch, cfg.Base, title, body, res.Commit, true)
		if err != nil {
			return nil, err
		}
		res.PullRequest = pr
		verb := "opened"
		if pr.Updated {
			verb = "updated"
		}
		res.Summary += fmt.Sprintf("; pull request #%d %s: %s", pr.Number, verb, pr.URL)
	}
	return res, nil
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

// editTarget applies one policy change to the working copy of its file.
func editTarget(tree *object.Tree, files, orig map[string][]byte, t target) (FileChange, error) {
	fc := FileChange{Principal: t.principal, Policy: t.change.Policy, Name: t.change.Name, Path: t.path, Pointer: t.pointer, MappedBy: t.by, change: t.change}
	src, ok := files[t.path]
	if !ok {
		b, err := readFile(tree, t.path)
		if err != nil {
			if errors.Is(err, object.ErrFileNotFound) {
				return fc, fmt.Errorf("no such file on the base branch")
			}
			return fc, err
		}
		src, orig[t.path] = b, b
	}
	out, err := editContent(&fc, src, t.pointer)
	if err != nil {
		return fc, err
	}
	files[t.path] = out
	return fc, nil
}

// editContent applies fc's change to src, the content of fc.Path, setting
// fc's Form, Status and ExtraParts.
func editContent(fc *FileChange, src []byte, pointer string) ([]byte, error) {
	form, err := fileForm(fc.Path, src)
	if err != nil {
		return nil, err
	}
	fc.Form = form
	if form == FormJSON && pointer != "" && !strings.HasPrefix(pointer, "/") {
		return nil, fmt.Errorf("pointer must be a JSON pointer (/a/b) in a JSON policy file")
	}
	chg := fc.change
	before, err := policy.Parse(chg.Before)
	if err != nil {
		return nil, fmt.Errorf("plan: Before: %v", err)
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
	var s site
	switch form {
	case FormJSON, FormCFNJSON:
		s, err = cfnJSONSite(src, form, pointer, chg)
	case FormCFNYAML:
		s, err = newYAMLSite(src, pointer, chg)
	case FormTerraform:
		s, err = newTFSite(src, pointer, chg)
	}
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
		toks, err := tfLex(out)
		if err == nil {
			_, err = tfBody(out, toks, -1, len(toks))
		}
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
