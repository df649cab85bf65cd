package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

// CreateAttempt is a create sent to a vault whose credential row is not
// written yet. Its ID is the Idempotency-Key the create carried.
type CreateAttempt struct {
	ID             string
	OrganizationID string
	CredentialID   string
	// VaultSource is the configuration the create was sent through.
	VaultSource string
	// Operation is what asked for the item: create, update or migrate.
	Operation string
	// State is CreateInFlight until the answer is known; CreateLost when
	// it never came.
	State     string
	LastError string
	CreatedAt time.Time
}

// TableName implements gorm's tabler.
func (CreateAttempt) TableName() string { return "vault_creates" }

// Create attempt states.
const (
	CreateInFlight = "in_flight"
	CreateLost     = "lost"
)

// RecordCreate records a create about to be sent. A key recorded before
// (a retry of the same create) is kept as it is.
func (s *Store) RecordCreate(ctx context.Context, a CreateAttempt) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.Now()
	}
	if a.State == "" {
		a.State = CreateInFlight
	}
	return wrap("record vault create", s.ctx(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&a).Error)
}

// SettleCreate forgets a create whose outcome is known (inside Tx: with
// the row write that records its item).
func (s *Store) SettleCreate(ctx context.Context, id string) error {
	return wrap("settle vault create", s.ctx(ctx).Where("id = ?", id).Delete(&CreateAttempt{}).Error)
}

// MarkCreateLost records that a create's answer never came: the service
// may hold an item that no row points to.
func (s *Store) MarkCreateLost(ctx context.Context, id, lastError string) error {
	return wrap("mark vault create lost", s.ctx(ctx).Model(&CreateAttempt{}).Where("id = ?", id).
		Updates(map[string]any{"state": CreateLost, "last_error": lastError}).Error)
}

// ListCreates lists unsettled creates recorded before before, oldest
// first; orgID "" lists every organization's.
func (s *Store) ListCreates(ctx context.Context, orgID string, before time.Time, limit int) ([]CreateAttempt, error) {
	q := s.ctx(ctx).Where("created_at < ?", before)
	if orgID != "" {
		q = q.Where("organization_id = ?", orgID)
	}
	as := []CreateAttempt{}
	err := q.Order("created_at, id").Limit(limit).Find(&as).Error
	return as, wrap("list vault creates", err)
}

// ScanCredentials returns up to limit live credentials with an id after
// after, in id order: a walk over every row (orgID "" for every
// organization) that stays cheap however deep it goes.
func (s *Store) ScanCredentials(ctx context.Context, orgID, after string, limit int) ([]Credential, error) {
	q := s.ctx(ctx).Where("deleted_at IS NULL AND id > ?", after)
	if orgID != "" {
		q = q.Where("organization_id = ?", orgID)
	}
	cs := []Credential{}
	err := q.Order("id").Limit(limit).Find(&cs).Error
	return cs, wrap("scan credentials", err)
}

// SetItemMissing records (at non-nil) or clears (nil) that a credential's
// item is gone from its service, if the row still points to itemID: a row
// re-pointed meanwhile is left alone. It reports whether the row changed.
func (s *Store) SetItemMissing(ctx context.Context, orgID, id, itemID string, at *time.Time) (bool, error) {
	res := s.ctx(ctx).Model(&Credential{}).
		Where("id = ? AND organization_id = ? AND item_id = ? AND deleted_at IS NULL", id, orgID, itemID).
		Update("item_missing_at", at)
	if res.Error != nil {
		return false, wrap("mark credential item", res.Error)
	}
	if res.RowsAffected > 0 {
		return true, wrap("mark credential item", s.Publish(ctx, TopicCredential, orgID+"/"+id))
	}
	return false, nil
}

// CountCredentials counts live credentials (orgID "" for every
// organization).
func (s *Store) CountCredentials(ctx context.Context, orgID string) (int64, error) {
	q := s.ctx(ctx).Model(&Credential{}).Where("deleted_at IS NULL")
	if orgID != "" {
		q = q.Where("organization_id = ?", orgID)
	}
	var n int64
	return n, wrap("count credentials", q.Count(&n).Error)
}

// ItemReferenced reports whether a live row points to the item itemID
// stored through source.
func (s *Store) ItemReferenced(ctx context.Context, orgID, source, itemID string) (bool, error) {
	var n int64
	err := s.ctx(ctx).Model(&Credential{}).Where("organization_id = ? AND vault_source = ? AND item_id = ? AND deleted_at IS NULL",
		orgID, source, itemID).Limit(1).Count(&n).Error
	return n > 0, wrap("find item reference", err)
}
