//go:build unix

package apply

import (
	"errors"
	"syscall"
)

// pidAlive reports whether a process with pid exists: signal 0 checks
// without sending anything. EPERM means it exists under another user.
func pidAlive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
