// Package refusal is the error a person may read: a rule that was not met
// (a weak password, a schedule whose windows overlap, a draft that clashes
// with a newer version), said where the rule lives and shown by pages, the
// API and the command line as it is. Any other error is the service's own
// trouble and never reaches a person verbatim.
package refusal

import (
	"errors"
	"fmt"
)

// Error is a refusal. Message is what a person reads: it names what to
// change, and never a phone number, a chat ID or anything a person wrote.
// Op names the package that refused, for logs and wrapping ("auth: …").
type Error struct {
	Op      string
	Message string
	// Err is a refusal this one details, so that errors.Is still finds a
	// sentinel (auth.ErrWeakPassword) under its particular reason; nil when
	// it stands alone.
	Err error
}

// New returns a refusal by op with msg for a person.
func New(op, msg string) *Error { return &Error{Op: op, Message: msg} }

// Newf is New with the message formatted.
func Newf(op, format string, args ...any) *Error {
	return &Error{Op: op, Message: fmt.Sprintf(format, args...)}
}

// Detail returns a refusal that says why, in more words, the same thing
// as e: "password not accepted: use at least 12 characters".
func (e *Error) Detail(format string, args ...any) *Error {
	return &Error{Op: e.Op, Message: e.Message + ": " + fmt.Sprintf(format, args...), Err: e}
}

func (e *Error) Error() string { return e.Op + ": " + e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Message returns what a person may read of err: the message of the
// outermost refusal in its chain, and false when there is none, in which
// case err is the service's own and its words are for the log only.
func Message(err error) (string, bool) {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message, true
	}
	return "", false
}
