package sqlstore

import (
	"context"
	"math"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/store"
)

// CreateOrganization inserts org together with its first API key.
func (s *Store) CreateOrganization(ctx context.Context, org store.Organization, key store.APIKey) error {
	return s.Tx(ctx, func(tx *Store) error {
		if err := tx.ctx(ctx).Create(&org).Error; err != nil {
			return wrap("create organization", err)
		}
		return wrap("create api key", tx.ctx(ctx).Create(keyRow(key)).Error)
	})
}

// keyRow is key as inserted: a key without a role is an admin key, as
// the column's default makes every key made before roles existed.
func keyRow(key store.APIKey) *store.APIKey {
	if key.Role == "" {
		key.Role = "admin"
	}
	return &key
}

// GetOrganization returns the organization with id.
func (s *Store) GetOrganization(ctx context.Context, id string) (store.Organization, error) {
	var o store.Organization
	err := s.ctx(ctx).Where("id = ?", id).Take(&o).Error
	return o, wrap("get organization", err)
}

// ListOrganizations lists every organization, oldest first.
func (s *Store) ListOrganizations(ctx context.Context) ([]store.Organization, error) {
	orgs := []store.Organization{}
	err := s.ctx(ctx).Order("created_at, id").Find(&orgs).Error
	return orgs, wrap("list organizations", err)
}

// TouchAPIKey records that the key was used now.
func (s *Store) TouchAPIKey(ctx context.Context, keyID string) error {
	return wrap("touch api key", s.ctx(ctx).Model(&store.APIKey{}).Where("id = ?", keyID).Update("last_used_at", s.Now()).Error)
}

// CreateAPIKey adds a key to an existing organization.
func (s *Store) CreateAPIKey(ctx context.Context, key store.APIKey) error {
	return wrap("create api key", s.ctx(ctx).Create(keyRow(key)).Error)
}

// APIKeyByHash finds the key with hash, revoked or not.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	var k store.APIKey
	err := s.ctx(ctx).Where("key_hash = ?", hash).Take(&k).Error
	return k, wrap("find api key", err)
}

// ListAPIKeys lists an organization's keys, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgID string) ([]store.APIKey, error) {
	var ks []store.APIKey
	err := s.ctx(ctx).Where("organization_id = ?", orgID).Order("created_at, id").Find(&ks).Error
	return ks, wrap("list api keys", err)
}

// RevokeAPIKey marks a key revoked. Revoking twice is not an error.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, keyID string) error {
	return s.Tx(ctx, func(tx *Store) error {
		res := tx.ctx(ctx).Model(&store.APIKey{}).Where("id = ? AND organization_id = ?", keyID, orgID).
			Update("revoked_at", gorm.Expr("COALESCE(revoked_at, ?)", tx.Now()))
		if res.Error != nil {
			return wrap("revoke api key", res.Error)
		}
		if res.RowsAffected == 0 {
			return wrap("revoke api key", gorm.ErrRecordNotFound)
		}
		return tx.Publish(ctx, TopicAPIKey, keyID)
	})
}

// ValidAuthToken returns the organization's valid configuration of
// tokenType.
func (s *Store) ValidAuthToken(ctx context.Context, orgID, tokenType string) (store.AuthToken, error) {
	var t store.AuthToken
	err := s.ctx(ctx).Where("organization_id = ? AND token_type = ? AND valid", orgID, tokenType).Take(&t).Error
	return t, wrap("get auth token", err)
}

// AuthTokenByID returns the organization's configuration id, valid or
// not.
func (s *Store) AuthTokenByID(ctx context.Context, orgID, id string) (store.AuthToken, error) {
	var t store.AuthToken
	err := s.ctx(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&t).Error
	return t, wrap("get auth token", err)
}

