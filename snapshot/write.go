package snapshot

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/iamprune/iamprune/credreport"
)

// Write writes s into dir, creating it, in the documented format, and each
// member of an organisation snapshot into the sub-folder named by its
// account id. The output is deterministic: lists are sorted (principals,
// policies and keys by ARN or name, findings by id, last-accessed entries
// by ARN), JSON is indented by two spaces, times are UTC, and files that
// a snapshot does not have (Has* false, nil report) are not written.
// Write sorts s's lists in place.
func Write(dir string, s *Snapshot) error {
	if err := writeAccount(dir, s); err != nil {
		return err
	}
	for _, m := range s.Members {
		if err := writeAccount(filepath.Join(dir, m.Meta.AccountID), m); err != nil {
			return err
		}
	}
	return nil
}

func writeAccount(dir string, s *Snapshot) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("snapshot: cannot create folder %s: %w", dir, err)
	}
	normalizeTimes(s)
	sortSnapshot(s)
	files := []struct {
		name  string
		write bool
		v     any
	}{
		{MetaFile, true, s.Meta},
		{AuthDetailsFile, true, s.Auth},
		{AccessKeysFile, s.HasAccessKeys, nonNil(s.AccessKeys)},
		{LoginProfilesFile, s.HasLoginProfiles, nonNil(s.LoginProfiles)},
		{FindingsFile, s.HasFindings, nonNil(s.FindingList)},
		{AnalyzerFile, s.Analyzer != nil, s.Analyzer},
		{LastAccessedFile, s.LastAccessed != nil, lastAccessedList(s.LastAccessed)},
	}
	for _, f := range files {
		if !f.write {
			continue
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(f.v); err != nil {
			return fmt.Errorf("snapshot: cannot encode %s: %w", f.name, err)
		}
		if err := writeFile(filepath.Join(dir, f.name), b.Bytes()); err != nil {
			return err
		}
	}
	if s.CredentialReport != nil {
		return writeFile(filepath.Join(dir, CredentialReportFile), credreport.Marshal(s.CredentialReport))
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("snapshot: cannot write %s: %w", path, err)
	}
	return nil
}

// nonNil makes an empty list encode as [], not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func lastAccessedList(m map[string]*LastAccessedEntry) []*LastAccessedEntry {
	out := make([]*LastAccessedEntry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *LastAccessedEntry) int { return cmp.Compare(a.Arn, b.Arn) })
	for _, e := range out {
		slices.SortFunc(e.Services, func(a, b ServiceLastAccessed) int { return cmp.Compare(a.ServiceNamespace, b.ServiceNamespace) })
		for _, sv := range e.Services {
			slices.SortFunc(sv.TrackedActions, func(a, b TrackedActionLastAccessed) int { return cmp.Compare(a.ActionName, b.ActionName) })
		}
	}
	return out
}

// sortSnapshot puts every list of s in a stable order.
func sortSnapshot(s *Snapshot) {
	a := &s.Auth
	slices.SortFunc(a.UserDetailList, func(x, y UserDetail) int { return cmp.Compare(x.Arn, y.Arn) })
	slices.SortFunc(a.GroupDetailList, func(x, y GroupDetail) int { return cmp.Compare(x.Arn, y.Arn) })
	slices.SortFunc(a.RoleDetailList, func(x, y RoleDetail) int { return cmp.Compare(x.Arn, y.Arn) })
	slices.SortFunc(a.Policies, func(x, y ManagedPolicyDetail) int { return cmp.Compare(x.Arn, y.Arn) })
	for i := range a.Policies {
		slices.SortFunc(a.Policies[i].PolicyVersionList, func(x, y PolicyVersion) int { return cmp.Compare(x.VersionId, y.VersionId) })
	}
	slices.SortFunc(s.AccessKeys, func(x, y AccessKey) int {
		return cmp.Or(cmp.Compare(x.UserName, y.UserName), cmp.Compare(x.AccessKeyId, y.AccessKeyId))
	})
	slices.SortFunc(s.LoginProfiles, func(x, y LoginProfile) int { return cmp.Compare(x.UserName, y.UserName) })
	slices.SortFunc(s.FindingList, func(x, y Finding) int { return cmp.Compare(x.Id, y.Id) })
}
