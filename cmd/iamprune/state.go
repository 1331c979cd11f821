package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/dynamodb"
	"github.com/iamprune/iamprune/sqlite"
)

// statePath resolves the state store: --state, else $IAMPRUNE_STATE, else
// the SQLite default under the XDG state directory. dynamodb://TABLE names
// a DynamoDB table.
func (m *Main) statePath(flag string) (string, error) {
	p := flag
	if p == "" {
		p = m.Getenv("IAMPRUNE_STATE")
	}
	if p == "" {
		return sqlite.DefaultPath()
	}
	if strings.Contains(p, "://") {
		if _, ok := dynamodb.ParseURL(p); !ok {
			return "", usagef("state store %q: want a SQLite file path or dynamodb://TABLE", p)
		}
	}
	return p, nil
}

// openStore opens the state store. With mustExist, a SQLite file that does
// not exist yet is not created and (nil, nil) is returned: plan reads the
// store but never creates it.
func (m *Main) openStore(ctx context.Context, flag string, mustExist bool) (iamprune.Store, error) {
	path, err := m.statePath(flag)
	if err != nil {
		return nil, err
	}
	if table, ok := dynamodb.ParseURL(path); ok {
		cfg, _, err := m.loadAWS(ctx)
		if err != nil {
			return nil, err
		}
		// A named table is never created here, so a missing one is an
		// error even for plan: ignoring it would plan without the journal.
		st, err := dynamodb.Open(ctx, cfg, table)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	if mustExist {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	return sqlite.Open(path)
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
