package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/iamprune/iamprune/internal/version"
)

// Env is what the use cases take from the process, injected: the
// environment variables, the clock, the logger and the AWS configuration.
type Env struct {
	// Getenv reads an environment variable (tokens, webhook secrets).
	Getenv func(string) string
	// Now is the wall clock: run ids, journal and audit times.
	Now    func() time.Time
	Logger *slog.Logger
	// LoadAWS loads the AWS configuration of the run.
	LoadAWS LoadAWS
	// NoticeSleep replaces the wait between notice retries when set.
	NoticeSleep func(context.Context, time.Duration) error
}

func (e Env) log() *slog.Logger { return logger(e.Logger) }

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

func (e Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// Version is the release (or Go pseudo-) version the binary was built
// from, or "devel" for a build without version control data.
func Version() string { return version.Get().Version }
