package render

import "strings"

// RollbackCommand is the command that undoes an apply run, ready to paste:
// each flag given a value (name, value pairs) is passed on, shell-quoted,
// so that the rollback reaches the same state store, config and
// credentials as the apply.
func RollbackCommand(runID string, flags ...[2]string) string {
	cmd := "iamprune rollback " + runID
	for _, f := range flags {
		if f[1] != "" {
			cmd += " " + f[0] + " " + ShellQuote(f[1])
		}
	}
	return cmd + " --yes"
}

// ShellQuote quotes s for a POSIX shell, unless it needs no quoting.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
