package store

import (
	"time"

	"github.com/credvault/credvault/problem"
)

// The errors storage answers with (every implementation: a driver error
// never leaves it).
var (
	// ErrNotFound means the row does not exist (or belongs to another
	// organization, or was soft-deleted).
	ErrNotFound = problem.Kind("store: not found", problem.ErrNotFound)
	// ErrConflict means a uniqueness rule or an optimistic-concurrency
	// check refused the write.
	ErrConflict = problem.Kind("store: conflicting change", problem.ErrConflict)
	// ErrFolderNotFound means a credential was to be filed in a folder
	// that does not exist (for its organization).
	ErrFolderNotFound = problem.Kind("credential folder not found", problem.ErrNotFound)
	// ErrUnavailable means the database could not be reached (refused,
	// reset, shutting down, too many connections): temporary, worth a
	// retry.
	ErrUnavailable = problem.Kind("the database is unreachable", problem.ErrUnavailable)
	// ErrCommitUnknown means a transaction's COMMIT was sent but its
	// answer never came (the link or the server went away): the change
	// may or may not have been made. It comes with ErrUnavailable. Whoever
	// undoes work after a failed write must not assume the write failed:
	// it asks the database again once it answers.
	ErrCommitUnknown = problem.Kind("the database did not confirm the commit, so the change may have been made", problem.ErrUnavailable)
)

// Create attempt states.
const (
	CreateInFlight      = "in_flight"
	CreateLost          = "lost"
	CreateUnrecoverable = "unrecoverable"
)

// ErrCreateTakenOver is a create record that is no longer the caller's: a
// retry of the same create, or the recovery of a lease that ran out, owns
// its outcome now.
var ErrCreateTakenOver = problem.Kind("store: the create was taken over by a retry or a recovery", problem.ErrConflict)

// ErrCreateBusy is a create refused because another create for the same
// credential is in flight, or the credential changed since the caller read
// it: the caller lost a race (a 409: read again and retry).
var ErrCreateBusy = problem.Kind("store: the credential is being changed by another request, or changed since it was read; read it again and retry", problem.ErrConflict)

// TombstoneRetention is how long a deleted item and its key are
// remembered: far beyond any service's idempotency window (the reference
// service's is 24 hours).
const TombstoneRetention = 30 * 24 * time.Hour
