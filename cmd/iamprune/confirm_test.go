package main

import (
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

// No consent at the prompt is a declined consent, whatever was typed:
// a wrong account id or end of input (Ctrl-D) both exit 2 with nothing
// changed, and only the account id consents.
func TestConfirmDeclinedIsExit2(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"": false, "999\n": false, "111122223333\n": true} {
		ios := &IOStreams{In: strings.NewReader(in), Out: &strings.Builder{}, ErrOut: &strings.Builder{}, InTTY: true}
		err := confirm(ios, false, "111122223333", "apply 1 change(s)")
		if want {
			if err != nil {
				t.Errorf("input %q: %v, want consent", in, err)
			}
			continue
		}
		if err == nil || iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), "nothing changed") {
			t.Errorf("input %q: err = %v, want a declined consent (EINVALID, exit 2) saying nothing changed", in, err)
		}
	}
}
