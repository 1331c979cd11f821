package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/credreport"
	"github.com/iamprune/iamprune/internal/input"
)

// LoadDir loads the snapshot folder dir.
func LoadDir(dir string) (*Snapshot, error) {
	return Load(os.DirFS(dir), dir)
}

// Load reads a snapshot folder from fsys, and the member accounts in its
// sub-folders when it is an organisation's. name is how the folder is
// called in messages (the --snapshot argument). Bad input gives an
// *iamprune.Error with code EINVALID naming the file and line.
func Load(fsys fs.FS, name string) (*Snapshot, error) {
	s, err := loadAccount(fsys, name, false)
	if err != nil {
		return nil, err
	}
	if s.Members, err = loadMembers(fsys, name, false); err != nil {
		return nil, err
	}
	return s, nil
}

// loadAccount reads the files of one account's folder; with lazy,
// findings.json is only noted, for EachFinding to stream.
func loadAccount(fsys fs.FS, name string, lazy bool) (*Snapshot, error) {
	st, err := fs.Stat(fsys, ".")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, iamprune.Errorf(iamprune.EINVALID, "snapshot: folder %s does not exist", name)
	case err != nil:
		return nil, iamprune.Errorf(iamprune.EINVALID, "snapshot: cannot open folder %s: %v", name, err)
	case !st.IsDir():
		return nil, iamprune.Errorf(iamprune.EINVALID, "snapshot: %s is not a folder", name)
	}
	l := &loader{fsys: fsys, name: name}
	s := &Snapshot{Name: name}
	steps := []struct {
		file     string
		required bool
		load     func(*file) error
	}{
		{MetaFile, true, func(f *file) (err error) { s.Meta, err = loadMeta(f); return err }},
		{AuthDetailsFile, true, func(f *file) (err error) { s.Auth, err = loadAuth(f); return err }},
		{AccessKeysFile, false, func(f *file) (err error) {
			s.HasAccessKeys = true
			s.AccessKeys, err = decodeList(f, "access-keys", checkAccessKey)
			return err
		}},
		{LoginProfilesFile, false, func(f *file) (err error) {
			s.HasLoginProfiles = true
			s.LoginProfiles, err = decodeList(f, "login-profiles", checkLoginProfile)
			return err
		}},
		{FindingsFile, false, func(f *file) (err error) {
			s.HasFindings = true
			s.FindingList, err = decodeArray(f, "findings", decodeFinding)
			return err
		}},
		{AnalyzerFile, false, func(f *file) (err error) { s.Analyzer, err = loadAnalyzer(f); return err }},
		{LastAccessedFile, false, func(f *file) (err error) { s.LastAccessed, err = loadLastAccessed(f); return err }},
		{CredentialReportFile, false, func(f *file) error {
			rep, err := credreport.Parse(f.data, f.name)
			if err != nil {
				return iamprune.Errorf(iamprune.EINVALID, "snapshot: %v", err)
			}
			rep.GeneratedTime = s.Meta.CapturedAt
			s.CredentialReport = rep
			return nil
		}},
	}
	for _, step := range steps {
		if lazy && step.file == FindingsFile {
			if _, err := fs.Stat(fsys, FindingsFile); !errors.Is(err, fs.ErrNotExist) {
				s.HasFindings, s.lazy = true, &lazyFindings{l: l}
			}
			continue
		}
		f, err := l.read(step.file, step.required)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		if err := step.load(f); err != nil {
			return nil, err
		}
	}
	normalizeTimes(s)
	return s, nil
}

type loader struct {
	fsys fs.FS
	name string
}

// read returns the file, or nil when an optional file is absent.
func (l *loader) read(name string, required bool) (*file, error) {
	data, err := input.ReadFS(l.fsys, name, filepath.Join(l.name, name), input.MaxSnapshotFile)
	switch {
	case iamprune.ErrorCode(err) == iamprune.EINVALID:
		return nil, iamprune.Errorf(iamprune.EINVALID, "snapshot: %v", err)
	case errors.Is(err, fs.ErrNotExist) && required:
		return nil, iamprune.Errorf(iamprune.EINVALID, "snapshot %s: %s is missing (required)", l.name, name)
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, iamprune.Errorf(iamprune.EINVALID, "snapshot %s: cannot read %s: %v", l.name, name, err)
	}
	return &file{name: filepath.Join(l.name, name), data: data}, nil
}

