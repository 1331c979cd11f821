package app

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"github.com/iamprune/iamprune/snapshot"
)

// A plan streamed from a snapshot holds its facts and its actions, about
// 1.5 times the size of findings.json at most; left to GOGC alone the Go
// heap would grow to twice that before collecting. While it plans, the
// process runs under a soft memory limit (runtime/debug.SetMemoryLimit)
// of memoryBase plus 1.5 times findings.json, unless the user set one
// (GOMEMLIMIT), which then wins. The limit is soft: a plan that needs more
// gets it, at the price of more collections.
const memoryBase = 96 << 20

var memory struct {
	sync.Mutex
	users int
	prev  int64
}

// boundMemory sets the soft memory limit for planning the snapshot dir;
// the function it returns puts the previous one back. Concurrent plans
// share the largest limit, and the last to finish restores.
func boundMemory(dir string) (release func()) {
	var size int64
	if st, err := os.Stat(filepath.Join(dir, snapshot.FindingsFile)); err == nil {
		size = st.Size()
	}
	limit := memoryBase + size/2*3
	memory.Lock()
	defer memory.Unlock()
	cur := debug.SetMemoryLimit(-1)
	if memory.users == 0 {
		if cur != math.MaxInt64 {
			return func() {} // the user's limit
		}
		memory.prev = cur
	}
	memory.users++
	if memory.users == 1 || limit > cur {
		debug.SetMemoryLimit(limit)
	}
	return func() {
		memory.Lock()
		defer memory.Unlock()
		if memory.users--; memory.users == 0 {
			debug.SetMemoryLimit(memory.prev)
		}
	}
}
