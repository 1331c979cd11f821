package render

import "testing"

func TestRollbackCommand(t *testing.T) {
	t.Parallel()
	got := RollbackCommand("R-1", [2]string{"--state", "/srv/state.db"}, [2]string{"--config", "my config's.yaml"}, [2]string{"--profile", ""})
	want := `iamprune rollback R-1 --state /srv/state.db --config 'my config'\''s.yaml' --yes`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := ShellQuote(""); got != "''" {
		t.Errorf("ShellQuote(\"\") = %s", got)
	}
}