// decodeArray decodes a file holding a top-level array element by element,
// so that every message can name the element's index and line.
func decodeArray[T any](f *file, label string, dec func(f *file, v rawAt, path string) (T, error)) ([]T, error) {
	root, err := f.root()
	if err != nil {
		return nil, err
	}
	els, err := f.elements(root, "")
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(els))
	for i, v := range els {
		t, err := dec(f, v, fmt.Sprintf("%s[%d]", label, i))
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// decodeList is decodeArray with decodeInto(check), with a fast path for
// good input: one encoding/json pass over the file, and the positioned
// reader only when that fails or check finds a field missing.
func decodeList[T any](f *file, label string, check func(*T) string) ([]T, error) {
	if k := jsonKind(f.data); k == "array" || k == "null" {
		var out []T
		if fastList(json.RawMessage(f.data), &out, func(t *T) bool { return check(t) == "" }) {
			return out, nil
		}
	}
	return decodeArray(f, label, decodeInto[T](check))
}

// decodeInto returns an element decoder for plain structs; check names the
// first missing required field, or "".
func decodeInto[T any](check func(*T) string) func(*file, rawAt, string) (T, error) {
	return func(f *file, v rawAt, path string) (T, error) {
		var t T
		if err := f.decode(v, path, &t); err != nil {
			return t, err
		}
		if missing := check(&t); missing != "" {
			return t, f.errLine(v.off, "%s.%s: missing", path, missing)
		}
		return t, nil
	}
}

func checkAccessKey(k *AccessKey) string {
	return firstMissing(req{"UserName", k.UserName == ""}, req{"AccessKeyId", k.AccessKeyId == ""},
		req{"Status", k.Status == ""}, req{"CreateDate", k.CreateDate.IsZero()})
}

func checkLoginProfile(p *LoginProfile) string {
	return firstMissing(req{"UserName", p.UserName == ""}, req{"CreateDate", p.CreateDate.IsZero()})
}

// req is a required field and whether it is missing.
type req struct {
	field   string
	missing bool
}

// firstMissing returns the first missing field, or "".
func firstMissing(rs ...req) string {
	for _, r := range rs {
		if r.missing {
			return r.field
		}
	}
	return ""
}

// loadMeta reads meta.json and applies its defaults.
func loadMeta(f *file) (Meta, error) {
	var m Meta
	root, err := f.root()
	if err != nil {
		return m, err
	}
	ms, err := f.members(root, "")
	if err != nil {
		return m, err
	}
	if err := f.decode(root, "", &m); err != nil {
		return m, err
	}
	if m.AccountID == "" {
		return m, f.errf("account_id: missing")
	}
	if !iamprune.IsAccountID(m.AccountID) {
		v, _ := lookup(ms, "account_id")
		return m, f.errLine(v.off, "account_id: %s is not a 12-digit AWS account id", input.Snippet(m.AccountID))
	}
	if m.CapturedAt.IsZero() {
		return m, f.errf("captured_at: missing (an RFC 3339 timestamp)")
	}
	if m.Partition == "" {
		m.Partition = "aws"
	}
	if m.Region == "" {
		m.Region = "us-east-1"
	}
	return m, nil
}

// loadAnalyzer accepts get-analyzer's output or its bare analyzer object.
func loadAnalyzer(f *file) (*Analyzer, error) {
	root, err := f.root()
	if err != nil {
		return nil, err
	}
	ms, err := f.members(root, "")
	if err != nil {
		return nil, err
	}
	v, path := root, ""
	if inner, ok := lookup(ms, "analyzer"); ok {
		if _, bare := lookup(ms, "arn"); !bare {
			v, path = inner, "analyzer"
		}
	}
	var a Analyzer
	if err := f.decode(v, path, &a); err != nil {
		return nil, err
	}
	if a.Arn == "" {
		return nil, f.errLine(v.off, "%s: missing", joinPath(path, "arn"))
	}
	return &a, nil
}