// AuthTokens returns the organization's configurations of tokenType,
// valid or not, newest first (at most 1,000).
func (s *Store) AuthTokens(ctx context.Context, orgID, tokenType string) ([]store.AuthToken, error) {
	ts := []store.AuthToken{}
	err := s.ctx(ctx).Where("organization_id = ? AND token_type = ?", orgID, tokenType).
		Order("created_at DESC, id DESC").Limit(1000).Find(&ts).Error
	return ts, wrap("list auth tokens", err)
}

// ReplaceAuthToken marks any valid configuration of the same organization
// and type not valid and inserts t, in one transaction. The database's
// partial unique index guarantees a concurrent replace cannot leave two
// valid rows: the loser gets ErrConflict.
func (s *Store) ReplaceAuthToken(ctx context.Context, t store.AuthToken, audit store.AuditEvent) error {
	return s.SaveAuthToken(ctx, t, nil, audit)
}

// SaveAuthToken makes t the organization's valid configuration of its
// type, in one transaction with audit: any other valid one is marked not
// valid, and t is inserted, or, when a row with its id exists (a new
// token for a service already saved), its ciphertext is replaced and it
// is valid again. The rows of reseal (other configurations of the same
// service) get their new ciphertexts too, so every item the service
// stored is reached with its current token. Unknown reseal ids are
// ErrNotFound; nothing is written then.
func (s *Store) SaveAuthToken(ctx context.Context, t store.AuthToken, reseal []store.AuthToken, audit store.AuditEvent) error {
	return s.Tx(ctx, func(tx *Store) error {
		res := tx.ctx(ctx).Model(&store.AuthToken{}).
			Where("organization_id = ? AND token_type = ? AND valid AND id <> ?", t.OrganizationID, t.TokenType, t.ID).
			Updates(map[string]any{"valid": false, "modified_at": tx.Now()})
		if res.Error != nil {
			return wrap("invalidate auth token", res.Error)
		}
		res = tx.ctx(ctx).Model(&store.AuthToken{}).Where("id = ? AND organization_id = ? AND token_type = ?", t.ID, t.OrganizationID, t.TokenType).
			Updates(map[string]any{"encrypted_token": t.EncryptedToken, "valid": true, "modified_at": t.ModifiedAt})
		if res.Error != nil {
			return wrap("update auth token", res.Error)
		}
		if res.RowsAffected == 0 {
			if err := tx.ctx(ctx).Create(&t).Error; err != nil {
				return wrap("insert auth token", err)
			}
		}
		for _, r := range reseal {
			res := tx.ctx(ctx).Model(&store.AuthToken{}).Where("id = ? AND organization_id = ? AND token_type = ?", r.ID, r.OrganizationID, r.TokenType).
				Updates(map[string]any{"encrypted_token": r.EncryptedToken, "modified_at": r.ModifiedAt})
			if res.Error != nil {
				return wrap("reseal auth token", res.Error)
			}
			if res.RowsAffected == 0 {
				return wrap("reseal auth token", store.ErrNotFound)
			}
		}
		if err := tx.Publish(ctx, TopicConfig, t.OrganizationID); err != nil {
			return err
		}
		return tx.InsertAuditEvent(ctx, audit)
	})
}

// InvalidateAuthTokens marks the organization's configuration of tokenType
// not valid and records audit when something changed. It reports how many
// rows changed.
func (s *Store) InvalidateAuthTokens(ctx context.Context, orgID, tokenType string, audit store.AuditEvent) (int64, error) {
	var n int64
	err := s.Tx(ctx, func(tx *Store) error {
		var err error
		if n, err = tx.invalidate(ctx, orgID, tokenType); err != nil || n == 0 {
			return err
		}
		if err := tx.Publish(ctx, TopicConfig, orgID); err != nil {
			return err
		}
		return tx.InsertAuditEvent(ctx, audit)
	})
	return n, err
}

func (s *Store) invalidate(ctx context.Context, orgID, tokenType string) (int64, error) {
	res := s.ctx(ctx).Model(&store.AuthToken{}).
		Where("organization_id = ? AND token_type = ? AND valid", orgID, tokenType).
		Updates(map[string]any{"valid": false, "modified_at": s.Now()})
	return res.RowsAffected, wrap("invalidate auth token", res.Error)
}

