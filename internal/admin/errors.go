package admin

import (
	"errors"
	"fmt"
)

// Kinds of failure an operation reports. Callers test them with errors.Is; the control socket carries them as
// the codes below, so a CLI talking to a running server sees the same kinds as one opening the file directly.
var (
	ErrInvalid  = errors.New("invalid input")
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInUse    = errors.New("in use")
)

// Error is an operation's failure: a one-line message for the administrator, saying what to do, and its kind.
type Error struct {
	Kind error // one of ErrInvalid, ErrNotFound, ErrExists, ErrInUse
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap lets errors.Is(err, ErrNotFound) and friends see the kind.
func (e *Error) Unwrap() error { return e.Kind }

func failf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

var kindCodes = []struct {
	kind error
	code string
}{
	{ErrInvalid, "invalid"},
	{ErrNotFound, "not_found"},
	{ErrExists, "exists"},
	{ErrInUse, "in_use"},
}

// Code names err's kind for the wire: "invalid", "not_found", "exists", "in_use", or "" for any other error.
func Code(err error) string {
	for _, k := range kindCodes {
		if errors.Is(err, k.kind) {
			return k.code
		}
	}
	return ""
}

// ErrorFromCode rebuilds an error received with Code's name: an *Error of that kind, or a plain error for an
// empty or unknown code. Its text is msg either way.
func ErrorFromCode(code, msg string) error {
	for _, k := range kindCodes {
		if k.code == code {
			return &Error{Kind: k.kind, Msg: msg}
		}
	}
	return errors.New(msg)
}
