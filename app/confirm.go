package app

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/iamprune/iamprune"
)

// Prompt is where consent is asked: the input, where the question goes,
// and whether the input is a terminal a person types at.
type Prompt struct {
	In    io.Reader
	Out   io.Writer
	IsTTY bool
}

// Confirm asks for consent to what, in account: yes (--yes) consents;
// else the account id must be typed at a terminal. Consent missing (no
// terminal) or declined is bad usage (EINVALID, exit 2): nothing changed.
func Confirm(p Prompt, yes bool, account, what string) error {
	if yes {
		return nil
	}
	if !p.IsTTY {
		return iamprune.Errorf(iamprune.EINVALID, "nothing changed: --yes is required to %s when stdin is not a terminal", what)
	}
	fmt.Fprintf(p.Out, "\nTo %s, type the account id (%s): ", what, account)
	line, err := bufio.NewReader(p.In).ReadString('\n')
	if err != nil && line == "" {
		return iamprune.Errorf(iamprune.EINVALID, "nothing changed: no confirmation read: %v", err)
	}
	if strings.TrimSpace(line) != account {
		return iamprune.Errorf(iamprune.EINVALID, "nothing changed: %q is not the account id %s", strings.TrimSpace(line), account)
	}
	return nil
}