// InsertAuditEvent records e.
func (s *Store) InsertAuditEvent(ctx context.Context, e store.AuditEvent) error {
	if e.ID == "" {
		e.ID = store.NewID("evt")
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.Now()
	}
	return wrap("insert audit event", s.ctx(ctx).Create(&e).Error)
}

// ListAuditEvents lists an organization's events, oldest first.
func (s *Store) ListAuditEvents(ctx context.Context, orgID string) ([]store.AuditEvent, error) {
	return s.FindAuditEvents(ctx, orgID, store.AuditFilter{})
}

// FindAuditEvents lists an organization's events under f, newest first.
func (s *Store) FindAuditEvents(ctx context.Context, orgID string, f store.AuditFilter) ([]store.AuditEvent, error) {
	es := []store.AuditEvent{}
	q := s.ctx(ctx).Where("organization_id = ?", orgID)
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", f.Since)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ActorKeyID != "" {
		q = q.Where("actor_key_id = ?", f.ActorKeyID)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	err := q.Order("created_at DESC, id DESC").Find(&es).Error
	return es, wrap("list audit events", err)
}

// ListAuditEventsPage lists an organization's events, newest first.
func (s *Store) ListAuditEventsPage(ctx context.Context, orgID string, offset, limit int) ([]store.AuditEvent, error) {
	es := []store.AuditEvent{}
	err := s.ctx(ctx).Where("organization_id = ?", orgID).Order("created_at DESC, id DESC").Offset(offset).Limit(limit).Find(&es).Error
	return es, wrap("list audit events", err)
}

// CreateCredential inserts a credential row.
func (s *Store) CreateCredential(ctx context.Context, c store.Credential) error {
	return wrap("create credential", s.ctx(ctx).Create(&c).Error)
}

// GetCredential returns a live (not deleted) credential of orgID.
func (s *Store) GetCredential(ctx context.Context, orgID, id string) (store.Credential, error) {
	var c store.Credential
	err := s.ctx(ctx).Where("id = ? AND organization_id = ? AND deleted_at IS NULL", id, orgID).Take(&c).Error
	return c, wrap("get credential", err)
}

// searchExpr is the one lower-cased expression the search matches; on
// PostgreSQL a trigram index covers exactly it (migration 00003).
const searchExpr = `lower(name || chr(31) || username || chr(31) || secret_label || chr(31) || card_brand || chr(31) || card_last_four)`

