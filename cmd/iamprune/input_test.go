package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A file that is not iamprune's, named by mistake as an exceptions or config
// file, is never echoed back: messages quote at most a short snippet of it.
func TestForeignFileNotEchoed(t *testing.T) {
	t.Parallel()
	noAWS(t)
	dir := t.TempDir()
	const secret = "SECRETHASHVALUEnevertobeprinted"
	shadow := "root:$6$abcdefghijklmnopqrstuvwxyz0123456789" + secret + ":19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
	for _, name := range []string{"shadow", "shadow.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(shadow), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "iamprune.yaml")
	if err := os.WriteFile(cfg, []byte("exceptions: "+filepath.Join(dir, "shadow")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, _ := demoPaths(t)
	for _, args := range [][]string{
		{"plan", "--snapshot", snap, "--config", cfg},
		{"plan", "--snapshot", snap, "--exceptions", filepath.Join(dir, "shadow.txt")},
		{"plan", "--snapshot", snap, "--config", filepath.Join(dir, "shadow")},
		{"exceptions", "check", filepath.Join(dir, "shadow"), filepath.Join(dir, "shadow.txt")},
		{"config", "check", filepath.Join(dir, "shadow")},
	} {
		r := runCLI(t, args...)
		if r.code == 0 {
			t.Errorf("%v: exit 0", args)
		}
		if out := r.stdout + r.stderr; strings.Contains(out, secret) || !strings.Contains(out, `"root:$6$abcdefghijklmnopqrstuvwxyz012345"…`) {
			t.Errorf("%v quotes more than a snippet of the file:\n%s", args, out)
		}
	}
}

// A foreign file of many lines is quoted once, not a snippet of each line:
// a line after the first never shows.
func TestForeignFileQuotedOnce(t *testing.T) {
	t.Parallel()
	noAWS(t)
	dir := t.TempDir()
	const second = "daemon:$6$SECONDLINEsalt"
	shadow := "root:*:19000:0:99999:7:::\n" + second + ":19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n"
	for _, name := range []string{"shadow", "shadow.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(shadow), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "iamprune.yaml")
	if err := os.WriteFile(cfg, []byte("exceptions: "+filepath.Join(dir, "shadow")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, _ := demoPaths(t)
	for _, args := range [][]string{
		{"plan", "--snapshot", snap, "--config", cfg},
		{"plan", "--snapshot", snap, "--exceptions", filepath.Join(dir, "shadow.txt")},
		{"exceptions", "check", filepath.Join(dir, "shadow"), filepath.Join(dir, "shadow.txt")},
		{"config", "check", filepath.Join(dir, "shadow")},
	} {
		r := runCLI(t, args...)
		out := r.stdout + r.stderr
		if r.code == 0 || strings.Contains(out, "SECONDLINE") || !strings.Contains(out, "is this the right file?") {
			t.Errorf("%v (exit %d) quotes more than one line of a foreign file:\n%s", args, r.code, out)
		}
	}
}

// A snapshot file that is a symlink to /dev/zero, or a FIFO, is refused at
// once (exit 2) instead of being read forever.
func TestSnapshotNotRegularFile(t *testing.T) {
	t.Parallel()
	noAWS(t)
	demo, _ := demoPaths(t)
	for _, tt := range []struct {
		name string
		make func(path string) error
		want string
	}{
		{"dev-zero", func(p string) error { return os.Symlink("/dev/zero", p) }, "is a character device"},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "is a FIFO"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := t.TempDir()
			entries, err := os.ReadDir(demo)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if err := os.Symlink(filepath.Join(demo, e.Name()), filepath.Join(snap, e.Name())); err != nil {
					t.Fatal(err)
				}
			}
			findings := filepath.Join(snap, "findings.json")
			if err := os.Remove(findings); err != nil {
				t.Fatal(err)
			}
			if err := tt.make(findings); err != nil {
				t.Fatal(err)
			}
			done := make(chan result, 1)
			go func() { done <- runCLI(t, "plan", "--snapshot", snap) }()
			select {
			case r := <-done:
				if r.code != exitInvalid || !strings.Contains(r.stderr, "findings.json "+tt.want) {
					t.Errorf("exit %d, stderr %q; want 2 naming findings.json %s", r.code, r.stderr, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("plan still reading after 10s")
			}
		})
	}
}

// plan honours only the exception entries that 'exceptions check' accepts:
// an entry the gate refuses is ignored with a warning naming file and line.
func TestPlanIgnoresEntriesTheGateRefuses(t *testing.T) {
	t.Parallel()
	noAWS(t)
	dir := t.TempDir()
	yml := filepath.Join(dir, "exceptions.yaml")
	if err := os.WriteFile(yml, []byte(`exceptions:
  - principal: arn:aws:iam::111122223333:role/LegacyBatchRole
    reason: batch
    owner: data-team
  - principal: arn:aws:iam::111122223333:user/erin
    reason: on leave
    owner: hr
    expires: 9999-12-31
  - principal: arn:aws:iam::111122223333:user/bob
    reason: approved
    owner: it
    expires: 2027-01-31
`), 0o600); err != nil {
		t.Fatal(err)
	}
	txt := filepath.Join(dir, "allowlist.txt")
	if err := os.WriteFile(txt, []byte("# everything\narn:aws:iam::111122223333:role/*\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, cfg := demoPaths(t)
	kinds := func(p map[string]string, r result) string {
		t.Helper()
		var plan struct {
			Actions []struct {
				Principal string `json:"principal"`
				Kind      string `json:"kind"`
			} `json:"actions"`
			Warnings []struct{ Message string } `json:"warnings"`
		}
		if r.code != 0 {
			t.Fatalf("plan: exit %d: %s", r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, a := range plan.Actions {
			got[a.Principal] = a.Kind
		}
		for principal, want := range p {
			if got[principal] != want {
				t.Errorf("%s: %q, want %q", principal, got[principal], want)
			}
		}
		var ws []string
		for _, w := range plan.Warnings {
			ws = append(ws, w.Message)
		}
		return strings.Join(ws, "\n")
	}
	r := runCLI(t, "plan", "--snapshot", snap, "--config", cfg, "--now", demoNow, "--exceptions", yml, "-o", "json")
	warnings := kinds(map[string]string{
		"arn:aws:iam::111122223333:role/LegacyBatchRole": "notify", // no expires
		"arn:aws:iam::111122223333:user/erin":            "notify", // 9999-12-31
		"arn:aws:iam::111122223333:user/bob":             "exempt", // a good entry still applies
	}, r)
	for _, want := range []string{yml + ":2: exceptions[0].expires: required", yml + ":8: exceptions[1].expires: 9999-12-31 is"} {
		if !strings.Contains(warnings, want) || !strings.Contains(r.stderr, "exception entry ignored") {
			t.Errorf("no warning %q in the plan:\n%s\nstderr:\n%s", want, warnings, r.stderr)
		}
	}
	r = runCLI(t, "plan", "--snapshot", snap, "--config", cfg, "--now", demoNow, "--exceptions", txt, "-o", "json")
	warnings = kinds(map[string]string{
		"arn:aws:iam::111122223333:role/LegacyBatchRole": "notify",
		"arn:aws:iam::111122223333:role/Forensics":       "notify",
	}, r)
	if want := txt + ":2: " + `"arn:aws:iam::111122223333:role/*" is too broad`; !strings.Contains(warnings, want) {
		t.Errorf("no warning %q in the plan:\n%s", want, warnings)
	}
}
