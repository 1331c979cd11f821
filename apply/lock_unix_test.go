//go:build linux

package apply

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// A holder that died but was not reaped yet (a zombie) is dead: its lock
// must not wait for the lease.
func TestPidAliveZombie(t *testing.T) {
	if !pidAlive(os.Getpid()) {
		t.Fatal("this process is reported dead")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pid := cmd.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for !zombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not become a zombie", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if pidAlive(pid) {
		t.Errorf("zombie %d reported alive", pid)
	}
}

func TestLocalHostNamesPidNamespace(t *testing.T) {
	h, err := LocalHost()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		t.Fatalf("no pid namespace link: %v", err)
	}
	if want := " " + ns; len(h) <= len(want) || h[len(h)-len(want):] != want {
		t.Errorf("LocalHost() = %q, want it to end with %q", h, want)
	}
}
