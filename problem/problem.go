// Package problem is credvault's one error vocabulary: the kinds of
// failure every layer shares, so that the HTTP layer maps them to
// statuses without knowing which layer failed. Each layer's own errors
// (store's, credentials', org's, vault's) are of exactly one of these
// kinds — errors.Is(err, problem.ErrNotFound) holds for every not-found —
// and KindOf names it: the outermost error of a chain that has a kind
// decides, whatever the order anyone checks them in.
//
// An error's text reaches a client only when it says so (Detail): a
// validation failure naming its field does, a database error never.
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
	// ErrUnauthorized is a request without a valid credential (API key).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrBadGateway is a customer's credential service that answered
	// something it should not have: an error status, a contract
	// violation, an item gone.
	ErrBadGateway = errors.New("the custom credential service failed")
	// ErrUnreachable is a customer's credential service that could not be
	// reached for now, or did not answer in time: worth a retry.
	ErrUnreachable = errors.New("the custom credential service is unreachable")
)

// Kinds are the shared kinds, each error of credvault's of exactly one
// (ErrForbidden included).
var Kinds = []error{ErrInvalid, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrBadGateway, ErrUnreachable, ErrUnavailable}

// KindOf returns the kind of err: that of the outermost error in its chain
// (wrapped errors and joined ones, depth first) that is of one of Kinds,
// or nil. An error of a kind is one that is the kind or whose Is method
// says so; its wrapped causes are not consulted for it, so a wrapper's
// kind is never overridden by its cause's.
func KindOf(err error) error {
	for err != nil {
		for _, k := range Kinds {
			if err == k {
				return k
			}
			if is, ok := err.(interface{ Is(error) bool }); ok && is.Is(k) {
				return k
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if k := KindOf(e); k != nil {
					return k
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// Detailed is an error whose text is meant for the client (it never
// holds a secret or a value the client sent).
type Detailed interface {
	error
	Detail() string
}

// DetailOf returns the text of the outermost Detailed error of err's
// chain, or "".
func DetailOf(err error) string {
	var d Detailed
	if errors.As(err, &d) {
		return d.Detail()
	}
	return ""
}

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

// Detail is the client's answer: the field and the rule, never the value.
func (e *InvalidError) Detail() string { return e.Error() }

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
// errors.Is(k, of) holds, and errors.Is(err, k) singles it out. Its text
// is not shown to clients (they see their kind's fixed text).
func Kind(msg string, of error) error { return &kind{msg: msg, of: of} }

// Public is Kind for an error whose text is the client's answer.
func Public(msg string, of error) error { return &public{kind{msg: msg, of: of}} }

type kind struct {
	msg string
	of  error
}

func (k *kind) Error() string        { return k.msg }
func (k *kind) Is(target error) bool { return target == k.of || errors.Is(k.of, target) }

type public struct{ kind }

func (p *public) Detail() string { return p.msg }

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

// Detail is the client's answer.
func (e *ForbiddenError) Detail() string { return e.Error() }

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

// Detail is the client's answer: how to make the request succeed.
func (e *StateError) Detail() string { return e.Reason }
