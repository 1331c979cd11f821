package gitops

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage"

	"github.com/iamprune/iamprune/internal/input"
)

// repoHandle is the repository a proposal is built in: either the
// configured local repository itself (objects and the branch ref are
// written straight into it; its HEAD and working tree are never touched) or
// a bare clone of a remote one in a temporary directory, pushed afterwards.
type repoHandle struct {
	repo    *git.Repository
	remote  bool // a clone: the branch must be pushed to origin
	auth    transport.AuthMethod
	cleanup func()
}

// isLocalRepo reports whether repo names a directory rather than a URL.
func isLocalRepo(repo string) bool {
	if strings.Contains(repo, "://") {
		return false
	}
	st, err := os.Stat(repo)
	return err == nil && st.IsDir()
}

func openRepo(ctx context.Context, cfg repoConfig, token string) (*repoHandle, error) {
	if isLocalRepo(cfg.Repo) {
		r, err := git.PlainOpenWithOptions(cfg.Repo, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
		if err != nil {
			return nil, fmt.Errorf("open repository %s: %w", cfg.Repo, err)
		}
		return &repoHandle{repo: r, cleanup: func() {}}, nil
	}
	h := &repoHandle{remote: true}
	if token != "" && (strings.HasPrefix(cfg.Repo, "https://") || strings.HasPrefix(cfg.Repo, "http://")) {
		if err := checkTokenURL(cfg.Repo); err != nil {
			return nil, err
		}
		h.auth = &githttp.BasicAuth{Username: "x-access-token", Password: token}
	}
	dir, err := os.MkdirTemp("", "iamprune-propose-")
	if err != nil {
		return nil, err
	}
	h.cleanup = func() { os.RemoveAll(dir) }
	// Bare: the proposal is built from objects, no working tree is needed.
	r, err := git.PlainCloneContext(ctx, dir, true, &git.CloneOptions{
		URL:           cfg.Repo,
		Auth:          h.auth,
		ReferenceName: plumbing.NewBranchReferenceName(cfg.Base),
		SingleBranch:  true,
		Tags:          git.NoTags,
	})
	if err != nil {
		h.cleanup()
		return nil, fmt.Errorf("clone %s (branch %s): %w", redact(cfg.Repo), cfg.Base, err)
	}
	h.repo = r
	return h, nil
}

// checkTokenURL refuses a URL the token must not be sent to: plain HTTP
// would put it on the wire in clear text. Loopback hosts are allowed, for
// local test servers.
func checkTokenURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s is not a URL: %v", redact(raw), err)
	}
	if !strings.EqualFold(u.Scheme, "http") || isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("refusing to send the token over plain HTTP to %s: use https:// (http:// is allowed only to loopback hosts)", redact(raw))
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redact drops credentials embedded in a URL from messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	p.User = nil
	return p.String()
}

// repoConfig is the subset of iamprune.Propose the git layer uses.
type repoConfig struct {
	Repo, Base string
}

func (h *repoHandle) commitOf(ref plumbing.ReferenceName) (*object.Commit, error) {
	r, err := h.repo.Reference(ref, true)
	if err != nil {
		return nil, err
	}
	return h.repo.CommitObject(r.Hash())
}

// baseCommit is the tip of the base branch.
func (h *repoHandle) baseCommit(base string) (*object.Commit, error) {
	c, err := h.commitOf(plumbing.NewBranchReferenceName(base))
	if err != nil && h.remote {
		c, err = h.commitOf(plumbing.NewRemoteReferenceName("origin", base))
	}
	if err != nil {
		return nil, fmt.Errorf("base branch %q: %w", base, err)
	}
	return c, nil
}

// branchTip is the current tip of the proposal branch, or nil when it does
// not exist yet.
func (h *repoHandle) branchTip(ctx context.Context, branch string) (*object.Commit, error) {
	ref := plumbing.NewBranchReferenceName(branch)
	if h.remote {
		tracking := plumbing.NewRemoteReferenceName("origin", branch)
		err := h.repo.FetchContext(ctx, &git.FetchOptions{
			RemoteName: "origin",
			RefSpecs:   []config.RefSpec{config.RefSpec("+" + ref.String() + ":" + tracking.String())},
			Auth:       h.auth,
			Tags:       git.NoTags,
		})
		var nomatch git.NoMatchingRefSpecError
		switch {
		case errors.As(err, &nomatch):
			return nil, nil
		case err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate):
			return nil, fmt.Errorf("fetch branch %s: %w", branch, err)
		}
		ref = tracking
	}
	c, err := h.commitOf(ref)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, nil
	}
	return c, err
}

