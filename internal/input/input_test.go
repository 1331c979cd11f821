package input

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func TestReadFileRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.json")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{zero, "is a character device"},
		{fifo, "is a FIFO"},
		{dir, "is a directory"},
	} {
		done := make(chan error, 1)
		go func() { _, err := ReadFile(tt.path, MaxSnapshotFile); done <- err }()
		select {
		case err := <-done:
			if iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %v, want EINVALID naming it and %q", tt.path, err, tt.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still reading after 5s", tt.path)
		}
	}
}

func TestReadFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(path, 5); err != nil || string(b) != "12345" {
		t.Errorf("at the limit: %q, %v", b, err)
	}
	_, err := ReadFile(path, 4)
	if iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "4 bytes limit") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := ReadAll(strings.NewReader("123456"), "event", 4); iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), "event") {
		t.Errorf("ReadAll over the limit: %v", err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing"), 4); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want the not-exist error", err)
	}
}

func TestSnippet(t *testing.T) {
	if got := Snippet("a\x1b[31m\n"); got != `"a\x1b[31m\n"` {
		t.Errorf("escaping: %s", got)
	}
	long := "root:$6$abcdefghijklmnopqrstuvwxyz0123456789SECRETHASHVALUE:19000"
	got := Snippet(long)
	if strings.Contains(got, "SECRET") || !strings.HasSuffix(got, "…") || got != `"root:$6$abcdefghijklmnopqrstuvwxyz012345"…` {
		t.Errorf("cut: %s", got)
	}
	if got := Snippet(strings.Repeat("é", 50)); got != `"`+strings.Repeat("é", 40)+`"…` {
		t.Errorf("runes: %s", got)
	}
	if Size(512<<20) != "512 MiB" || Size(4<<20) != "4 MiB" || Size(3) != "3 bytes" {
		t.Error("Size")
	}
}

func TestARN(t *testing.T) {
	arn := "arn:aws:iam::111122223333:role/" + strings.Repeat("x", 60)
	if got := ARN(arn); got != `"`+arn+`"` {
		t.Errorf("an ARN is quoted in full: %s", got)
	}
	if got := ARN("root:$6$abcdefghijklmnopqrstuvwxyz0123456789SECRET"); strings.Contains(got, "SECRET") {
		t.Errorf("not an ARN: %s", got)
	}
}
