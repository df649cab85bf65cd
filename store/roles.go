package store

import (
	"context"
	"time"
)

// The roles the domain packages consume, each a small interface that
// *Store provides (CredentialsOf adapts it for the credential service's
// transactions); a unit test may bring its own, failing one role.

// Rows are the credentials' metadata rows.
type Rows interface {
	CreateCredential(ctx context.Context, c Credential) error
	GetCredential(ctx context.Context, orgID, id string) (Credential, error)
	GetCredentialLean(ctx context.Context, orgID, id string) (Credential, error)
	ListCredentials(ctx context.Context, orgID string, f CredentialFilter) ([]Credential, error)
	ScanCredentials(ctx context.Context, orgID, after string, limit int) ([]Credential, error)
	CountCredentials(ctx context.Context, orgID string) (int64, error)
	UpdateCredential(ctx context.Context, c Credential, expectedVersion int64) (Credential, error)
	SoftDeleteCredential(ctx context.Context, orgID, id string, expectedVersion int64) error
	SetItemMissing(ctx context.Context, orgID, id, itemID string, at *time.Time) (bool, error)
	ItemReferenced(ctx context.Context, orgID, source, itemID string) (bool, error)
}

// FolderStore is where the credential folders are kept.
type FolderStore interface {
	CreateFolder(ctx context.Context, f Folder) error
	GetFolder(ctx context.Context, orgID, id string) (Folder, error)
	ListFolders(ctx context.Context, orgID, search string, offset, limit int) ([]Folder, error)
	UpdateFolder(ctx context.Context, f Folder) (Folder, error)
	SoftDeleteFolder(ctx context.Context, orgID, id string) error
	SetCredentialFolder(ctx context.Context, orgID, credentialID string, folderID *string) (Credential, error)
}

// OutboxStore is the record of vault items to delete.
type OutboxStore interface {
	EnqueueDeletion(ctx context.Context, d VaultDeletion) error
	ClaimDeletions(ctx context.Context, limit int, lease time.Duration) ([]VaultDeletion, error)
	FinishDeletion(ctx context.Context, id string) error
	RetryDeletion(ctx context.Context, id string, attempts int, next time.Time, lastError string) error
	ListDeletions(ctx context.Context, limit int) ([]VaultDeletion, error)
	ItemDeleted(ctx context.Context, orgID, source, itemID string) (bool, error)
	PruneTombstones(ctx context.Context, before time.Time) (int64, error)
}

// CreateLog is the record of creates sent to a vault.
type CreateLog interface {
	NextCreateKey(ctx context.Context, base string) (string, error)
	RecordCreate(ctx context.Context, a CreateAttempt) error
	ReserveCreate(ctx context.Context, a CreateAttempt, rowVersion int64) error
	SettleCreate(ctx context.Context, id, owner string) error
	MarkCreateLost(ctx context.Context, id, lastError string) error
	ClaimCreates(ctx context.Context, owner string, limit int, lease time.Duration) ([]CreateAttempt, error)
	MarkCreateUnrecoverable(ctx context.Context, id, note string) error
	ListCreates(ctx context.Context, orgID string, before time.Time, limit int) ([]CreateAttempt, error)
}

// CredentialStorage is what the credential service consumes: every role
// above, a clock, the audit trail, and transactions whose writes commit
// together. CredentialsOf adapts a *Store to it.
type CredentialStorage interface {
	Rows
	FolderStore
	OutboxStore
	CreateLog
	InsertAuditEvent(ctx context.Context, e AuditEvent) error
	Now() time.Time
	Tx(ctx context.Context, fn func(tx CredentialStorage) error) error
}

// OrgStore is what Organizations needs from storage (*Store in
// production; unit tests may bring their own).
type OrgStore interface {
	Now() time.Time
	CreateOrganization(ctx context.Context, org Organization, key APIKey) error
	GetOrganization(ctx context.Context, id string) (Organization, error)
	ListOrganizations(ctx context.Context) ([]Organization, error)
	CreateAPIKey(ctx context.Context, key APIKey) error
	APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	ListAPIKeys(ctx context.Context, orgID string) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, orgID, keyID string) error
	TouchAPIKey(ctx context.Context, keyID string) error
	ListAuditEvents(ctx context.Context, orgID string) ([]AuditEvent, error)
	ListAuditEventsPage(ctx context.Context, orgID string, offset, limit int) ([]AuditEvent, error)
}

// ConfigStore is what saved configurations need (package org): the rows,
// replaced and cleared with their audit event in one transaction.
type ConfigStore interface {
	Now() time.Time
	ValidAuthToken(ctx context.Context, orgID, tokenType string) (AuthToken, error)
	AuthTokenByID(ctx context.Context, orgID, id string) (AuthToken, error)
	AuthTokens(ctx context.Context, orgID, tokenType string) ([]AuthToken, error)
	SaveAuthToken(ctx context.Context, t AuthToken, reseal []AuthToken, audit AuditEvent) error
	InvalidateAuthTokens(ctx context.Context, orgID, tokenType string, audit AuditEvent) (int64, error)
}

// OTPStore is what pushed one-time codes need (package otpcodes).
type OTPStore interface {
	Now() time.Time
	InsertOTPCode(ctx context.Context, c OTPCode) error
	ListOTPCodes(ctx context.Context, orgID string, f OTPFilter) ([]OTPCode, error)
}

// CredentialsOf adapts s to CredentialStorage: its transactions hand the
// callback a CredentialStorage.
func CredentialsOf(s *Store) CredentialStorage { return credentialStorage{s} }

type credentialStorage struct{ *Store }

func (s credentialStorage) Tx(ctx context.Context, fn func(tx CredentialStorage) error) error {
	return s.Store.Tx(ctx, func(tx *Store) error { return fn(credentialStorage{tx}) })
}

var (
	_ OrgStore    = (*Store)(nil)
	_ ConfigStore = (*Store)(nil)
	_ OTPStore    = (*Store)(nil)
)