// readFile returns a file's content in tree.
func readFile(tree *object.Tree, path string) ([]byte, error) {
	f, err := tree.File(path)
	if err != nil {
		return nil, err
	}
	r, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// A policy file in the repository is bounded like any other input.
	return input.ReadAll(r, path, input.MaxDocument*16)
}

// writeTree stores a copy of t with the files in changes (paths relative
// to t, all existing) replaced, and returns its hash.
func writeTree(s storer.EncodedObjectStorer, t *object.Tree, changes map[string][]byte) (plumbing.Hash, error) {
	entries := append([]object.TreeEntry{}, t.Entries...)
	sub := map[string]map[string][]byte{}
	for p, content := range changes {
		dir, rest, nested := strings.Cut(p, "/")
		if nested {
			if sub[dir] == nil {
				sub[dir] = map[string][]byte{}
			}
			sub[dir][rest] = content
			continue
		}
		i := entryIndex(entries, p)
		if i < 0 || !entries[i].Mode.IsFile() {
			return plumbing.ZeroHash, fmt.Errorf("%s is not a file", p)
		}
		h, err := writeBlob(s, content)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries[i].Hash = h
	}
	for dir, ch := range sub {
		i := entryIndex(entries, dir)
		if i < 0 {
			return plumbing.ZeroHash, fmt.Errorf("%s is not a directory", dir)
		}
		st, err := object.GetTree(s, entries[i].Hash)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("%s: %w", dir, err)
		}
		if entries[i].Hash, err = writeTree(s, st, ch); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	obj := s.NewEncodedObject()
	if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

func entryIndex(entries []object.TreeEntry, name string) int {
	for i, e := range entries {
		if e.Name == name {
			return i
		}
	}
	return -1
}

func writeBlob(s storer.EncodedObjectStorer, content []byte) (plumbing.Hash, error) {
	obj := s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(content); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

func writeCommit(s storer.EncodedObjectStorer, c *object.Commit) (plumbing.Hash, error) {
	obj := s.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// errBranchMoved: the branch changed between reading and updating it
// (another run pushed to it); the proposal is rebuilt on the new tip.
var errBranchMoved = errors.New("the branch moved while the proposal was being built")

// publish points the branch at commit. old is the tip the proposal was
// built from (nil: the branch did not exist); commit descends from it
// unless force, which replaces old (a branch whose changes base already
// holds). The update is refused when the branch no longer is old, so that
// a concurrent run's commit is never lost.
func (h *repoHandle) publish(ctx context.Context, branch string, commit plumbing.Hash, old *object.Commit, force bool) error {
	ref := plumbing.NewBranchReferenceName(branch)
	if !h.remote {
		if head, err := h.repo.Storer.Reference(plumbing.HEAD); err == nil && head.Type() == plumbing.SymbolicReference && head.Target() == ref {
			if _, err := h.repo.Worktree(); err == nil {
				return fmt.Errorf("branch %s is checked out in the repository; check out another branch so that iamprune can update it", branch)
			}
		}
		cur, err := h.repo.Storer.Reference(ref)
		switch {
		case errors.Is(err, plumbing.ErrReferenceNotFound):
			if old != nil {
				return errBranchMoved
			}
		case err != nil:
			return err
		case old == nil || cur.Hash() != old.Hash:
			return errBranchMoved
		}
		err = h.repo.Storer.CheckAndSetReference(plumbing.NewHashReference(ref, commit), cur)
		if errors.Is(err, storage.ErrReferenceHasChanged) {
			return errBranchMoved
		}
		return err
	}
	if err := h.repo.Storer.SetReference(plumbing.NewHashReference(ref, commit)); err != nil {
		return err
	}
	opts := &git.PushOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{config.RefSpec(ref.String() + ":" + ref.String())},
		Auth:       h.auth,
	}
	if force && old != nil {
		// Only over the tip that was checked (go-git reads the lease's
		// ref as origin's tracking ref, which must exist).
		tracking := plumbing.NewRemoteReferenceName("origin", branch)
		if err := h.repo.Storer.SetReference(plumbing.NewHashReference(tracking, old.Hash)); err != nil {
			return err
		}
		opts.ForceWithLease = &git.ForceWithLease{RefName: ref, Hash: old.Hash}
	}
	err := h.repo.PushContext(ctx, opts)
	switch {
	case err == nil || errors.Is(err, git.NoErrAlreadyUpToDate):
		return nil
	case strings.Contains(err.Error(), "non-fast-forward"):
		return errBranchMoved
	}
	return fmt.Errorf("push %s: %w", branch, err)
}

// branchOnly returns the commits reachable from tip but not from base
// (git rev-list base..tip): the branch's own commits. Both sides are
// walked newest first, marking what each reaches, until everything left to
// walk is reachable from base.
func branchOnly(tip, base *object.Commit) ([]*object.Commit, error) {
	const fromTip, fromBase = 1, 2
	flags := map[plumbing.Hash]int{tip.Hash: fromTip}
	flags[base.Hash] |= fromBase
	commits := map[plumbing.Hash]*object.Commit{tip.Hash: tip, base.Hash: base}
	queue := []*object.Commit{tip}
	if base.Hash != tip.Hash {
		queue = append(queue, base)
	}
	pending := func() bool {
		for _, c := range queue {
			if flags[c.Hash]&fromBase == 0 {
				return true
			}
		}
		return false
	}
	for len(queue) > 0 && pending() {
		// Newest first, so that a commit is reached from base (if at all)
		// before its own parents are walked.
		i := 0
		for j, c := range queue {
			if c.Committer.When.After(queue[i].Committer.When) {
				i = j
			}
		}
		c := queue[i]
		queue = append(queue[:i], queue[i+1:]...)
		f := flags[c.Hash]
		for _, ph := range c.ParentHashes {
			if flags[ph]|f == flags[ph] {
				continue
			}
			flags[ph] |= f
			pc := commits[ph]
			if pc == nil {
				var err error
				if pc, err = c.Parent(indexOf(c.ParentHashes, ph)); err != nil {
					return nil, fmt.Errorf("commit %s: %w", ph, err)
				}
				commits[ph] = pc
			}
			queue = append(queue, pc)
		}
	}
	var out []*object.Commit
	for h, f := range flags {
		if f == fromTip {
			out = append(out, commits[h])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Committer.When.Before(out[j].Committer.When) })
	return out, nil
}

func indexOf(hs []plumbing.Hash, h plumbing.Hash) int {
	for i, x := range hs {
		if x == h {
			return i
		}
	}
	return -1
}

// diffPaths returns the paths of the files that differ between trees a
// and b.
func diffPaths(a, b *object.Tree) (map[string]bool, error) {
	chs, err := object.DiffTree(a, b)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, ch := range chs {
		out[ch.From.Name], out[ch.To.Name] = true, true
	}
	delete(out, "")
	return out, nil
}

// sameEntry reports whether a and b hold the same file (or none) at p.
func sameEntry(a, b *object.Tree, p string) bool {
	x, errA := a.FindEntry(p)
	y, errB := b.FindEntry(p)
	if errA != nil || errB != nil {
		return errA != nil && errB != nil
	}
	return x.Hash == y.Hash && x.Mode == y.Mode
}

var (
	scpRE  = regexp.MustCompile(`^[\w.-]+@[\w.-]+:([\w.-]+)/([\w.-]+?)(?:\.git)?/?$`)
	pathRE = regexp.MustCompile(`^/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$`)
)

// ownerRepo derives OWNER/NAME from a GitHub clone URL: https://HOST/o/r(.git),
// git@HOST:o/r.git or ssh://git@HOST/o/r.git.
func ownerRepo(repo string) (string, string, bool) {
	if m := scpRE.FindStringSubmatch(repo); m != nil {
		return m[1], m[2], true
	}
	u, err := url.Parse(repo)
	if err != nil || u.Host == "" || u.Scheme == "file" {
		return "", "", false
	}
	if m := pathRE.FindStringSubmatch(u.Path); m != nil {
		return m[1], m[2], true
	}
	return "", "", false
}
