package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/store"
)

// hotCredentialSQL reads one live credential row without gorm's
// reflection: the automation's hot path (GetWithSecret, TOTP codes).
const hotCredentialSQL = `SELECT id, organization_id, name, credential_type, vault_type, item_id, vault_source,
	username, totp_type, totp_identifier, card_last_four, card_brand, secret_label, folder_id, tested_url, user_context,
	browser_profile_id, auto_profile_disabled, pin_saved_session_ip, save_browser_session_intent, run_sequentially,
	proxy_location, proxy_session_id, item_missing_at, version, created_at, modified_at
	FROM credentials WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL`

// GetCredentialLean is GetCredential through plain database/sql on
// PostgreSQL (gorm elsewhere).
func (s *Store) GetCredentialLean(ctx context.Context, orgID, id string) (store.Credential, error) {
	if s.dialect != migrations.Postgres {
		return s.GetCredential(ctx, orgID, id)
	}
	var c store.Credential
	err := s.SQLDB().QueryRowContext(ctx, hotCredentialSQL, id, orgID).Scan(&c.ID, &c.OrganizationID, &c.Name,
		&c.CredentialType, &c.VaultType, &c.ItemID, &c.VaultSource, &c.Username, &c.TOTPType, &c.TOTPIdentifier,
		&c.CardLastFour, &c.CardBrand, &c.SecretLabel, &c.FolderID, &c.TestedURL, &c.UserContext, &c.BrowserProfileID,
		&c.AutoProfileDisabled, &c.PinSavedSessionIP, &c.SaveBrowserSessionIntent, &c.RunSequentially,
		&c.ProxyLocation, &c.ProxySessionID, &c.ItemMissingAt, &c.Version, &c.CreatedAt, &c.ModifiedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Credential{}, wrap("get credential", store.ErrNotFound)
	}
	return c, wrap("get credential", err)
}
