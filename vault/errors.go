package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credvault/credvault/problem"
)

// Sentinel errors, each of one of package problem's kinds. Check them
// with errors.Is.
var (
	// ErrNotConfigured means the organization has no vault: no saved
	// configuration and no env-configured service.
	ErrNotConfigured = problem.Public("no credential vault is configured for this organization: save a custom credential service configuration or set CREDENTIAL_VAULT_TYPE=custom", problem.ErrInvalid)
	// ErrItemGone means the service has no item with that id.
	ErrItemGone = problem.Kind("Custom credential service returned 404: the stored item no longer exists", problem.ErrBadGateway)
	// ErrContractViolation means the service answered something the
	// contract does not allow. The wrapping ContractError says what.
	ErrContractViolation = problem.Kind("custom credential service violated the contract", problem.ErrBadGateway)
	// ErrUpstream means the service answered with an error status or
	// could not be reached. The wrapping UpstreamError says which.
	ErrUpstream = problem.Kind("custom credential service failed", problem.ErrBadGateway)
	// ErrTimeout means the service did not answer in time.
	ErrTimeout = problem.Kind("custom credential service timed out", problem.ErrUnreachable)
	// ErrSourceUnavailable means an item was stored through a
	// configuration that can no longer be used. The wrapping
	// SourceUnavailableError says which and why.
	ErrSourceUnavailable = problem.Kind("the configuration that stored this item can no longer be used", problem.ErrConflict)
)

// SourceUnavailableError refuses to read or delete an item whose storing
// configuration can no longer be used: items are reached only through the
// configuration that stored them, never through another service where the
// same id may name someone else's item.
type SourceUnavailableError struct {
	// Source is the configuration id ("env" for the env-configured vault).
	Source string
	// Reason says why it cannot be used, without secrets.
	Reason string
}

func (e *SourceUnavailableError) Error() string {
	return fmt.Sprintf("this credential's secret was stored through an earlier custom credential service configuration (%s) "+
		"that can no longer be used: %s. credvault reads and deletes an item only through the configuration that stored it. "+
		"To move the credential to the current service, update it with its secret (POST /api/v1/credentials/{credential_id}/update)",
		e.Source, e.Reason)
}

// Is makes errors.Is(err, ErrSourceUnavailable) true (a problem.ErrConflict).
func (e *SourceUnavailableError) Is(target error) bool { return kindIs(ErrSourceUnavailable, target) }

// Detail is the client's answer: what happened and how to move on.
func (e *SourceUnavailableError) Detail() string { return e.Error() }

// kindIs reports whether target is sentinel or its kind.
func kindIs(sentinel, target error) bool { return target == sentinel || errors.Is(sentinel, target) }

// ContractError says how a service broke the contract.
type ContractError struct {
	Op      string // "create", "get", "delete"
	Problem string
	// Missing names the required fields an answer lacked, when that is
	// the problem.
	Missing []string
}

func (e *ContractError) Error() string {
	return fmt.Sprintf("custom credential service violated the contract on %s: %s", e.Op, e.Problem)
}

// Is makes errors.Is(err, ErrContractViolation) true (a
// problem.ErrBadGateway).
func (e *ContractError) Is(target error) bool { return kindIs(ErrContractViolation, target) }

// UpstreamError is a failed exchange with a service: an error status
// (StatusCode > 0) or a transport failure (StatusCode == 0). Message is
// credvault's own fixed description of the status or the transport
// reason: never text from the service's answer, which may echo a secret
// in a form no redaction anticipates.
type UpstreamError struct {
	Op         string
	StatusCode int
	Message    string
	// Answer describes the service's error answer, for the log only.
	Answer *ServiceAnswer
	// Err is the underlying cause, if any (an *AddressError, say).
	Err error
	// Retryable marks a transport failure worth retrying (GET, DELETE).
	Retryable bool
	// Unsent marks a failure before the request could reach the service.
	Unsent bool
	// Unresolved marks a host name that did not resolve: unreachable for
	// now (a 503), retried only when the resolver says it is temporary.
	Unresolved bool
}

// unreachable reports a transport failure that may pass: a connection
// that failed for now, or a name that did not resolve.
func (e *UpstreamError) unreachable() bool { return e.StatusCode == 0 && (e.Retryable || e.Unresolved) }

// ServiceAnswer is what credvault logs of a service's error answer: its
// content type (cut to 64 characters), its length, and at most a
// "detail" or "message" string of a JSON body that ServiceDetail found
// free of any secret in play.
type ServiceAnswer struct {
	ContentType string
	Length      int
	Detail      string
}

// Unreachable reports a service that could not be reached for now — a
// connection refused, reset or cut, a name that did not resolve for now —
// as opposed to one that answered (an error status, garbage) or a setting
// that will not work (a refused address, an untrusted certificate).
func Unreachable(err error) bool {
	return errors.Is(err, problem.ErrUnreachable)
}

// Undelivered reports a transport failure that happened before the
// request reached the service (refused address or connection, name or TLS
// failure): a create that failed so stored nothing.
func (e *UpstreamError) Undelivered() bool { return e.StatusCode == 0 && e.Unsent }

// OutcomeUnknown reports whether a failed create may nevertheless have
// stored an item: its answer was lost (timeout, connection reset), or was
// not one the contract allows (the id cannot be read).
func OutcomeUnknown(err error) bool {
	var ue *UpstreamError
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrTimeout), errors.Is(err, ErrContractViolation),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &ue):
		return ue.StatusCode == 0 && !ue.Unsent
	}
	return false
}

// Unwrap returns the cause.
func (e *UpstreamError) Unwrap() error { return e.Err }

func (e *UpstreamError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("Custom credential service could not be reached on %s: %s", e.Op, e.Message)
	}
	if e.Message == "" {
		return fmt.Sprintf("Custom credential service returned HTTP %d on %s", e.StatusCode, e.Op)
	}
	return fmt.Sprintf("Custom credential service returned HTTP %d on %s: %s", e.StatusCode, e.Op, e.Message)
}

// Is makes errors.Is(err, ErrUpstream) true. Its kind is
// problem.ErrUnreachable when the service could not be reached for now
// (Unreachable), problem.ErrBadGateway otherwise.
func (e *UpstreamError) Is(target error) bool {
	switch target {
	case ErrUpstream:
		return true
	case problem.ErrUnreachable:
		return e.unreachable()
	case problem.ErrBadGateway:
		return !e.unreachable()
	}
	return false
}

// TimeoutError means the service did not answer within the timeout.
type TimeoutError struct {
	Op    string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("Custom credential service did not answer %s within %s", e.Op, e.After)
}

// Is makes errors.Is(err, ErrTimeout) true (a problem.ErrUnreachable).
func (e *TimeoutError) Is(target error) bool { return kindIs(ErrTimeout, target) }

// NotStoredError is a write the service acknowledged but did not keep
// whole: reading the item back, the fields named (wire names, never
// values) were missing or different. Nothing was stored by credvault; the
// item is deleted through the outbox. It is a contract violation (502).
type NotStoredError struct {
	Op     string // "create", "update" or "migrate"
	Fields []string
}

func (e *NotStoredError) Error() string {
	return fmt.Sprintf("custom credential service violated the contract on %s: the service did not store %s (it acknowledged the %s, "+
		"but reading the item back they were missing or different); nothing was saved: a service that drops fields cannot hold this credential type",
		e.Op, strings.Join(e.Fields, ", "), e.Op)
}

// Is makes errors.Is(err, ErrContractViolation) true (a
// problem.ErrBadGateway).
func (e *NotStoredError) Is(target error) bool { return kindIs(ErrContractViolation, target) }
