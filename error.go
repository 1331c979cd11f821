package iamprune

import (
	"errors"
	"fmt"
)

// Error codes. Each edge maps them: the CLI to exit codes, the emulator to
// AWS error shapes.
const (
	EINVALID  = "invalid"   // bad input or usage: exit 2
	ENOTFOUND = "not_found" // a named thing does not exist
	ECONFLICT = "conflict"
	EINTERNAL = "internal"
)

// Error is a domain error with a code and a message meant for the user.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code. A %w verb wraps as usual.
func Errorf(code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error()}
}

// Invalid wraps err as bad input, keeping its message.
func Invalid(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: EINVALID, Message: err.Error()}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}
