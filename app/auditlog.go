package app

import (
	"io"
	"os"
	"path/filepath"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/dynamodb"
	"github.com/iamprune/iamprune/sqlite"
)

// AuditLogName is the audit log's file name, beside the state store.
const AuditLogName = "iamprune-audit.jsonl"

// AuditLogPath is where the JSON-lines audit log goes: flag (--audit-log),
// "" for stderr when flag is "-", else iamprune-audit.jsonl beside the
// state store stateFlag resolves to: in the SQLite file's directory, or,
// for a DynamoDB table, in the default state directory
// ($XDG_STATE_HOME/iamprune), which a CLI run always has.
func AuditLogPath(env Env, flag, stateFlag string) (string, error) {
	switch flag {
	case "-":
		return "", nil
	case "":
	default:
		return flag, nil
	}
	state, err := StatePath(env, stateFlag)
	if err != nil {
		return "", err
	}
	if _, ok := dynamodb.ParseURL(state); ok {
		if state, err = sqlite.DefaultPath(); err != nil {
			return "", err
		}
	}
	return filepath.Join(filepath.Dir(state), AuditLogName), nil
}

// OpenAuditLog opens the audit log AuditLogPath names for appending
// (mode 0600, its directory created), or returns stderr for "-".
func OpenAuditLog(env Env, flag, stateFlag string, stderr io.Writer) (io.Writer, func(), error) {
	path, err := AuditLogPath(env, flag, stateFlag)
	if err != nil {
		return nil, nil, err
	}
	if path == "" {
		return stderr, func() {}, nil
	}
	if flag == "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, iamprune.Errorf(iamprune.EINVALID, "audit log: cannot create the directory of %s: %v (pass --audit-log FILE, or - for stderr)", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, iamprune.Errorf(iamprune.EINVALID, "--audit-log: cannot open %s: %v", path, err)
	}
	return f, func() { f.Close() }, nil
}
