// Package problem names the kinds of failure every layer of credvault
// shares, so that the HTTP layer maps them to statuses without knowing
// which layer failed: a validation error naming its field, something not
// found, a concurrent change, and the database being out of reach. Each
// layer's own errors (store's, credentials', org's) are kinds of these:
// errors.Is(err, problem.ErrNotFound) holds for all of them.
package problem

import (
	"errors"
	"fmt"
	"strings"
)

// The shared kinds.
var (
	// ErrInvalid is a validation failure; the *InvalidError names the
	// field.
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound is a resource that does not exist (or is another
	// organization's).
	ErrNotFound = errors.New("not found")
	// ErrConflict is a uniqueness rule or an optimistic-concurrency check
	// that failed: someone changed the resource meanwhile.
	ErrConflict = errors.New("conflicting change")
	// ErrUnavailable is a dependency of credvault's own (its database)
	// that could not be reached: temporary, worth a retry.
	ErrUnavailable = errors.New("the database is unreachable")
)

// InvalidError is a validation failure of one field. Its message never
// holds the field's value.
type InvalidError struct {
	Field  string
	Reason string
	// Code is a machine-readable name of the rule, for clients that
	// render it as a field error (Skyvern's "invalid_authenticator_key");
	// "" for most.
	Code string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns an *InvalidError.
func Invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// InvalidCode returns an *InvalidError with a machine-readable code.
func InvalidCode(code, field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...), Code: code}
}

// Codes of the rules clients render as field errors.
const (
	CodeAuthenticatorKeyRequired = "authenticator_key_required"
	CodeInvalidAuthenticatorKey  = "invalid_authenticator_key"
)

// Kind returns a new sentinel error with msg that is also of kind of:
// errors.Is(k, of) holds, and errors.Is(err, k) singles it out.
func Kind(msg string, of error) error { return &kind{msg: msg, of: of} }

type kind struct {
	msg string
	of  error
}

func (k *kind) Error() string        { return k.msg }
func (k *kind) Is(target error) bool { return target == k.of }

// UnknownField recognises encoding/json's error for a field that a
// DisallowUnknownFields decoder does not know, and returns its name
// (quoted, cut to 64 characters: a client chooses it). It is the one
// reader of that error's text.
func UnknownField(err error) (string, bool) {
	const prefix = "json: unknown field "
	if err == nil || !strings.HasPrefix(err.Error(), prefix) {
		return "", false
	}
	name := strings.TrimPrefix(err.Error(), prefix)
	if len(name) > 66 {
		name = name[:64] + `…"`
	}
	return name, true
}

// ErrForbidden is a request the caller is authenticated for but may not
// make with what it proved; the *ForbiddenError says why.
var ErrForbidden = errors.New("forbidden")

// ForbiddenError refuses a request for what the caller did not prove. Its
// message never holds a value the caller sent.
type ForbiddenError struct {
	Field  string
	Reason string
}

func (e *ForbiddenError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Is makes errors.Is(err, ErrForbidden) true.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// Forbidden returns a *ForbiddenError.
func Forbidden(field, format string, args ...any) error {
	return &ForbiddenError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// StateError is a request that conflicts with the resource's state and
// says how to make it succeed (an HTTP 409 with its reason). It is of kind
// ErrConflict.
type StateError struct{ Reason string }

func (e *StateError) Error() string { return e.Reason }

// Is makes errors.Is(err, ErrConflict) true.
func (e *StateError) Is(target error) bool { return target == ErrConflict }
