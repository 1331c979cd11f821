package sqlite

import (
	"path/filepath"
	"testing"
)

func TestDefaultPath(t *testing.T) {
	home := t.TempDir()
	state := filepath.Join(t.TempDir(), "xdg-state")
	for _, tc := range []struct {
		name, xdg, want string
	}{
		{"XDG_STATE_HOME set", state, filepath.Join(state, "iamprune", "state.db")},
		{"XDG_STATE_HOME unset", "", filepath.Join(home, ".local", "state", "iamprune", "state.db")},
		// The spec says to ignore a relative value.
		{"XDG_STATE_HOME relative", "relative/dir", filepath.Join(home, ".local", "state", "iamprune", "state.db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv("USERPROFILE", home) // os.UserHomeDir on Windows
			t.Setenv("XDG_STATE_HOME", tc.xdg)
			got, err := DefaultPath()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("DefaultPath() = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDefaultPathNoHome(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "")
	t.Setenv("USERPROFILE", "")
	t.Setenv("home", "") // plan9
	if got, err := DefaultPath(); err == nil {
		t.Errorf("DefaultPath() = %s with no home directory, want an error", got)
	}
}
