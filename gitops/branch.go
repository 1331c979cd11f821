package gitops

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/iamprune/iamprune"
)

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
	only, err := r.ownCommits(tip, base, name, author)
	if err != nil {
		return nil, err
	}
	b.onTip, b.earlier = true, parseEntries(only)
	if fork.Hash == base.Hash {
		b.tree, b.parents = tipTree, []plumbing.Hash{tip.Hash}
		return b, nil
	}
	if err := r.mergeBase(b, forkTree, tipTree, mine); err != nil {
		return fail(err)
	}
	b.parents = []plumbing.Hash{tip.Hash, base.Hash}
	return b, nil
}

// ownCommits returns the commits the branch has and base lacks, refusing a
// branch with commits iamprune did not make.
func (r *proposal) ownCommits(tip, base *object.Commit, name, author string) ([]*object.Commit, error) {
	only, err := branchOnly(tip, base)
	if err != nil {
		return nil, fmt.Errorf("propose: branch %s: %w", name, err)
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
	return only, nil
}

// mergeBase sets b's tree to base's with the files only the branch
// changed (mine, since the fork) taken from the tip; files both changed
// take base's version and their proposals are dropped.
func (r *proposal) mergeBase(b *branch, forkTree, tipTree *object.Tree, mine map[string]bool) error {
	baseTree := b.baseTree
	theirs, err := diffPaths(forkTree, baseTree)
	if err != nil {
		return err
	}
	keep := map[string][]byte{}
	for p := range mine {
		switch {
		case sameEntry(tipTree, baseTree, p):
		case !theirs[p] && sameEntry(forkTree, baseTree, p) && fileIn(baseTree, p):
			c, err := readFile(tipTree, p)
			if err != nil {
				return err
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
		return err
	}
	b.tree, err = object.GetTree(r.h.repo.Storer, th)
	return err
}

func fileIn(t *object.Tree, p string) bool {
	e, err := t.FindEntry(p)
	return err == nil && e.Mode.IsFile()
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