// ListCredentials returns an organization's live credentials, newest first.
func (s *Store) ListCredentials(ctx context.Context, orgID string, f store.CredentialFilter) ([]store.Credential, error) {
	if f.Limit <= 0 {
		f.Limit = 10
	}
	// unordered is the organization's rows under f's filters; filtered
	// the same newest first.
	unordered := func(db *Store) *gorm.DB {
		q := db.ctx(ctx).Model(&store.Credential{}).Where("organization_id = ? AND deleted_at IS NULL", orgID)
		if f.Type != "" {
			q = q.Where("credential_type = ?", f.Type)
		}
		if f.FolderID != "" {
			q = q.Where("folder_id = ?", f.FolderID)
		}
		if f.After != nil {
			// One row comparison: an index condition on (created_at, id),
			// so the rows before the cursor are never read.
			q = q.Where("(created_at, id) < (?, ?)", f.After.CreatedAt, f.After.ID)
		}
		return q
	}
	filtered := func(db *Store) *gorm.DB { return unordered(db).Order("created_at DESC, id DESC") }
	pat := "%" + escapeLike(strings.ToLower(f.Search)) + "%"
	page := func(q *gorm.DB) ([]store.Credential, error) {
		if f.After == nil && f.Offset > 0 {
			q = q.Offset(f.Offset)
		}
		cs := []store.Credential{}
		err := q.Limit(f.Limit).Find(&cs).Error
		return cs, wrap("list credentials", err)
	}
	if f.Search == "" {
		return page(filtered(s))
	}
	if s.dialect != migrations.Postgres {
		return page(filtered(s).Where(`(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(username) LIKE ? ESCAPE '\' OR LOWER(secret_label) LIKE ? ESCAPE '\' OR LOWER(card_brand) LIKE ? ESCAPE '\' OR card_last_four LIKE ? ESCAPE '\')`,
			pat, pat, pat, pat, pat))
	}
	var out []store.Credential
	err := s.Tx(ctx, func(tx *Store) error {
		// A search pattern must be planned with its value (a generic plan
		// of a cached prepared statement cannot use the key index).
		// Nor in parallel: starting workers costs a search of a few rows
		// more than the search itself (25-40 ms in TestScale's plans).
		if err := tx.ctx(ctx).Exec("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('max_parallel_workers_per_gather', '0', true)").Error; err != nil {
			return wrap("list credentials", err)
		}
		// A fragment common in the organization fills its page from the
		// newest rows: searching only the newest searchNewest rows (in
		// index order) returns the same page whenever it is full, since
		// the page is the first matches in that order.
		var err error
		newest := filtered(tx).Limit(searchNewest + f.Offset)
		if out, err = page(tx.ctx(ctx).Table("(?) AS newest", newest).Where(searchExpr+` LIKE ? ESCAPE '\'`, pat).
			Order("created_at DESC, id DESC")); err != nil || len(out) == f.Limit {
			return err
		}
		// A rarer one: its rows through the organization's search keys
		// (migrations 00011 and 00013), work proportional to its matches.
		// Planned on its own (a LIMIT the planner cannot push the page's
		// into): with the page's LIMIT it may walk the organization's
		// newest-first index, filtering every row, expecting matches soon
		// — a scan of the whole organization when nothing matches. Matches
		// are rare here (fewer than a page in the newest rows).
		q := unordered(tx).Where(searchExpr+` LIKE ? ESCAPE '\'`, pat)
		if fn, keys := SearchLookup(orgID, strings.ToLower(f.Search)); keys != "" {
			q = q.Where(fn+"(organization_id, "+searchExpr+") @> ?::text[]", keys)
		}
		out, err = page(tx.ctx(ctx).Table("(?) AS matched", q.Limit(math.MaxInt32)).Order("created_at DESC, id DESC"))
		return err
	})
	return out, err
}

// searchNewest is how many of an organization's newest rows a search
// reads first (see ListCredentials): a fragment in 1 % of the rows fills
// a page of 10 from them with room to spare, for a few milliseconds
// whatever the organization's size.
const searchNewest = 2000

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UpdateCredential writes c if the row still has expectedVersion, and
// bumps the version. A concurrent change is ErrConflict; a deleted or
// absent row is ErrNotFound.
func (s *Store) UpdateCredential(ctx context.Context, c store.Credential, expectedVersion int64) (store.Credential, error) {
	var out store.Credential
	err := s.Tx(ctx, func(tx *Store) error {
		var err error
		out, err = tx.updateCredential(ctx, c, expectedVersion)
		if err != nil {
			return err
		}
		return tx.Publish(ctx, TopicCredential, c.OrganizationID+"/"+c.ID)
	})
	return out, err
}

func (s *Store) updateCredential(ctx context.Context, c store.Credential, expectedVersion int64) (store.Credential, error) {
	c.Version = expectedVersion + 1
	c.ModifiedAt = s.Now()
	res := s.ctx(ctx).Model(&store.Credential{}).
		Where("id = ? AND organization_id = ? AND version = ? AND deleted_at IS NULL", c.ID, c.OrganizationID, expectedVersion).
		Select(credentialColumns).
		Updates(&c)
	if res.Error != nil {
		return store.Credential{}, wrap("update credential", res.Error)
	}
	if res.RowsAffected == 0 {
		return store.Credential{}, s.missingOrConflict(ctx, c.OrganizationID, c.ID, "update credential")
	}
	return c, nil
}

