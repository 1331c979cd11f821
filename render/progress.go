package render

import (
	"fmt"
	"io"
)

// Progress shows "reading findings done/total (N AWS calls)" on one line
// that it rewrites, only on a terminal: logs and pipes stay clean.
type Progress struct {
	W io.Writer
	// TTY is whether W is a terminal; off one, nothing is written.
	TTY bool
	// Calls counts the AWS calls made so far.
	Calls func() int
	shown bool
}

// Findings shows that done of total findings were read.
func (p *Progress) Findings(done, total int) {
	if !p.TTY {
		return
	}
	p.shown = true
	fmt.Fprintf(p.W, "\r\033[Kreading findings %d/%d (%d AWS calls)", done, total, p.Calls())
}

// Done clears the line, if anything was shown.
func (p *Progress) Done() {
	if p.shown {
		fmt.Fprint(p.W, "\r\033[K")
	}
}

// Line shows messages on one line that each rewrites, only on a terminal;
// done clears it.
func Line(w io.Writer, tty bool) (show func(msg string), done func()) {
	if !tty {
		return nil, func() {}
	}
	return func(msg string) { fmt.Fprintf(w, "\r\033[K%s", msg) }, func() { fmt.Fprint(w, "\r\033[K") }
}
