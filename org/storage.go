package org

import (
	"context"
	"time"

	"github.com/credvault/credvault/store"
)

// What organizations and configurations need from storage (package
// store/sqlstore provides both).

// OrgStore is what Organizations needs from storage (*sqlstore.Store in
// production; unit tests may bring their own).
type OrgStore interface {
	Now() time.Time
	CreateOrganization(ctx context.Context, org store.Organization, key store.APIKey) error
	GetOrganization(ctx context.Context, id string) (store.Organization, error)
	ListOrganizations(ctx context.Context) ([]store.Organization, error)
	CreateAPIKey(ctx context.Context, key store.APIKey) error
	APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error)
	ListAPIKeys(ctx context.Context, orgID string) ([]store.APIKey, error)
	RevokeAPIKey(ctx context.Context, orgID, keyID string) error
	TouchAPIKey(ctx context.Context, keyID string) error
	FindAuditEvents(ctx context.Context, orgID string, f store.AuditFilter) ([]store.AuditEvent, error)
	ListAuditEventsPage(ctx context.Context, orgID string, offset, limit int) ([]store.AuditEvent, error)
	InsertAuditEvent(ctx context.Context, e store.AuditEvent) error
}

// ConfigStore is what saved configurations need: the rows,
// replaced and cleared with their audit event in one transaction.
type ConfigStore interface {
	Now() time.Time
	ValidAuthToken(ctx context.Context, orgID, tokenType string) (store.AuthToken, error)
	AuthTokenByID(ctx context.Context, orgID, id string) (store.AuthToken, error)
	AuthTokens(ctx context.Context, orgID, tokenType string) ([]store.AuthToken, error)
	SaveAuthToken(ctx context.Context, t store.AuthToken, reseal []store.AuthToken, audit store.AuditEvent) error
	InvalidateAuthTokens(ctx context.Context, orgID, tokenType string, audit store.AuditEvent) (int64, error)
}
