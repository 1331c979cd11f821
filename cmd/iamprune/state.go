package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/user"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/awsapi"
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
		cfg, _, err := awsapi.LoadConfig(ctx, m.awsOptions())
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

// journalState reads what iamprune already changed in account and did not
// roll back; a missing store means nothing.
func journalState(ctx context.Context, store iamprune.Store, accounts ...string) (done, deactivated map[string]iamprune.DoneRef, err error) {
	if store == nil {
		return nil, nil, nil
	}
	done, deactivated = map[string]iamprune.DoneRef{}, map[string]iamprune.DoneRef{}
	for _, account := range accounts {
		made, err := iamprune.Changes(ctx, store, account)
		if err != nil {
			return nil, nil, err
		}
		maps.Copy(done, made.Actions)
		maps.Copy(deactivated, made.Deactivated)
	}
	return done, deactivated, nil
}

// storedHolds reads the holds rollbacks set in accounts; a missing store
// means none. decide applies only those still in force.
func storedHolds(ctx context.Context, store iamprune.Store, accounts ...string) ([]iamprune.Hold, error) {
	if store == nil {
		return nil, nil
	}
	var out []iamprune.Hold
	for _, account := range accounts {
		hs, err := store.Holds(ctx, account)
		if err != nil {
			return nil, fmt.Errorf("cannot read the holds of account %s: %w", account, err)
		}
		out = append(out, hs...)
	}
	return out, nil
}

// findingAccounts returns home and the other accounts findings name, sorted:
// the accounts whose journals a plan reads.
func findingAccounts(home string, findings []iamprune.Finding) []string {
	out := []string{home}
	for _, f := range findings {
		if f.Account != "" && !slices.Contains(out, f.Account) {
			out = append(out, f.Account)
		}
	}
	slices.Sort(out)
	return out
}

// sentNotices reads the notices successfully sent in account: the proof of
// prior notice that remediation requires by default.
func sentNotices(ctx context.Context, store iamprune.Store, account string) ([]iamprune.NoticeRecord, error) {
	log, ok := store.(iamprune.NoticeLog)
	if store == nil || !ok {
		return nil, nil
	}
	return log.FindNotices(ctx, iamprune.NoticeFilter{Account: account, Status: iamprune.NoticeSent})
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
