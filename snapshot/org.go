package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/iamprune/iamprune"
)

// An organisation snapshot is a folder holding the home account's snapshot
// (the delegated administrator, with the analyzer and every finding) and
// one sub-folder per member account, each a snapshot of its own (its
// meta.json says which account). Sub-folders without a meta.json are not
// members and are left alone.

// loadMembers loads the member snapshots in the sub-folders of fsys, on
// as many cores as there are; errors are the ones a folder-by-folder
// load in name order meets first.
func loadMembers(fsys fs.FS, name string, lazy bool) ([]*Snapshot, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "snapshot: cannot list folder %s: %v", name, err)
	}
	type member struct {
		dir string
		sub fs.FS
		s   *Snapshot
		err error
	}
	var ms []*member
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub, err := fs.Sub(fsys, e.Name())
		if err != nil {
			ms = append(ms, &member{dir: e.Name(), err: iamprune.Errorf(iamprune.EINVALID, "snapshot: cannot open folder %s: %v", filepath.Join(name, e.Name()), err)})
			break
		}
		if _, err := fs.Stat(sub, MetaFile); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		ms = append(ms, &member{dir: e.Name(), sub: sub})
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for _, m := range ms {
		if m.err != nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			m.s, m.err = loadAccount(m.sub, filepath.Join(name, m.dir), lazy)
		}()
	}
	wg.Wait()
	var out []*Snapshot
	seen := map[string]string{}
	for _, m := range ms {
		if m.err != nil {
			return nil, m.err
		}
		if other, dup := seen[m.s.Meta.AccountID]; dup {
			return nil, iamprune.Errorf(iamprune.EINVALID, "snapshot %s: folders %s and %s are both account %s", name, other, m.dir, m.s.Meta.AccountID)
		}
		seen[m.s.Meta.AccountID] = m.dir
		out = append(out, m.s)
	}
	return out, nil
}

// Facts returns the facts of the account (accountFacts) and, in an
// organisation snapshot, of every member account merged in, as the live
// organisation reader merges them. A finding naming an account the
// organisation snapshot does not hold lists it in Facts.Unreachable: its
// principals are not known, so they must not be taken for deleted ones.
func (s *Snapshot) Facts(ctx context.Context, findings []iamprune.Finding) (*iamprune.Facts, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	facts := s.accountFacts()
	if len(s.Members) == 0 {
		return facts, nil
	}
	for _, m := range s.Members {
		if m.Meta.AccountID != s.Meta.AccountID {
			mergeFacts(facts, m.accountFacts())
		}
	}
	for _, f := range findings {
		if r := s.Unreachable(f.Account); r != "" {
			if facts.Unreachable == nil {
				facts.Unreachable = map[string]string{}
			}
			facts.Unreachable[f.Account] = r
		}
	}
	return facts, nil
}

// Unreachable says why the facts of account are not known ("" when they
// are, or for ""): an organisation snapshot without its folder. Facts
// lists it for every account its findings name; a plan that streams its
// findings asks for each account as it comes.
func (s *Snapshot) Unreachable(account string) string {
	if account == "" || len(s.Members) == 0 || account == s.Meta.AccountID {
		return ""
	}
	for _, m := range s.Members {
		if m.Meta.AccountID == account {
			return ""
		}
	}
	return fmt.Sprintf("snapshot %s has no folder for account %s", s.Name, account)
}

// MemberAccounts returns the account ids of the members, sorted.
func (s *Snapshot) MemberAccounts() []string {
	var out []string
	for _, m := range s.Members {
		out = append(out, m.Meta.AccountID)
	}
	slices.Sort(out)
	return out
}

// mergeFacts adds src's principals and policies to dst. Only AWS-managed
// policy ARNs recur across accounts: one entry is kept, with a document if
// any account has it and the largest attachment count of any account.
func mergeFacts(dst, src *iamprune.Facts) {
	for arn, p := range src.Principals {
		dst.Principals[arn] = p
	}
	for arn, v := range src.PolicyVersions {
		if dst.PolicyVersions == nil {
			dst.PolicyVersions = map[string]string{}
		}
		dst.PolicyVersions[arn] = v
	}
	for arn, mp := range src.ManagedPolicies {
		if dst.ManagedPolicies == nil {
			dst.ManagedPolicies = map[string]*iamprune.ManagedPolicy{}
		}
		have := dst.ManagedPolicies[arn]
		switch {
		case have == nil:
			dst.ManagedPolicies[arn] = mp
		case have.Document == nil && mp.Document != nil:
			mp.AttachmentCount = max(mp.AttachmentCount, have.AttachmentCount)
			dst.ManagedPolicies[arn] = mp
		default:
			have.AttachmentCount = max(have.AttachmentCount, mp.AttachmentCount)
		}
	}
}

// ReleaseFacts drops the IAM data Facts is built from (authorization
// details, access keys, login profiles) of s and its members, for a
// caller that has its facts and now only streams the findings: an
// organisation's IAM data is then not held twice while it plans.
func (s *Snapshot) ReleaseFacts() {
	for _, m := range append([]*Snapshot{s}, s.Members...) {
		m.Auth, m.AccessKeys, m.LoginProfiles = AuthDetails{}, nil, nil
	}
}
