package version

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	vcs := func(rev, tm, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "-trimpath", Value: "true"}, {Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: tm}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name                   string
		stampV, stampC, stampD string
		bi                     *debug.BuildInfo
		want                   string
	}{
		{
			name:   "stamped by make release",
			stampV: "v1.2.3", stampC: "0123456789abcdef0123456789abcdef01234567", stampD: "2026-12-01T10:00:00Z",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: vcs("ffff", "2020-01-01T00:00:00Z", "true")},
			want: "v1.2.3 (commit 0123456789ab, built 2026-12-01T10:00:00Z, go1.26.0" + platform + ")",
		},
		{
			name: "go install module@version",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/iamprune/iamprune", Version: "v1.4.0"}},
			want: "v1.4.0 (commit unknown, go1.26.0" + platform + ")",
		},
		{
			name: "go install module@commit: the pseudo-version names the revision",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.1-0.20261201100000-0123456789ab"}},
			want: "v1.4.1-0.20261201100000-0123456789ab (commit 0123456789ab, go1.26.0" + platform + ")",
		},
		{
			name: "go build in a clean checkout",
			bi: &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261201100000-0123456789ab"},
				Settings: vcs("0123456789abcdef0123456789abcdef01234567", "2026-12-01T10:00:00Z", "false")},
			want: "v0.0.0-20261201100000-0123456789ab (commit 0123456789ab, committed 2026-12-01T10:00:00Z, go1.26.0" + platform + ")",
		},
		{
			name: "go build in a modified checkout (older toolchains record (devel))",
			bi: &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
				Settings: vcs("0123456789abcdef0123456789abcdef01234567", "2026-12-01T10:00:00Z", "true")},
			want: "devel (commit 0123456789ab, modified, committed 2026-12-01T10:00:00Z, go1.26.0" + platform + ")",
		},
		{
			name: "go build -buildvcs=false",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			want: "devel (built from source without version control data, go1.26.0" + platform + ")",
		},
		{
			name: "no build information",
			want: "devel (built from source without version control data, " + runtime.Version() + platform + ")",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Resolve(tt.stampV, tt.stampC, tt.stampD, tt.bi).String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestPseudoRevision(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]string{
		"v0.0.0-20261201100000-0123456789ab":         "0123456789ab",
		"v1.4.1-0.20261201100000-0123456789ab+dirty": "0123456789ab",
		"v1.2.3-pre.20261201100000-abcdefabcdef":     "abcdefabcdef",
		"v1.2.3":                                     "",
		"v1.2.3-rc1":                                 "",
		"v1.2.3-beta-0123456789ab":                   "",
		"v0.0.0-20261201100000-0123456789xy":         "",
	} {
		if got := pseudoRevision(v); got != want {
			t.Errorf("pseudoRevision(%q) = %q, want %q", v, got, want)
		}
	}
}

// A binary built with the release's -ldflags prints what they stamp; one
// built with plain go build (here without VCS data, so the fallback's last
// resort shows) never prints a bare "devel".
func TestBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	t.Parallel()
	dir := t.TempDir()
	build := func(name string, args ...string) string {
		t.Helper()
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", append(append([]string{"build", "-o", out}, args...), "./testdata/printversion")...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		b, err := exec.Command(out).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	stamped := build("stamped", "-trimpath", "-ldflags", LDFlags("v9.8.7", "fedcba9876543210fedcba9876543210fedcba98", "2026-12-01T10:00:00Z"))
	if !strings.HasPrefix(stamped, "v9.8.7 (commit fedcba987654, built 2026-12-01T10:00:00Z, go") {
		t.Errorf("stamped binary printed %q", stamped)
	}
	plain := build("plain", "-buildvcs=false")
	if !strings.HasPrefix(plain, "devel (built from source without version control data, go") {
		t.Errorf("plain binary printed %q", plain)
	}
}
