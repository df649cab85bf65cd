// Package store is credvault's persistence: organizations and their API
// keys, encrypted service configurations, credential metadata, audit events
// and the reference credential-service's items. It uses gorm over
// PostgreSQL (pgx) in production, or an embedded pure-Go SQLite file when no
// DATABASE_URL is set.
//
// Every call takes a context. Driver errors never leave this package: a
// missing row is ErrNotFound, a uniqueness or optimistic-concurrency clash
// is ErrConflict, anything else is wrapped with the operation's name.
//
// The store knows SQL and gorm, never HTTP, Tink or credential secrets: it
// stores ciphertexts and metadata only.
package store
