// Package store is credvault's persistence: organizations and their API
// keys, sealed service configurations, credential metadata and folders,
// pushed one-time codes, the outbox, the record of creates in flight and
// audit events. Its rows are plain structs an embedder may read; the
// roles the domain packages consume (CredentialStorage, OrgStore,
// ConfigStore, OTPStore) are declared beside them, and *Store provides
// them all. It uses gorm over PostgreSQL (pgx; a URL or the host's own
// pool) or an embedded pure-Go SQLite file when no DATABASE_URL is set,
// and announces changes to every process sharing the database (NOTIFY, or
// the SQLite change log).
//
// Every call takes a context. Driver errors never leave this package: a
// missing row is ErrNotFound, a uniqueness or optimistic-concurrency clash
// is ErrConflict, an unreachable or locked database ErrUnavailable, and
// anything else is wrapped with the operation's name.
//
// The store knows SQL and gorm, never HTTP, Tink or credential secrets: it
// stores ciphertexts and metadata only. (The reference credential-service
// keeps its own storage.)
package store
