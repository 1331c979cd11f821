package main

import (
	"io"

	"github.com/iamprune/iamprune/app"
)

// IOStreams are a command's streams and what is known of them, as in
// cli/cli's iostreams: commands write only here, so tests give buffers.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTTY allows asking for consent; ErrTTY enables progress output.
	InTTY, ErrTTY bool
}

// streams returns the process's streams.
func (m *Main) streams() *IOStreams {
	return &IOStreams{In: m.Stdin, Out: m.Stdout, ErrOut: m.Stderr, InTTY: m.StdinIsTerminal, ErrTTY: m.StderrIsTerminal}
}

// env is what the use cases may take from this process.
func (m *Main) env() app.Env {
	return app.Env{Getenv: m.Getenv, Now: m.Now, Logger: m.log(), LoadAWS: m.loadAWS, NoticeSleep: timing.noticeSleep}
}
