package render

import (
	"bytes"
	"testing"
)

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := &Progress{W: &b, TTY: true, Calls: func() int { return 7 }}
	p.Findings(2, 5)
	p.Done()
	if got, want := b.String(), "\r\033[Kreading findings 2/5 (7 AWS calls)\r\033[K"; got != want {
		t.Errorf("on a terminal: %q, want %q", got, want)
	}
	b.Reset()
	p = &Progress{W: &b, Calls: func() int { return 7 }}
	p.Findings(2, 5)
	p.Done()
	if b.Len() != 0 {
		t.Errorf("off a terminal: %q, want nothing", b.String())
	}
}