// credentialColumns are what UpdateCredential writes: everything but the
// identity, creation time and deletion.
var credentialColumns = []string{"name", "credential_type", "vault_type", "item_id", "vault_source", "username", "totp_type",
	"totp_identifier", "card_last_four", "card_brand", "secret_label", "folder_id", "tested_url", "user_context",
	"browser_profile_id", "auto_profile_disabled", "pin_saved_session_ip", "save_browser_session_intent",
	"run_sequentially", "proxy_location", "proxy_session_id", "item_missing_at", "version", "modified_at"}

// SoftDeleteCredential marks the row deleted if it still has
// expectedVersion.
func (s *Store) SoftDeleteCredential(ctx context.Context, orgID, id string, expectedVersion int64) error {
	return s.Tx(ctx, func(tx *Store) error {
		now := tx.Now()
		res := tx.ctx(ctx).Model(&store.Credential{}).
			Where("id = ? AND organization_id = ? AND version = ? AND deleted_at IS NULL", id, orgID, expectedVersion).
			Updates(map[string]any{"deleted_at": now, "modified_at": now, "version": expectedVersion + 1})
		if res.Error != nil {
			return wrap("delete credential", res.Error)
		}
		if res.RowsAffected == 0 {
			return tx.missingOrConflict(ctx, orgID, id, "delete credential")
		}
		return tx.Publish(ctx, TopicCredential, orgID+"/"+id)
	})
}

func (s *Store) missingOrConflict(ctx context.Context, orgID, id, op string) error {
	if _, err := s.GetCredential(ctx, orgID, id); err != nil {
		return wrap(op, err)
	}
	return wrap(op, gorm.ErrDuplicatedKey)
}

// PruneAuditEvents deletes up to limit audit events older than before,
// oldest first, and reports how many it deleted: the worker calls it in
// batches, so no statement holds many rows.
func (s *Store) PruneAuditEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	res := s.ctx(ctx).Exec(`DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE created_at < ? ORDER BY created_at LIMIT ?)`,
		before, limit)
	return res.RowsAffected, wrap("prune audit events", res.Error)
}

// InsertAuditEvents records es in one statement; an event already
// recorded (its id) is not recorded twice.
func (s *Store) InsertAuditEvents(ctx context.Context, es []store.AuditEvent) error {
	if len(es) == 0 {
		return nil
	}
	if s.dialect == migrations.Postgres {
		return wrap("insert audit events", s.insertAuditEventsPostgres(ctx, es))
	}
	return wrap("insert audit events", s.ctx(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&es).Error)
}

// insertAuditEventsStatement inserts a batch as one array per column: the
// same statement text for every batch size, so PostgreSQL and pgx
// prepare it once, and no per-row reflection.
const insertAuditEventsStatement = `INSERT INTO audit_events
  (id, organization_id, actor_key_id, actor_role, request_id, action, target_id, created_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
ON CONFLICT (id) DO NOTHING`

func (s *Store) insertAuditEventsPostgres(ctx context.Context, es []store.AuditEvent) error {
	n := len(es)
	cols := make([][]string, 7)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	at := make([]time.Time, n)
	for i, e := range es {
		cols[0][i], cols[1][i], cols[2][i], cols[3][i] = e.ID, e.OrganizationID, e.ActorKeyID, e.ActorRole
		cols[4][i], cols[5][i], cols[6][i], at[i] = e.RequestID, e.Action, e.TargetID, e.CreatedAt
	}
	// The pool (or the transaction) itself: gorm would spread each array
	// into a list of parameters.
	_, err := s.ctx(ctx).Statement.ConnPool.ExecContext(ctx, insertAuditEventsStatement,
		cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], at)
	return err
}
