package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
)

// OpenDir is LoadDir for planning: everything but findings.json is read
// now, and findings.json is read by EachFinding (or Findings) one element
// at a time, so that the findings of an organisation are never held as a
// whole document. Bad input in findings.json is reported when it is read,
// with the same file, line and field LoadDir names.
func OpenDir(dir string) (*Snapshot, error) {
	fsys := os.DirFS(dir)
	s, err := loadAccount(fsys, dir, true)
	if err != nil {
		return nil, err
	}
	if s.Members, err = loadMembers(fsys, dir, true); err != nil {
		return nil, err
	}
	return s, nil
}

// lazyFindings is a findings.json left on disk until it is walked.
type lazyFindings struct{ l *loader }

// stream decodes findings.json element by element and calls fn with each
// element's index and finding. An error from fn is returned as is.
func (z *lazyFindings) stream(ctx context.Context, fn func(int, *Finding) error) error {
	l := z.l
	st, err := fs.Stat(l.fsys, FindingsFile)
	if err != nil || !st.Mode().IsRegular() || st.Size() > input.MaxSnapshotFile {
		return z.precise(-1, nil, 0, err)
	}
	r, err := l.fsys.Open(FindingsFile)
	if err != nil {
		return z.precise(-1, nil, 0, err)
	}
	defer r.Close()
	lim := &io.LimitedReader{R: r, N: input.MaxSnapshotFile + 1}
	els := newElements(lim)
	f := &file{name: filepath.Join(l.name, FindingsFile)}
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, off, err := els.next()
		if err == io.EOF && lim.N > 0 {
			return nil
		}
		if err != nil || lim.N <= 0 {
			return z.precise(-1, nil, 0, err)
		}
		fd, ok := decodeFindingFast(raw)
		if !ok {
			if fd, err = decodeFinding(f, rawAt{raw: raw, off: off}, fmt.Sprintf("findings[%d]", i)); err != nil {
				return z.precise(i, raw, off, err)
			}
		}
		// convert reads every time in UTC: no normalizeTimes walk here.
		if err := fn(i, &fd); err != nil {
			return err
		}
	}
}

// precise turns a failure met while streaming into the error LoadDir
// gives for the same file: it reads the file whole (only now, on bad
// input), checks its syntax first as LoadDir does, and then places the
// bad element (index i, raw at off) by line and column. With i < 0 the
// failure is the file's own (unreadable, too large, bad syntax, not an
// array) and the whole-document reader names it.
func (z *lazyFindings) precise(i int, raw json.RawMessage, off int64, cause error) error {
	f, err := z.l.read(FindingsFile, true)
	if err != nil {
		return err
	}
	if _, err := f.root(); err != nil {
		return err
	}
	if i >= 0 && off+int64(len(raw)) <= int64(len(f.data)) {
		if _, err := decodeFinding(f, rawAt{raw: f.data[off : off+int64(len(raw))], off: off}, fmt.Sprintf("findings[%d]", i)); err != nil {
			return err
		}
	}
	if i < 0 {
		if _, err := decodeArray(f, "findings", decodeFinding); err != nil {
			return err
		}
	}
	var ie *iamprune.Error
	if errors.As(cause, &ie) {
		return cause
	}
	return iamprune.Errorf(iamprune.EINVALID, "snapshot: %s: %v", f.name, cause)
}

// decodeFindingFast decodes one findings.json element in one pass of
// encoding/json, for the good input that nearly every element is. It
// reports false at the first doubt (any error, a missing field, a null
// union element), and decodeFinding then decodes the element again, so
// that what is accepted and every message stay decodeFinding's.
func decodeFindingFast(raw []byte) (Finding, bool) {
	var fd Finding
	if err := json.Unmarshal(raw, &fd); err != nil {
		return fd, false
	}
	if fd.Id == "" || fd.Status == "" || fd.Resource == "" || fd.FindingType == "" {
		return fd, false
	}
	for _, d := range fd.FindingDetails {
		switch {
		case d.Member() == "":
			return fd, false
		case d.UnusedIamUserAccessKeyDetails != nil && d.UnusedIamUserAccessKeyDetails.AccessKeyId == "":
			return fd, false
		case d.UnusedPermissionDetails != nil:
			p := d.UnusedPermissionDetails
			if p.ServiceNamespace == "" || slices.ContainsFunc(p.Actions, func(a UnusedAction) bool { return a.Action == "" }) {
				return fd, false
			}
		}
	}
	return fd, true
}
