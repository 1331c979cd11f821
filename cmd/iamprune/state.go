package main

import (
	"context"
	"os"
	"os/user"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/apply"
)

// openStore opens the state store of --state (app.OpenStore).
func (m *Main) openStore(ctx context.Context, flag string, mustExist bool) (iamprune.Store, error) {
	return app.OpenStore(ctx, m.env(), flag, mustExist)
}

// lockOwner is this process as recorded with a run lock, so that a lock
// it leaves behind can be recognised as stale.
func lockOwner() iamprune.LockOwner {
	o := iamprune.LockOwner{Host: "unknown", PID: os.Getpid(), StartedAt: time.Now().UTC()}
	if u, err := user.Current(); err == nil {
		o.User = u.Username
	}
	if host, err := apply.LocalHost(); err == nil && host != "" {
		o.Host = host
	}
	return o
}
