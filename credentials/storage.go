package credentials

import (
	"context"
	"time"

	"github.com/credvault/credvault/store"
)

// What the credential service needs from storage, by role (package
// store/sqlstore provides every one; a unit test may bring its own,
// failing one role).

// Rows are the credentials' metadata rows.
type Rows interface {
	CreateCredential(ctx context.Context, c store.Credential) error
	GetCredential(ctx context.Context, orgID, id string) (store.Credential, error)
	GetCredentialLean(ctx context.Context, orgID, id string) (store.Credential, error)
	ListCredentials(ctx context.Context, orgID string, f store.CredentialFilter) ([]store.Credential, error)
	ScanCredentials(ctx context.Context, orgID, after string, limit int) ([]store.Credential, error)
	CountCredentials(ctx context.Context, orgID string) (int64, error)
	UpdateCredential(ctx context.Context, c store.Credential, expectedVersion int64) (store.Credential, error)
	SoftDeleteCredential(ctx context.Context, orgID, id string, expectedVersion int64) error
	SetItemMissing(ctx context.Context, orgID, id, itemID string, at *time.Time) (bool, error)
	ItemReferenced(ctx context.Context, orgID, source, itemID string) (bool, error)
}

// FolderStore is where the credential folders are kept.
type FolderStore interface {
	CreateFolder(ctx context.Context, f store.Folder) error
	GetFolder(ctx context.Context, orgID, id string) (store.Folder, error)
	ListFolders(ctx context.Context, orgID, search string, offset, limit int) ([]store.Folder, error)
	UpdateFolder(ctx context.Context, f store.Folder) (store.Folder, error)
	SoftDeleteFolder(ctx context.Context, orgID, id string) error
	SetCredentialFolder(ctx context.Context, orgID, credentialID string, folderID *string) (store.Credential, error)
}

// OutboxStore is the record of vault items to delete.
type OutboxStore interface {
	EnqueueDeletion(ctx context.Context, d store.VaultDeletion) error
	ClaimDeletions(ctx context.Context, limit int, lease time.Duration) ([]store.VaultDeletion, error)
	FinishDeletion(ctx context.Context, id string) error
	RetryDeletion(ctx context.Context, id string, attempts int, next time.Time, lastError string) error
	ListDeletions(ctx context.Context, limit int) ([]store.VaultDeletion, error)
	ItemDeleted(ctx context.Context, orgID, source, itemID string) (bool, error)
	PruneTombstones(ctx context.Context, before time.Time) (int64, error)
}

// CreateLog is the record of creates sent to a vault.
type CreateLog interface {
	NextCreateKey(ctx context.Context, base string) (string, error)
	RecordCreate(ctx context.Context, a store.CreateAttempt) error
	ReserveCreate(ctx context.Context, a store.CreateAttempt, rowVersion int64) error
	SettleCreate(ctx context.Context, id, owner string) error
	MarkCreateLost(ctx context.Context, id, lastError string) error
	ClaimCreates(ctx context.Context, owner string, limit int, lease time.Duration) ([]store.CreateAttempt, error)
	MarkCreateUnrecoverable(ctx context.Context, id, note string) error
	ListCreates(ctx context.Context, orgID string, before time.Time, limit int) ([]store.CreateAttempt, error)
}

// Storage is what the service consumes: every role above, a clock, the
// audit trail, and transactions whose writes commit together.
type Storage interface {
	base
	Tx(ctx context.Context, fn func(tx Storage) error) error
}

type base interface {
	Rows
	FolderStore
	OutboxStore
	CreateLog
	InsertAuditEvent(ctx context.Context, e store.AuditEvent) error
	InsertAuditEvents(ctx context.Context, es []store.AuditEvent) error
	Now() time.Time
}

// transactional is a store whose transactions hand their callback the
// store's own type (*sqlstore.Store).
type transactional[S any] interface {
	base
	Tx(ctx context.Context, fn func(tx S) error) error
}

// Store adapts s to Storage: its transactions hand the callback a Storage.
func Store[S transactional[S]](s S) Storage { return adapted[S]{s, s} }

type adapted[S transactional[S]] struct {
	base
	s S
}

func (a adapted[S]) Tx(ctx context.Context, fn func(tx Storage) error) error {
	return a.s.Tx(ctx, func(tx S) error { return fn(adapted[S]{tx, tx}) })
}
