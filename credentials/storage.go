package credentials

import "github.com/credvault/credvault/store"

// What the credential service needs from storage, by role: the roles are
// declared, with the rows they carry, in package store.
type (
	Rows        = store.Rows
	FolderStore = store.FolderStore
	OutboxStore = store.OutboxStore
	CreateLog   = store.CreateLog
	Storage     = store.CredentialStorage
)

// Store adapts *store.Store to Storage (store.CredentialsOf).
func Store(s *store.Store) Storage { return store.CredentialsOf(s) }
