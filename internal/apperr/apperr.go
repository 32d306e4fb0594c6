// Package apperr gives every error a fan or admin can see a kind, a stable
// machine code and a safe message. The server maps kinds to HTTP statuses in
// one place; anything that is not an *Error is an internal error whose detail
// is logged and never shown.
package apperr

import (
	"errors"
	"fmt"
)

// Kind is the class of an error; it decides the HTTP status and nothing else.
type Kind int

// The kinds, one per error status of the HTTP API (docs/api.md).
const (
	Internal        Kind = iota // 500: a bug or an unexpected failure; detail only in logs
	Malformed                   // 400: the request cannot be parsed
	Unauthenticated             // 401: not signed in
	Forbidden                   // 403: signed in but not allowed (includes not admitted)
	NotFound                    // 404: missing, or someone else's
	Conflict                    // 409: the state changed or a seat is taken
	Gone                        // 410: expired
	Invalid                     // 422: parsed but fails validation or a business limit
	RateLimited                 // 429: too many requests
	Unavailable                 // 503: overloaded or a dependency is down
)

// Error is an error that is safe to show: Code is stable for clients, Message
// is for humans, Details are extra fields of the error object (for example the
// seats that were taken). Err, when set, is the cause, logged but not shown.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Details map[string]any
	Err     error
}

// Error implements error with the code and message (and the cause when set),
// which is what logs want.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, apperr.E(kind, code, "")) match on kind and code,
// so tests and callers can compare with a template value.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == e.Code
}

// E builds an Error.
func E(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// With returns a copy of e carrying one more detail field.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// Wrap returns a copy of e with cause err, for logging.
func (e *Error) Wrap(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// As returns the *Error in err's chain, or nil when there is none.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of err: Internal unless an *Error is in its chain.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return Internal
}
