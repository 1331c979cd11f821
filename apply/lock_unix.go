//go:build unix

package apply

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// pidAlive reports whether a process with pid exists: signal 0 checks
// without sending anything. EPERM means it exists under another user.
// A zombie (dead, not yet reaped by its parent) is dead too: it will never
// renew its lease.
func pidAlive(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return false
	}
	return !zombie(pid)
}

// zombie reports whether /proc shows pid in state Z; false where there is
// no /proc.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')', as comm may
	// hold any character.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
