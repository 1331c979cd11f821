package snapshot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

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
	done := make(chan struct{})
	batches := make(chan []decoded, 4)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(batches)
		z.decode(newElements(lim), lim, done, batches)
	}()
	defer wg.Wait()
	defer close(done)
	for b := range batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		for k := range b {
			d := &b[k]
			if d.err != nil {
				return z.precise(d.i, make([]byte, d.n), d.off, d.err)
			}
			if err := fn(d.i, &d.fd); err != nil {
				return err
			}
		}
	}
	return nil
}

// decoded is one element of findings.json decoded, or why it could not
// be: err, with the element's index (-1 for the file's own failure),
// offset and length.
type decoded struct {
	i   int
	fd  Finding
	err error
	off int64
	n   int
}

// decode splits and decodes findings.json on its own goroutine, ahead of
// the planning that consumes the batches, until the end, a failure, or
// done. A failure is the batch's last element.
func (z *lazyFindings) decode(els *elements, lim *io.LimitedReader, done <-chan struct{}, batches chan<- []decoded) {
	f := &file{name: filepath.Join(z.l.name, FindingsFile)}
	batch := make([]decoded, 0, decodeBatch)
	send := func() bool {
		select {
		case batches <- batch:
			batch = make([]decoded, 0, decodeBatch)
			return true
		case <-done:
			return false
		}
	}
	for i := 0; ; i++ {
		raw, off, err := els.next()
		if err == io.EOF && lim.N > 0 {
			send()
			return
		}
		if err != nil || lim.N <= 0 {
			batch = append(batch, decoded{i: -1, err: cmp.Or(err, errDoubt)})
			send()
			return
		}
		fd, ok := decodeFindingFast(raw)
		if !ok {
			if fd, err = decodeFinding(f, rawAt{raw: raw, off: off}, fmt.Sprintf("findings[%d]", i)); err != nil {
				batch = append(batch, decoded{i: i, err: err, off: off, n: len(raw)})
				send()
				return
			}
		}
		// convert reads every time in UTC: no normalizeTimes walk here.
		batch = append(batch, decoded{i: i, fd: fd})
		if len(batch) == decodeBatch && !send() {
			return
		}
	}
}

// decodeBatch is how many decoded elements go to the planner at once.
const decodeBatch = 256

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
