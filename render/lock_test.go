package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func TestLockHolder(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	info := &iamprune.LockInfo{Owner: iamprune.LockOwner{Host: "h", PID: 7}, AcquiredAt: at, ExpiresAt: at.Add(2 * time.Minute)}
	var b bytes.Buffer
	LockHolder(&b, "111122223333", info, at.Add(time.Minute))
	if !strings.Contains(b.String(), "its lease ends at 2026-11-28T10:02:00Z") || !strings.HasPrefix(b.String(), "Account 111122223333 is locked by ") {
		t.Errorf("live lease: %q", b.String())
	}
	b.Reset()
	LockHolder(&b, "111122223333", info, at.Add(2*time.Minute))
	if !strings.Contains(b.String(), "its lease has ended") {
		t.Errorf("ended lease: %q", b.String())
	}
}
