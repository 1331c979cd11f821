// Package input reads the files iamprune is given (snapshots, config,
// exceptions, saved plans, events, policy documents) with a size limit and
// only when they are regular files, so that a symlink to /dev/zero or a FIFO
// is refused at once instead of growing memory or blocking forever. It also
// bounds how much of an input's text a message may quote.
//
// It imports only the root; any package of the module may import it.
package input

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/iamprune/iamprune"
)

// Limits, generous for what each input really holds.
const (
	// MaxSnapshotFile bounds one file of a snapshot folder: the findings of
	// a large organisation run to tens of MiB.
	MaxSnapshotFile int64 = 512 << 20
	// MaxConfig bounds config and exceptions files.
	MaxConfig int64 = 4 << 20
	// MaxPlan bounds a saved plan, which carries policy documents.
	MaxPlan int64 = 256 << 20
	// MaxEvent bounds an event or payload file (Lambda allows 6 MB).
	MaxEvent int64 = 8 << 20
	// MaxDocument bounds a policy document or a template.
	MaxDocument int64 = 1 << 20
)

// ReadFile reads the regular file at path, refusing anything else (devices,
// FIFOs, sockets, directories) and files over max bytes with an EINVALID
// error that names the file and the limit. Other errors (not found,
// permission) are returned as os.ReadFile returns them, so callers keep
// their own wording for those.
func ReadFile(path string, max int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := check(path, st, max); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(path, f, max)
}

// ReadFS is ReadFile for a file of fsys, named display in messages.
func ReadFS(fsys fs.FS, name, display string, max int64) ([]byte, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if err := check(display, st, max); err != nil {
		return nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(display, f, max)
}

// ReadAll reads r up to max bytes; more is an EINVALID error naming name.
func ReadAll(r io.Reader, name string, max int64) ([]byte, error) {
	return readAll(name, r, max)
}

func check(name string, st fs.FileInfo, max int64) error {
	if !st.Mode().IsRegular() {
		return iamprune.Errorf(iamprune.EINVALID, "%s is %s, not a regular file: iamprune reads only regular files", name, kind(st.Mode()))
	}
	if st.Size() > max {
		return tooLarge(name, max)
	}
	return nil
}

// readAll reads at most max bytes, so that a file that grows after the
// check, or a reader without a size, stays bounded.
func readAll(name string, r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, tooLarge(name, max)
	}
	return b, nil
}

func tooLarge(name string, max int64) error {
	return iamprune.Errorf(iamprune.EINVALID, "%s is larger than the %s limit for this kind of file", name, Size(max))
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// Size renders a byte count in the largest whole binary unit.
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// MaxSnippet is how many characters of an input's text a message quotes.
const MaxSnippet = 40

// Snippet quotes s for a message: escaped as a Go string and cut to
// MaxSnippet characters, with "…" after the quote when cut. Messages about a
// file that may not be iamprune's (a mistyped path can name any file) must
// never echo more of it than this.
func Snippet(s string) string { return quote(s, MaxSnippet) }

// MaxARN is how many characters of an ARN a message quotes.
const MaxARN = 256

// ARN quotes a value meant to be an ARN: in full (up to MaxARN characters)
// when it starts with "arn:", so that a mistyped pattern in an exceptions
// file can be recognised, else as a Snippet, since a line that is not even
// ARN-shaped may come from a file that is not iamprune's at all.
func ARN(s string) string {
	if strings.HasPrefix(s, "arn:") {
		return quote(s, MaxARN)
	}
	return Snippet(s)
}

func quote(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return strconv.Quote(s)
	}
	n, i := 0, 0
	for i = range s {
		if n == max {
			break
		}
		n++
	}
	return strconv.Quote(s[:i]) + "…"
}
