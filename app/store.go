package app

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/dynamodb"
	"github.com/iamprune/iamprune/sqlite"
)

// StatePath resolves the state store: flag (--state), else
// $IAMPRUNE_STATE, else the SQLite default under the XDG state directory.
// dynamodb://TABLE names a DynamoDB table; any other URL is bad input.
func StatePath(env Env, flag string) (string, error) {
	p := flag
	if p == "" {
		p = env.getenv("IAMPRUNE_STATE")
	}
	if p == "" {
		return sqlite.DefaultPath()
	}
	if strings.Contains(p, "://") {
		if _, ok := dynamodb.ParseURL(p); !ok {
			return "", iamprune.Errorf(iamprune.EINVALID, "state store %q: want a SQLite file path or dynamodb://TABLE", p)
		}
	}
	return p, nil
}

// OpenStore opens the state store StatePath names; a DynamoDB table is
// reached with env.LoadAWS. With mustExist, a SQLite file that does not
// exist yet is not created and (nil, nil) is returned: plan reads the
// store but never creates it.
func OpenStore(ctx context.Context, env Env, flag string, mustExist bool) (iamprune.Store, error) {
	path, err := StatePath(env, flag)
	if err != nil {
		return nil, err
	}
	if table, ok := dynamodb.ParseURL(path); ok {
		cfg, _, err := env.LoadAWS(ctx)
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
