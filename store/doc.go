// Package store is credvault's domain model: the plain types every layer
// reads — organizations and their API keys, sealed service
// configurations, credential metadata and folders, pushed one-time codes,
// the outbox, the record of creates in flight and audit events — the
// error kinds storage answers with, and the identifiers rows carry.
//
// It knows no database. The services that use these types (package
// credentials, org, otpcodes) each declare the narrow storage they need
// beside their code; package store/sqlstore provides all of them over
// gorm (PostgreSQL or SQLite), and only the composition root and the
// admin commands import it.
//
// Storage errors are these kinds, never a driver's: a missing row is
// ErrNotFound, a uniqueness or optimistic-concurrency clash ErrConflict,
// an unreachable or locked database ErrUnavailable.
package store
