package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultPath is where the state database lives when neither --state nor
// $IAMPRUNE_STATE (both handled by the CLI) names it, following the XDG
// base directory spec:
//
//	$XDG_STATE_HOME/iamprune/state.db   when XDG_STATE_HOME is an absolute path
//	~/.local/state/iamprune/state.db    otherwise
//
// The spec says a relative XDG_STATE_HOME is invalid and must be ignored.
func DefaultPath() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "iamprune", "state.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no default state path (set --state or IAMPRUNE_STATE): %w", err)
	}
	return filepath.Join(home, ".local", "state", "iamprune", "state.db"), nil
}
